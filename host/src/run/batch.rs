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

/// Run every document of `queue`, `jobs` at a time (documents are
/// independent: each has its own run folder, lock and store scope; the
/// process shares one engine and one set of loaded components). `progress`
/// is called as each finishes (from the thread that ran it, one call at a
/// time); the items come back in queue order.
pub fn run_batch(
    queue: &Queue,
    live: bool,
    host_config: Option<&Path>,
    as_key: Option<&Path>,
    jobs: usize,
    progress: impl FnMut(usize, &BatchItem) + Send,
) -> Vec<BatchItem> {
    let run = |document_id: &String, source: &PathBuf| {
        let request = StartRequest {
            plan: queue.plan.clone(),
            source: source.clone(),
            live,
            host_config: host_config.map(Path::to_path_buf),
            as_key: as_key.map(Path::to_path_buf),
        };
        match super::start(&request) {
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
        }
    };
    in_parallel(
        &queue.documents,
        jobs,
        |_, (id, source)| run(id, source),
        progress,
    )
}

/// `work` on every item, `jobs` threads at a time (at least one), the
/// results in input order; `progress` sees each result as it is made.
pub fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    work: impl Fn(usize, &T) -> R + Sync,
    progress: impl FnMut(usize, &R) + Send,
) -> Vec<R> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    let progress = Mutex::new(progress);
    let worker = || {
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(index) else { break };
            let result = work(index, item);
            (progress.lock().unwrap_or_else(|p| p.into_inner()))(index, &result);
            results.lock().unwrap_or_else(|p| p.into_inner())[index] = Some(result);
        }
    };
    let threads = jobs.clamp(1, items.len().max(1));
    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(worker);
        }
        worker();
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|r| r.expect("every item was worked on"))
        .collect()
}

/// How many documents a batch runs at once by default: the cores this
/// process may use.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
