//! `--json`: each command prints one JSON object on stdout; refusals print
//! a `stop` object (see README, "Output for scripts").

use crate::stop::Stop;
use serde_json::{Value, json};
use std::ffi::OsString;
use std::io::Write;

/// The `stop` object: code, exit status, phase, message, hint.
pub(crate) fn stop_value(stop: &Stop) -> Value {
    json!({
        "code": stop.code.as_str(),
        "exit_status": stop.code.exit_status(),
        "phase": stop.phase,
        "message": stop.message,
        "hint": stop.code.hint(),
    })
}

/// A refusal that ended a command: `{"outcome":"stopped","stop":{…}}`.
pub(crate) fn refusal(stop: &Stop) -> Value {
    json!({ "outcome": "stopped", "stop": stop_value(stop) })
}

/// Print `value` as one line on stdout.
pub(crate) fn print(value: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// Whether the command line asks for `--json` (before any `--`): known
/// before parsing, so a refusal of the arguments themselves is JSON too.
pub(crate) fn wanted(args: &[OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| a.as_os_str() != "--")
        .any(|a| a.as_os_str() == "--json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_seen_before_a_double_dash_only() {
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(wanted(&args(&["phasehost", "status", "r", "--json"])));
        assert!(!wanted(&args(&["phasehost", "status", "--", "--json"])));
        assert!(!wanted(&args(&["--json"])));
    }
}
