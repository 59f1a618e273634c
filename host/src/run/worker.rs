//! `phasehost worker`: claim documents from the queue in the plan's
//! PostgreSQL store (`FOR UPDATE SKIP LOCKED`, with a lease), run each until
//! it pauses at an approval, completes or stops, and record that in the
//! queue. Any number of workers, on any number of machines that share the
//! KB folder, may run at once; PostgreSQL is the only coordinator.
//!
//! A document's life in the queue: `pending` → `claimed` (lease) → `waiting`
//! (paused at SG_1/SG_2; `phasehost approve` makes it `pending` again) → … →
//! `done` or `failed`. A worker that dies loses its lease when it expires;
//! the next worker resumes the same run from its folder, and the per-phase
//! transactions and checkpoints make sure no phase's writes land twice.

use super::batch::Queue;
use super::state::{RunState, Status};
use super::{
    Outcome, ResumeRequest, RunFolder, RunHooks, StartRequest, fingerprint,
    kill_switch::KillSwitch, store_open,
};
use crate::plan::{Plan, load_plan};
use crate::stop::{Stop, StopCode};
use crate::store::{Claim, QueueCounts, QueueEntry, StoreBackend};
use phasehost_policy::approval::Gate;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The plan every claimed document runs with.
    pub plan: PathBuf,
    /// Really write (see `run --live`).
    pub live: bool,
    /// The operator's host config.
    pub host_config: Option<PathBuf>,
    /// How long a claim lasts without renewal; renewed every third of it.
    pub lease_secs: u64,
    /// How long to sleep when nothing is claimable.
    pub poll: Duration,
    /// Exit when nothing is claimable and no other worker holds a lease
    /// (documents waiting for an approval do not keep the worker alive).
    pub until_idle: bool,
    /// The operator's key (`--as`): signs each run it starts and resumes.
    pub as_key: Option<PathBuf>,
}

/// What became of one claimed document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The run completed; the entry is `done`.
    Completed,
    /// The run paused at a gate; the entry is `waiting`.
    Waiting(Gate),
    /// The run stopped (or could not start); the entry is `failed`.
    Failed(Stop),
    /// The lease was lost while running; the entry was left to its new holder.
    LeaseLost,
}

/// One processed claim, reported as it happens.
#[derive(Debug, Clone)]
pub struct WorkerEvent {
    /// This worker's id.
    pub worker_id: String,
    /// The claimed document.
    pub document_id: String,
    /// Its run (None when the run could not start).
    pub run_id: Option<String>,
    /// Claims of this document so far, this one included.
    pub attempts: u64,
    /// What became of it.
    pub step: Step,
    /// The queue after it.
    pub counts: QueueCounts,
}

/// What one worker did before it exited.
#[derive(Debug, Clone, Default)]
pub struct WorkerSummary {
    /// Documents it completed.
    pub completed: u64,
    /// Documents it left waiting for an approval.
    pub waiting: u64,
    /// Documents it marked failed.
    pub failed: u64,
    /// Claims it lost while running.
    pub lost: u64,
}

fn store_stop(what: &str, e: impl std::fmt::Display) -> Stop {
    Stop::new(StopCode::StoreFailed, format!("{what}: {e}"))
}

/// The plan's store, which must be PostgreSQL to hold a shared queue.
fn queue_store(plan: &Plan) -> Result<Box<dyn StoreBackend>, Stop> {
    if plan.store.postgres.is_none() {
        return Err(Stop::new(
            StopCode::PlanInvalid,
            "the shared queue lives in a PostgreSQL store, and this plan's store is not \
             PostgreSQL; run the documents with `phasehost batch <queue-file>` instead",
        ));
    }
    store_open::open_backend(plan)?.ok_or_else(|| Stop::new(StopCode::PlanInvalid, "no store"))
}

fn load(plan: &Path) -> Result<Plan, Stop> {
    load_plan(plan).map_err(|e| Stop::new(StopCode::PlanInvalid, e.to_string()))
}

/// Put every document of `queue` into its plan's PostgreSQL queue, all or
/// nothing; a document already queued is refused. Returns how many.
pub fn enqueue(queue: &Queue) -> Result<u64, Stop> {
    let plan = load(&queue.plan)?;
    let plan_sha = fingerprint::file_sha256(&queue.plan, "plan")?;
    let mut store = queue_store(&plan)?;
    let documents: Vec<(String, String)> = queue
        .documents
        .iter()
        .map(|(id, source)| {
            let source = std::path::absolute(source).unwrap_or_else(|_| source.clone());
            (id.clone(), source.display().to_string())
        })
        .collect();
    store.enqueue(&documents, &plan_sha).map_err(|e| match e {
        crate::store::StoreError::Conflict(m) => Stop::new(StopCode::DuplicateDocument, m),
        other => store_stop("enqueueing", other),
    })
}

/// Tell the queue a run's approval is in: its waiting entry becomes
/// claimable again. Returns whether there was such an entry.
pub fn release_waiting(plan: &Plan, run_id: &str) -> Result<bool, Stop> {
    queue_store(plan)?
        .unpark(run_id)
        .map_err(|e| store_stop("releasing the queue entry", e))
}

/// The queue of `plan`'s store: counts and every entry in order.
pub fn queue_status(plan: &Path) -> Result<(QueueCounts, Vec<QueueEntry>), Stop> {
    let mut store = queue_store(&load(plan)?)?;
    let counts = store
        .queue_counts()
        .map_err(|e| store_stop("reading the queue", e))?;
    let entries = store
        .queue_entries()
        .map_err(|e| store_stop("reading the queue", e))?;
    Ok((counts, entries))
}

/// A worker id nobody types: host name, process id and a random suffix.
fn new_worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    format!(
        "{host}-{}-{:04x}",
        std::process::id(),
        rand::random::<u16>()
    )
}

/// Run as a worker until the queue is idle (with `until_idle`) or forever;
/// `on_event` is told about every claim processed. Per-document stops are
/// recorded in the queue, not returned; the worker itself stops (returns
/// `Err`) on the kill-switch or when the queue cannot be reached.
pub fn work(
    options: &WorkerOptions,
    mut on_event: impl FnMut(&WorkerEvent),
) -> Result<WorkerSummary, Stop> {
    if !options.live {
        // A worker consumes the queue: a dry pass would mark every document
        // done without writing it, and the live pass would find nothing.
        return Err(Stop::new(
            StopCode::ArgumentRefused,
            "a worker marks the documents it runs as done in the shared queue, so it only runs \
             live (--live); rehearse a document with `phasehost run` (a dry run by default)",
        ));
    }
    let plan = load(&options.plan)?;
    let plan_sha = fingerprint::file_sha256(&options.plan, "plan")?;
    let host = super::host_config::HostConfig::load(options.host_config.as_deref())?;
    let kb = plan.resolve(&plan.kb.path);
    let kill = KillSwitch::new(host.kill_file(&kb));
    let mut queue = queue_store(&plan)?;
    let worker_id = new_worker_id();
    let mut summary = WorkerSummary::default();
    loop {
        if let Some(reason) = kill.reason() {
            return Err(Stop::new(StopCode::KillSwitch, reason));
        }
        let claim = queue
            .claim(&worker_id, options.lease_secs)
            .map_err(|e| store_stop("claiming", e))?;
        let Some(claim) = claim else {
            if options.until_idle {
                let counts = queue
                    .queue_counts()
                    .map_err(|e| store_stop("reading the queue", e))?;
                if counts.pending + counts.claimed + counts.expired == 0 {
                    return Ok(summary);
                }
            }
            std::thread::sleep(options.poll);
            continue;
        };
        let (run_id, step) = process(
            options,
            &plan,
            &plan_sha,
            &kb,
            &worker_id,
            queue.as_mut(),
            &claim,
        );
        match &step {
            Step::Completed => summary.completed += 1,
            Step::Waiting(_) => summary.waiting += 1,
            Step::Failed(_) => summary.failed += 1,
            Step::LeaseLost => summary.lost += 1,
        }
        let counts = queue
            .queue_counts()
            .map_err(|e| store_stop("reading the queue", e))?;
        on_event(&WorkerEvent {
            worker_id: worker_id.clone(),
            document_id: claim.document_id.clone(),
            run_id,
            attempts: claim.attempts,
            step,
            counts,
        });
    }
}

/// Run one claim with its lease kept alive, then record the result.
#[allow(clippy::too_many_arguments)]
fn process(
    options: &WorkerOptions,
    plan: &Plan,
    plan_sha: &str,
    kb: &Path,
    worker_id: &str,
    queue: &mut dyn StoreBackend,
    claim: &Claim,
) -> (Option<String>, Step) {
    let lost = Arc::new(AtomicBool::new(false));
    let (run_id, step) = std::thread::scope(|scope| {
        let (done, stop_keeper) = mpsc::channel::<()>();
        let keeper_lost = lost.clone();
        scope.spawn(move || {
            keep_lease(
                plan,
                &claim.document_id,
                worker_id,
                options.lease_secs,
                &keeper_lost,
                &stop_keeper,
            )
        });
        let result = run_claim(options, plan_sha, kb, worker_id, queue, claim, &lost);
        drop(done);
        result
    });
    if lost.load(Ordering::SeqCst) {
        return (run_id, Step::LeaseLost);
    }
    let doc = claim.document_id.as_str();
    let recorded = match (&step, &run_id) {
        (Step::Completed, Some(run)) => queue.complete(doc, worker_id, run),
        (Step::Waiting(gate), Some(run)) => queue.park(doc, worker_id, run, gate.as_str()),
        (Step::Failed(stop), _) => {
            queue.fail(doc, worker_id, &format!("{}: {}", stop.code, stop.message))
        }
        _ => queue.fail(doc, worker_id, "the run ended without a run id"),
    };
    match recorded {
        Ok(()) => (run_id, step),
        Err(_) => (run_id, Step::LeaseLost),
    }
}

/// Renew the lease every third of its length until told to stop; on a
/// failed renewal (or no connection) set `lost`, which engages the run's
/// kill-switch.
fn keep_lease(
    plan: &Plan,
    document_id: &str,
    worker_id: &str,
    lease_secs: u64,
    lost: &AtomicBool,
    stop: &mpsc::Receiver<()>,
) {
    let mut store = match store_open::open_backend(plan) {
        Ok(Some(store)) => store,
        _ => {
            lost.store(true, Ordering::SeqCst);
            return;
        }
    };
    let every = Duration::from_millis(lease_secs * 1000 / 3).max(Duration::from_millis(100));
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(every) {
        if store.renew(document_id, worker_id, lease_secs).is_err() {
            lost.store(true, Ordering::SeqCst);
            return;
        }
    }
}

/// Start the claim's run, or go on with the run a previous holder recorded.
/// The queue row is data, not an instruction: it must have been enqueued
/// under this worker's plan, and its run id must name a run folder under
/// this plan's KB; the run always goes on with this worker's plan and host
/// config, never with anything the run folder names.
fn run_claim(
    options: &WorkerOptions,
    plan_sha: &str,
    kb: &Path,
    worker_id: &str,
    queue: &mut dyn StoreBackend,
    claim: &Claim,
    lost: &Arc<AtomicBool>,
) -> (Option<String>, Step) {
    if claim.plan_sha256 != plan_sha {
        return (
            None,
            Step::Failed(Stop::new(
                StopCode::QueueEntryRefused,
                format!(
                    "document `{}` was enqueued under another plan than {} (or before plans were recorded); this worker runs only its own plan",
                    claim.document_id,
                    options.plan.display()
                ),
            )),
        );
    }
    if let Some(run_id) = &claim.run_id {
        let folder = match RunFolder::open_in(kb, run_id) {
            Ok(folder) => folder,
            Err(stop) => return (None, Step::Failed(stop)),
        };
        return (Some(run_id.clone()), continue_run(options, &folder, lost));
    }
    let request = StartRequest {
        plan: options.plan.clone(),
        source: PathBuf::from(&claim.source_path),
        live: options.live,
        host_config: options.host_config.clone(),
        as_key: options.as_key.clone(),
    };
    let mut attach = |run_id: &str| {
        queue
            .attach_run(&claim.document_id, worker_id, run_id)
            .map_err(|e| store_stop("recording the run in the queue", e))
    };
    let hooks = RunHooks {
        on_created: Some(&mut attach),
        lease_lost: Some(lost.clone()),
        ..RunHooks::default()
    };
    match super::start_with(&request, hooks) {
        Ok(report) => {
            let run_id = report
                .folder
                .as_deref()
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned());
            (run_id, step_of(report.outcome))
        }
        Err(stop) => (None, Step::Failed(stop)),
    }
}

/// A run some worker started: already finished, still waiting, or resumed.
fn continue_run(options: &WorkerOptions, folder: &RunFolder, lost: &Arc<AtomicBool>) -> Step {
    let state = match RunState::load_in(folder.dir()) {
        Ok(state) => state,
        Err(stop) => return Step::Failed(stop),
    };
    match &state.status {
        // Reported done again: first made durable here, in case the worker
        // that finished it died before its barrier.
        Status::Completed => {
            return match folder.make_all_durable() {
                Ok(_) => Step::Completed,
                Err(stop) => Step::Failed(stop),
            };
        }
        Status::Stopped { code, .. } => {
            return Step::Failed(Stop::new(
                *code,
                format!("run {} had stopped with {code}", state.run_id),
            ));
        }
        Status::Paused { gate, .. }
            if folder
                .approval_files(gate)
                .is_ok_and(|files| files.is_empty()) =>
        {
            return Step::Waiting(gate.clone());
        }
        _ => {}
    }
    let request = ResumeRequest {
        run_folder: folder.root().to_path_buf(),
        plan: options.plan.clone(),
        host_config: options.host_config.clone(),
        as_key: options.as_key.clone(),
    };
    match super::resume_with(&request, Some(lost.clone())) {
        Ok(report) => step_of(report.outcome),
        Err(stop) => Step::Failed(stop),
    }
}

fn step_of(outcome: Outcome) -> Step {
    match outcome {
        Outcome::Completed => Step::Completed,
        Outcome::Paused { gate, .. } => Step::Waiting(gate),
        Outcome::Stopped(stop) => Step::Failed(stop),
    }
}
