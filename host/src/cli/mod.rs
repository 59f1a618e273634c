//! The `phasehost` command line: clap definitions and dispatch. Each command
//! lives in its own file.

mod args;
mod commands;
mod json;

pub use args::{Cli, Command};

use crate::stop::{Stop, StopCode};
use clap::Parser;
use std::io::Write;

/// Parse arguments, run the command, print errors with their cause chain,
/// and return the exit status.
pub fn main() -> i32 {
    let raw: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let json = json::wanted(&raw);
    if let Err(refusal) = phasehost_policy::argguard::check_args(raw.iter().skip(1)) {
        let stop = Stop::new(StopCode::ArgumentRefused, refusal.to_string());
        if json {
            let _ = json::print(&json::refusal(&stop));
        } else {
            eprintln!("phasehost: {}: {}", stop.code, stop.message);
            eprintln!("hint: {}", stop.code.hint());
        }
        return stop.code.exit_status();
    }
    let cli = match Cli::try_parse_from(&raw) {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error, json),
    };
    match commands::dispatch(cli) {
        Ok(status) => status,
        Err(error) => report(&error, json),
    }
}

/// A command line clap refused (or `--help`/`--version`): with `json` and a
/// real usage error, one JSON refusal on stdout (code `usage`, exit status
/// 2); else clap's own text (help and version on stdout, exit 0; errors on
/// stderr, exit 2).
fn usage_error(error: &clap::Error, json: bool) -> i32 {
    use clap::error::ErrorKind;
    let status = error.exit_code();
    let is_help = matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    );
    if json && !is_help {
        let text = error.render().to_string();
        if json::print(&json::usage_refusal(&text, status)).is_ok() {
            return status;
        }
    }
    let _ = error.print();
    status
}

/// Print `error` (with `json`, as a `stop` object on stdout) and map it to
/// an exit status.
fn report(error: &anyhow::Error, json: bool) -> i32 {
    if let Some(io) = error.downcast_ref::<std::io::Error>()
        && io.kind() == std::io::ErrorKind::BrokenPipe
    {
        return 0;
    }
    let code = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<Stop>().map(|s| s.code))
        .unwrap_or(StopCode::Internal);
    if json {
        let phase = error
            .chain()
            .find_map(|cause| cause.downcast_ref::<Stop>().and_then(|s| s.phase.clone()));
        let message: Vec<String> = error
            .chain()
            .map(|c| match c.downcast_ref::<Stop>() {
                Some(stop) => stop.message.clone(),
                None => c.to_string(),
            })
            .collect();
        let stop = Stop {
            code,
            message: message.join(": "),
            phase,
        };
        if json::print(&json::refusal(&stop)).is_ok() {
            return code.exit_status();
        }
    }
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "phasehost: {code}: ");
    // A stop's own Display starts with its code, already printed above.
    let chain: Vec<String> = error
        .chain()
        .map(|c| match c.downcast_ref::<Stop>() {
            Some(stop) => match &stop.phase {
                Some(phase) => format!("{} (phase {phase})", stop.message),
                None => stop.message.clone(),
            },
            None => c.to_string(),
        })
        .collect();
    let _ = writeln!(stderr, "{}", chain.join("\n  caused by: "));
    let _ = writeln!(stderr, "hint: {}", code.hint());
    code.exit_status()
}
