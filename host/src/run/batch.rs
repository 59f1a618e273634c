//! The batch lane: a queue file of documents, run one after another with
//! the same plan. Duplicate document ids are refused when the queue is
//! loaded, before anything runs. Each document's run is its own: it pauses
//! at its own gates, and an approval binds to its own run id and digest.

use super::{Outcome, StartRequest, ids};
use crate::stop::{Stop, StopCode};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The queue file (TOML).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueFile {
    /// The plan every document runs with (relative to the queue file).
    pub plan: PathBuf,
    /// The documents, in order.
    #[serde(default)]
    pub documents: Vec<QueueEntry>,
}

/// One queued document.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueEntry {
    /// The source file (relative to the queue file).
    pub source: PathBuf,
}

/// A loaded, checked queue.
#[derive(Debug, Clone)]
pub struct Queue {
    /// The plan.
    pub plan: PathBuf,
    /// (document id, source), in order, ids unique.
    pub documents: Vec<(String, PathBuf)>,
}

/// Load a queue file; a malformed file is plan-invalid, a repeated document
/// id is duplicate-document naming both entries.
pub fn load_queue(path: &Path) -> Result<Queue, Stop> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Stop::new(
            StopCode::PlanInvalid,
            format!("cannot read queue {}: {e}", path.display()),
        )
    })?;
    let file: QueueFile = toml::from_str(&text).map_err(|e| {
        Stop::new(
            StopCode::PlanInvalid,
            format!("queue {}: {}", path.display(), e.message()),
        )
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut documents = Vec::new();
    for (index, entry) in file.documents.iter().enumerate() {
        let source = base.join(&entry.source);
        let id = ids::document_id(&source)?;
        if let Some(first) = seen.insert(id.clone(), index + 1) {
            return Err(Stop::new(
                StopCode::DuplicateDocument,
                format!(
                    "queue {}: document id `{id}` appears twice (entries {first} and {}); nothing was run",
                    path.display(),
                    index + 1
                ),
            ));
        }
        documents.push((id, source));
    }
    if documents.is_empty() {
        return Err(Stop::new(
            StopCode::PlanInvalid,
            format!("queue {} has no [[documents]]", path.display()),
        ));
    }
    Ok(Queue {
        plan: base.join(file.plan),
        documents,
    })
}

/// What happened to one queued document.
#[derive(Debug, Clone)]
pub struct BatchItem {
    /// The document id.
    pub document_id: String,
    /// Its run folder.
    pub folder: Option<PathBuf>,
    /// How its run ended (for now).
    pub outcome: Outcome,
}

/// Run every document of `queue`; `progress` is called after each.
pub fn run_batch(
    queue: &Queue,
    live: bool,
    host_config: Option<&Path>,
    as_key: Option<&Path>,
    mut progress: impl FnMut(usize, &BatchItem),
) -> Vec<BatchItem> {
    let mut items = Vec::new();
    for (index, (document_id, source)) in queue.documents.iter().enumerate() {
        let request = StartRequest {
            plan: queue.plan.clone(),
            source: source.clone(),
            live,
            host_config: host_config.map(Path::to_path_buf),
            as_key: as_key.map(Path::to_path_buf),
        };
        let item = match super::start(&request) {
            Ok(report) => BatchItem {
                document_id: document_id.clone(),
                folder: report.folder,
                outcome: report.outcome,
            },
            Err(stop) => BatchItem {
                document_id: document_id.clone(),
                folder: None,
                outcome: Outcome::Stopped(stop),
            },
        };
        progress(index, &item);
        items.push(item);
    }
    items
}
