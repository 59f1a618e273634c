//! `phasehost batch <queue-file>`: progress for people on stderr, one JSON
//! line per document for machines with --json. With a PostgreSQL store the
//! documents go into the store's queue for `phasehost worker` instead.

use super::{open_plan, progress};
use crate::run::batch::{BatchItem, load_queue, run_batch};
use crate::run::{EXIT_PAUSED, Outcome};
use anyhow::Result;
use serde_json::json;
use std::path::Path;

fn describe(outcome: &Outcome) -> (String, serde_json::Value) {
    match outcome {
        Outcome::Completed => ("completed".into(), json!({"status": "completed"})),
        Outcome::Paused {
            gate,
            evidence_digest,
            ..
        } => (
            format!("paused at {gate}"),
            json!({"status": "paused", "gate": gate.as_str(), "evidence_digest": evidence_digest}),
        ),
        Outcome::Stopped(stop) => (
            format!("stopped: {}", stop.code),
            json!({"status": "stopped", "code": stop.code, "phase": stop.phase, "message": stop.message}),
        ),
    }
}

pub(super) fn run(
    queue_path: &Path,
    live: bool,
    host_config: Option<&Path>,
    as_key: Option<&Path>,
    jobs: Option<usize>,
    json_lines: bool,
) -> Result<i32> {
    let queue = load_queue(queue_path).map_err(anyhow::Error::new)?;
    if open_plan(&queue.plan)?.store.postgres.is_some() {
        let queued = crate::run::worker::enqueue(&queue).map_err(anyhow::Error::new)?;
        eprintln!(
            "queued {queued} documents in the plan's PostgreSQL store; run them with \
             `phasehost worker {}`{}",
            queue.plan.display(),
            if live { " --live" } else { "" }
        );
        return Ok(0);
    }
    let total = queue.documents.len();
    let bar = progress::Progress::new(total as u64);
    let mut done = 0u64;
    let progress = |index: usize, item: &BatchItem| {
        done += 1;
        let (text, value) = describe(&item.outcome);
        let folder = item.folder.as_deref().map(|f| f.display().to_string());
        bar.suspend(|| {
            if json_lines {
                let line = json!({"index": index + 1, "total": total, "document_id": item.document_id, "run_folder": folder, "outcome": value});
                println!("{line}");
            } else {
                println!(
                    "{:<60} {text:<28} {}",
                    item.document_id,
                    folder.unwrap_or_default()
                );
            }
        });
        bar.show(done, total as u64, &item.document_id);
    };
    let jobs = jobs.unwrap_or_else(crate::run::batch::default_jobs);
    let items = run_batch(&queue, live, host_config, as_key, jobs, progress);
    bar.finish();
    let first_stop = items.iter().find_map(|i| match &i.outcome {
        Outcome::Stopped(stop) => Some(stop.code),
        _ => None,
    });
    let paused = items
        .iter()
        .filter(|i| matches!(i.outcome, Outcome::Paused { .. }))
        .count();
    let completed = items
        .iter()
        .filter(|i| i.outcome == Outcome::Completed)
        .count();
    eprintln!(
        "{total} documents: {completed} completed, {paused} waiting for an approval, {} stopped",
        total - completed - paused
    );
    Ok(match first_stop {
        Some(code) => code.exit_status(),
        None if paused > 0 => EXIT_PAUSED,
        None => 0,
    })
}
