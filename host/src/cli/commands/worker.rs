//! `phasehost worker <plan>` and `phasehost queue <plan>`: the PostgreSQL
//! queue for people (a progress bar on stderr, a table) and machines (one
//! JSON line per processed document, `--json`).

use super::progress;
use crate::run::worker::{Step, WorkerEvent, WorkerOptions, queue_status, work};
use anyhow::Result;
use serde_json::json;
use std::path::Path;

fn describe(step: &Step) -> (String, serde_json::Value) {
    match step {
        Step::Completed => ("completed".into(), json!({"status": "completed"})),
        Step::Waiting(gate) => (
            format!("waiting for {gate}"),
            json!({"status": "waiting", "gate": gate.as_str()}),
        ),
        Step::Failed(stop) => (
            format!("failed: {}", stop.code),
            json!({"status": "failed", "code": stop.code, "phase": stop.phase, "message": stop.message}),
        ),
        Step::LeaseLost => (
            "lease lost (left to its new holder)".into(),
            json!({"status": "lease-lost"}),
        ),
    }
}

fn report(event: &WorkerEvent, json_lines: bool, bar: &progress::Progress) {
    let (text, value) = describe(&event.step);
    let c = &event.counts;
    if json_lines {
        let line = json!({
            "worker": event.worker_id,
            "document_id": event.document_id,
            "run_id": event.run_id,
            "attempts": event.attempts,
            "outcome": value,
            "queue": c,
        });
        bar.suspend(|| println!("{line}"));
    }
    let total = c.pending + c.claimed + c.expired + c.waiting + c.done + c.failed;
    bar.show(
        c.done + c.failed,
        total,
        &format!("{} {text}", event.document_id),
    );
}

pub(super) fn run(options: WorkerOptions, json_lines: bool) -> Result<i32> {
    let bar = progress::Progress::new(0);
    let summary = work(&options, |event| report(event, json_lines, &bar));
    bar.finish();
    let summary = summary.map_err(anyhow::Error::new)?;
    eprintln!(
        "worker done: {} completed, {} left waiting for an approval, {} failed, {} claims lost",
        summary.completed, summary.waiting, summary.failed, summary.lost
    );
    Ok(0)
}

pub(super) fn queue(plan: &Path, json_output: bool) -> Result<i32> {
    let (counts, entries) = queue_status(plan).map_err(anyhow::Error::new)?;
    if json_output {
        println!("{}", json!({"counts": counts, "entries": entries}));
        return Ok(0);
    }
    println!(
        "pending {}  claimed {}  lease expired {}  waiting {}  done {}  failed {}",
        counts.pending, counts.claimed, counts.expired, counts.waiting, counts.done, counts.failed
    );
    for entry in entries {
        let detail = match entry.state.as_str() {
            "waiting" => format!(
                "{}: review and `phasehost approve <kb>/runs/{} --gate {} --key <key-file>`",
                entry.waiting_gate.as_deref().unwrap_or("?"),
                entry.run_id.as_deref().unwrap_or("?"),
                entry.waiting_gate.as_deref().unwrap_or("?"),
            ),
            "failed" => entry.last_error.clone().unwrap_or_default(),
            "claimed" => format!("by {}", entry.lease_owner.as_deref().unwrap_or("?")),
            _ => entry.run_id.clone().unwrap_or_default(),
        };
        println!("{:<60} {:<8} {detail}", entry.document_id, entry.state);
    }
    Ok(0)
}
