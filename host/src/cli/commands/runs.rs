//! `phasehost runs <kb-or-plan>`: every run folder of a KB with its
//! document, version, mode, status and age; `--waiting`: only runs paused
//! at a gate, with the command to type next.

use crate::run::ops::{self, RunSummary};
use anyhow::Result;
use std::path::Path;

fn status_text(run: &RunSummary) -> String {
    match run.status {
        "paused" => format!("paused at {}", run.gate.as_deref().unwrap_or("?")),
        "stopped" => match run.code {
            Some(code) => format!("stopped: {code}"),
            None => "stopped".into(),
        },
        other => other.to_string(),
    }
}

pub(super) fn run(target: &Path, waiting: bool, json_output: bool) -> Result<i32> {
    let (kb, plan) = ops::kb_of(target).map_err(anyhow::Error::new)?;
    let runs = ops::list_runs(&kb, plan.as_deref(), waiting).map_err(anyhow::Error::new)?;
    if json_output {
        println!("{}", serde_json::to_string(&runs)?);
        return Ok(0);
    }
    if runs.is_empty() {
        let what = if waiting {
            "no run waits at a gate"
        } else {
            "no runs"
        };
        println!("{what} in {}", kb.join("runs").display());
        return Ok(0);
    }
    println!(
        "{:<40} {:<30} {:<14} {:<5} {:<28} AGE",
        "RUN", "DOCUMENT", "VERSION", "MODE", "STATUS"
    );
    for run in &runs {
        println!(
            "{:<40} {:<30} {:<14} {:<5} {:<28} {}",
            run.run,
            run.document_id.as_deref().unwrap_or("-"),
            run.version.as_deref().unwrap_or("-"),
            run.mode.unwrap_or("-"),
            status_text(run),
            run.age_secs.map_or_else(|| "-".into(), ops::age_text),
        );
        if let Some(next) = &run.next {
            println!("    next: {next}");
        }
        if let Some(problem) = &run.problem {
            println!("    corrupt: {problem}");
        }
    }
    Ok(0)
}
