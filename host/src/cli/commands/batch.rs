//! `phasehost batch <queue-file>`: progress for people on stderr, one JSON
//! line per document for machines with --json.

use crate::run::batch::{BatchItem, load_queue, run_batch};
use crate::run::{EXIT_PAUSED, Outcome};
use anyhow::Result;
use serde_json::json;
use std::io::{IsTerminal, Write};
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
    json_lines: bool,
) -> Result<i32> {
    let queue = load_queue(queue_path).map_err(anyhow::Error::new)?;
    let total = queue.documents.len();
    let tty = std::io::stderr().is_terminal();
    let progress = |index: usize, item: &BatchItem| {
        let (text, value) = describe(&item.outcome);
        let folder = item.folder.as_deref().map(|f| f.display().to_string());
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
        let done = index + 1;
        let width = 30;
        let filled = done * width / total;
        let bar = format!(
            "[{}{}] {done}/{total}",
            "#".repeat(filled),
            " ".repeat(width - filled)
        );
        let mut err = std::io::stderr().lock();
        if tty {
            let _ = write!(err, "\r{bar}");
            if done == total {
                let _ = writeln!(err);
            }
        } else {
            let _ = writeln!(err, "{bar} {}", item.document_id);
        }
    };
    let items = run_batch(&queue, live, host_config, progress);
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
