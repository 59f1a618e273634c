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

/// The code of the `stop` object for a command line clap refused (a missing
/// or unknown argument, a bad value): not a [`crate::stop::StopCode`], since
/// its exit status is clap's usage status 2, below the stops' 10 and up.
pub(crate) const USAGE_CODE: &str = "usage";

/// A command line clap refused, as `{"outcome":"stopped","stop":{…}}` with
/// code [`USAGE_CODE`]: `rendered` is clap's error text; the lines before
/// its usage line, joined and without `error: `, are the message, the usage
/// line goes in the hint.
pub(crate) fn usage_refusal(rendered: &str, exit_status: i32) -> Value {
    let mut message: Vec<&str> = Vec::new();
    let mut usage = None;
    for line in rendered.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(u) = line.strip_prefix("Usage: ") {
            usage = Some(u);
            break;
        }
        if !line.starts_with("For more information") {
            message.push(line.strip_prefix("error: ").unwrap_or(line));
        }
    }
    let message = if message.is_empty() {
        "the command line was refused".to_string()
    } else {
        message.join(" ")
    };
    let hint = match usage {
        Some(usage) => format!("usage: {usage}; see `phasehost <command> --help`"),
        None => "see `phasehost --help` and `phasehost <command> --help`".to_string(),
    };
    json!({
        "outcome": "stopped",
        "stop": {
            "code": USAGE_CODE,
            "exit_status": exit_status,
            "phase": null,
            "message": message,
            "hint": hint,
        },
    })
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
    fn a_usage_refusal_has_the_stop_shape() {
        let rendered = "error: the following required arguments were not provided:\n  --source <SOURCE>\n\nUsage: phasehost run --source <SOURCE> <PLAN>\n\nFor more information, try '--help'.\n";
        let v = usage_refusal(rendered, 2);
        assert_eq!(v["outcome"], "stopped");
        assert_eq!(v["stop"]["code"], "usage");
        assert_eq!(v["stop"]["exit_status"], 2);
        assert_eq!(v["stop"]["phase"], Value::Null);
        assert_eq!(
            v["stop"]["message"],
            "the following required arguments were not provided: --source <SOURCE>"
        );
        assert_eq!(
            v["stop"]["hint"],
            "usage: phasehost run --source <SOURCE> <PLAN>; see `phasehost <command> --help`"
        );
    }

    #[test]
    fn json_is_seen_before_a_double_dash_only() {
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(wanted(&args(&["phasehost", "status", "r", "--json"])));
        assert!(!wanted(&args(&["phasehost", "status", "--", "--json"])));
        assert!(!wanted(&args(&["--json"])));
    }
}
