//! Runs: start, resume, approve, status. The rules operators and security
//! reviewers trust live here: the state machine, fail-closed gates, signed
//! approvals, the kill-switch, the drift check and the KB documents.

pub mod approvals;
mod approve;
pub mod batch;
mod checkpoint;
mod documents;
mod fingerprint;
mod gates;
pub mod host_config;
pub mod ids;
mod inspect;
mod kb;
pub mod kill_switch;
mod ledger;
pub mod ops;
mod phase_notes;
pub mod report;
pub mod review;
mod run_store;
mod runner;
mod secret_scan;
pub mod state;
pub(crate) mod store_open;
pub mod wiring;
pub mod worker;

pub use approve::{ApproveRequest, Approved, approve, approve_with};
pub use gates::GateSet;
pub use inspect::{Review, review, status};
pub use kb::RunFolder;
pub use runner::{Outcome, Runner};
pub use secret_scan::SecretScanner;

use crate::plan::{Plan, load_plan};
use crate::runtime::Runtime;
use crate::stop::{Stop, StopCode};
use approvals::GateKeeper;
use host_config::HostConfig;
use kill_switch::KillSwitch;
use phasehost_policy::approval::{self, FileLedger, TrustStore};
use run_store::RunStore;
use state::{Mode, RunState, STATE_FORMAT, Status};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// The exit status of a run paused at an approval gate.
pub const EXIT_PAUSED: i32 = 3;

/// What `start` needs.
#[derive(Debug, Clone)]
pub struct StartRequest {
    /// The plan file.
    pub plan: PathBuf,
    /// The source document.
    pub source: PathBuf,
    /// `--live`.
    pub live: bool,
    /// The operator's host config.
    pub host_config: Option<PathBuf>,
    /// The operator's signing key (`--as`): signs the run start.
    pub as_key: Option<PathBuf>,
}

/// What `resume` needs: the run folder, and the plan and host config from
/// the operator (as at start), never from the run folder.
#[derive(Debug, Clone)]
pub struct ResumeRequest {
    /// The run folder.
    pub run_folder: PathBuf,
    /// The plan file; it must be the plan the run started with (its sha256
    /// is compared: another plan is drift).
    pub plan: PathBuf,
    /// The operator's host config (read afresh: execution switch, kill file).
    pub host_config: Option<PathBuf>,
    /// The operator's signing key (`--as`): signs a resume record.
    pub as_key: Option<PathBuf>,
}

/// Called with a new run's id; an `Err` stops the run before any phase.
pub type OnCreated<'a> = &'a mut dyn FnMut(&str) -> Result<(), Stop>;

/// Called with the phase name right before each store commit of a live
/// run (after the kill-switch was last checked by a capability call).
pub type BeforeCommit = Box<dyn FnMut(&str) + Send>;

/// Called with the phase name right after each store commit of a live run,
/// before the state file records the phase (the crash tests kill the
/// process here).
pub type AfterCommit = Box<dyn FnMut(&str) + Send>;

/// Called after each barrier of a run with what it made durable (see
/// [`settle`]; the tests count the barriers with it).
pub type AfterBarrier = Box<dyn FnMut(crate::fsutil::SyncCounts) + Send>;

/// The commit callbacks a run was given (see [`RunHooks`]).
#[derive(Default)]
pub(crate) struct CommitHooks {
    pub(crate) before: Option<BeforeCommit>,
    pub(crate) after: Option<AfterCommit>,
}

/// What a queue worker (or a test) adds to a run: a callback once the run
/// has its id (before any phase runs), the flag its lease keeper sets when
/// the lease is lost (it engages the kill-switch), and a callback before
/// each commit.
#[derive(Default)]
pub struct RunHooks<'a> {
    /// Called with the new run's id after its folder and state exist.
    pub on_created: Option<OnCreated<'a>>,
    /// Set when the worker no longer holds the document's lease.
    pub lease_lost: Option<Arc<AtomicBool>>,
    /// Called right before each commit.
    pub before_commit: Option<BeforeCommit>,
    /// Called right after each commit, before the state file is saved.
    pub after_commit: Option<AfterCommit>,
    /// Called after the barrier that ends the call (see [`settle`]).
    pub after_barrier: Option<AfterBarrier>,
}

impl RunHooks<'_> {
    fn commit_hooks(&mut self) -> CommitHooks {
        CommitHooks {
            before: self.before_commit.take(),
            after: self.after_commit.take(),
        }
    }
}

fn plan_stop(e: impl std::fmt::Display) -> Stop {
    Stop::new(StopCode::PlanInvalid, e.to_string())
}

/// The consumed-approvals ledger of a KB.
fn ledger(kb: &Path) -> Result<FileLedger, Stop> {
    FileLedger::open(&kb.join("consumed-approvals.jsonl"))
        .map_err(|e| Stop::new(StopCode::KbWriteFailed, format!("approval ledger: {e}")))
}

pub(crate) fn trust(plan: &Plan) -> Result<TrustStore, Stop> {
    if plan.approvals.trusted_keys.is_empty() {
        return Ok(TrustStore::new());
    }
    let files: Vec<PathBuf> = plan
        .approvals
        .trusted_keys
        .iter()
        .map(|k| plan.resolve(k))
        .collect();
    TrustStore::from_files(&files).map_err(plan_stop)
}

/// What `start` and `resume` read once and hand on: the plan, the trust
/// store of its `[approvals] trusted_keys`, and the source bytes the
/// fingerprint hashed (the phases get these bytes, not a second read of
/// a file that may have changed since).
struct RunInputs {
    plan: Plan,
    trust: TrustStore,
    source: Arc<[u8]>,
}

/// Load everything a run needs; `state` is the run's saved or new state.
fn assemble(
    inputs: RunInputs,
    host: &HostConfig,
    state: RunState,
    folder: RunFolder,
    kill: KillSwitch,
    commit_hooks: CommitHooks,
) -> Result<Runner, Stop> {
    let RunInputs {
        plan,
        trust,
        source,
    } = inputs;
    let runtime = Runtime::shared(&host.cache_dir()).map_err(|e| {
        Stop::new(
            StopCode::Internal,
            format!("cannot start the wasm engine: {e:#}"),
        )
    })?;
    // The wiring fails closed before any phase runs.
    let (gates, phases) = wiring::load_checked(&runtime, &plan)?;
    let store = store_open::open(&plan)?;
    let kb = plan.resolve(&plan.kb.path);
    let inputs_digest = fingerprint::inputs_digest(&state.fingerprint);
    let ledger: Box<dyn approval::ConsumedLedger + Send> = match (&store, state.mode) {
        (Some(store), Mode::Live) => Box::new(ledger::StoreLedger::new(store.clone())),
        _ => Box::new(ledger(&kb)?),
    };
    Ok(Runner {
        gatekeeper: GateKeeper::new(trust, ledger),
        plan,
        runtime,
        phases,
        gates,
        store: RunStore::new(store),
        folder,
        state,
        source,
        kill,
        inputs_digest,
        commit_hooks,
    })
}

/// What happened to a run: its folder and outcome.
#[derive(Debug)]
pub struct RunReport {
    /// The run folder (None when the run could not even get one).
    pub folder: Option<PathBuf>,
    /// The outcome.
    pub outcome: Outcome,
}

/// Start a run. Stops before a run folder exists are returned as `Err`.
pub fn start(request: &StartRequest) -> Result<RunReport, Stop> {
    start_with(request, RunHooks::default())
}

/// The operator's key (`--as`), which must be one the plan trusts; a plan
/// with `require_signed_start` refuses a run without one.
fn operator_key(
    plan: &Plan,
    trust: &TrustStore,
    key_file: Option<&Path>,
) -> Result<Option<approval::SigningKeyFile>, Stop> {
    let Some(key_file) = key_file else {
        if plan.approvals.require_signed_start {
            return Err(Stop::new(
                StopCode::StartUnsigned,
                "the plan requires a signed start ([approvals] require_signed_start = true): run with --as <key-file>",
            ));
        }
        return Ok(None);
    };
    trusted_signing_key(trust, key_file, StopCode::StartUnsigned, |key_id| {
        format!("key {key_id} (--as) is not among the plan's [approvals] trusted_keys")
    })
    .map(Some)
}

/// The signing key in `key_file`, which must be one `trust` holds: an
/// unreadable key or one the plan does not trust is a `code` stop
/// (`untrusted` says why, given the key id).
fn trusted_signing_key(
    trust: &TrustStore,
    key_file: &Path,
    code: StopCode,
    untrusted: impl FnOnce(&str) -> String,
) -> Result<approval::SigningKeyFile, Stop> {
    let key = approval::load_signing_key(key_file).map_err(|e| Stop::new(code, e.to_string()))?;
    if !trust.contains(&key.signing_key().verifying_key()) {
        return Err(Stop::new(code, untrusted(&key.key_id())));
    }
    Ok(key)
}

/// Sign a start (or resume) statement for the run in `state` into `path`.
fn sign_statement(
    folder: &RunFolder,
    relative: &str,
    key: &approval::SigningKeyFile,
    state: &RunState,
    kind: approval::StartKind,
) -> Result<(), Stop> {
    let statement = approval::RunStartStatement {
        kind,
        run_id: state.run_id.clone(),
        plan_sha256: state.fingerprint.plan_sha256.clone(),
        source_sha256: state.fingerprint.source_sha256.clone(),
        at: ids::now_secs(),
        key_id: key.key_id(),
    };
    let signed = approval::sign_start(statement, key.signing_key());
    approval::save_start_in(folder.dir(), relative, &signed).map_err(|e| {
        Stop::new(
            StopCode::KbWriteFailed,
            format!(
                "cannot write {}: {e}",
                folder.dir().shown(relative).display()
            ),
        )
    })
}

/// The source must be a regular file (a folder, FIFO, device or socket is
/// refused before anything else, never waited on).
fn check_source(source: &Path) -> Result<(), Stop> {
    match std::fs::metadata(source) {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(_) => Err(Stop::new(
            StopCode::BadSource,
            format!("{} is not a regular file", source.display()),
        )),
        Err(e) => Err(Stop::new(
            StopCode::BadSource,
            format!("cannot read source {}: {e}", source.display()),
        )),
    }
}

/// Refuse a live run the operator's host config does not allow now.
fn check_live(host: &HostConfig, kill: &KillSwitch) -> Result<(), Stop> {
    if !host.execution.enabled {
        return Err(Stop::new(
            StopCode::ExecutionDisabled,
            "a live run needs `[execution] enabled = true` in the host config given with --host-config",
        ));
    }
    if let Some(reason) = kill.reason() {
        return Err(Stop::new(StopCode::KillSwitch, reason));
    }
    Ok(())
}

/// [`start`] with a worker's hooks.
pub fn start_with(request: &StartRequest, mut hooks: RunHooks<'_>) -> Result<RunReport, Stop> {
    let commit_hooks = hooks.commit_hooks();
    let plan = load_plan(&request.plan).map_err(plan_stop)?;
    let host = HostConfig::load(request.host_config.as_deref())?;
    let kb = plan.resolve(&plan.kb.path);
    let kill = KillSwitch::new(host.kill_file(&kb)).with_lease(hooks.lease_lost);
    if request.live {
        check_live(&host, &kill)?;
    }
    let trust = trust(&plan)?;
    let starter = operator_key(&plan, &trust, request.as_key.as_deref())?;
    check_source(&request.source)?;
    let document_id = ids::document_id(&request.source)?;
    let source = fingerprint::read_source(&request.source, StopCode::BadSource)?;
    let fingerprint = fingerprint::inputs(&plan, &request.plan, &source)?;
    let run_id = ids::new_run_id(
        &document_id,
        &fingerprint.plan_sha256,
        &fingerprint.source_sha256,
    );
    let folder = RunFolder::create(&kb, &run_id)?;
    let state = new_run_state(request, run_id, document_id, fingerprint);
    let mut after_barrier = hooks.after_barrier.take();
    // From here on the run folder exists: every refusal is also its
    // stop.json, and every way out goes through `settle`.
    let mut stopped = |state: RunState, stop: Stop| -> Result<RunReport, Stop> {
        let outcome = Outcome::Stopped(write_early_stop(&folder, state, stop));
        Ok(settle(
            &folder,
            &RunStore::default(),
            outcome,
            &mut after_barrier,
        ))
    };
    let _held = match folder.lock() {
        Ok(held) => held,
        Err(stop) => return stopped(state, stop),
    };
    if let Err(stop) = record_start(&folder, &state, starter.as_ref(), hooks.on_created) {
        return stopped(state, stop);
    }
    let inputs = RunInputs {
        plan,
        trust,
        source: source.into(),
    };
    let (outcome, store) = match assemble(
        inputs,
        &host,
        state.clone(),
        folder.clone(),
        kill,
        commit_hooks,
    ) {
        Ok(mut runner) => (runner.drive(), runner.store.clone()),
        Err(stop) => (
            Outcome::Stopped(write_early_stop(&folder, state, stop)),
            RunStore::default(),
        ),
    };
    Ok(settle(&folder, &store, outcome, &mut after_barrier))
}

/// The one way out of the run engine once a run has a folder (start,
/// resume, and so batch and worker, which report what these return): the
/// barrier first — the store's commits made durable, then every KB file the
/// run wrote, the state last — then the report. A barrier that fails turns
/// the outcome into its stop (`store-failed`, `kb-write-failed`): a result
/// that is not on disk is never reported. Between barriers the KB writes
/// are atomic but not synced (see `fsutil::SyncLedger`).
fn settle(
    folder: &RunFolder,
    store: &RunStore,
    outcome: Outcome,
    after_barrier: &mut Option<AfterBarrier>,
) -> RunReport {
    let outcome = match barrier(folder, store, after_barrier) {
        Ok(()) => outcome,
        Err(failed) => {
            let was = match &outcome {
                Outcome::Completed => "completed".to_string(),
                Outcome::Paused { gate, .. } => format!("paused at {gate}"),
                Outcome::Stopped(stop) => format!("stopping with {}", stop.code),
            };
            let stop = Stop {
                message: format!("{} (the run was {was})", failed.message),
                ..failed
            };
            let stop = match RunState::load_in(folder.dir()) {
                Ok(mut state) => kb::write_stop(folder, &mut state, stop),
                Err(_) => kb::write_stop_unreadable_state(folder, stop),
            };
            // The stop itself, as far as the disk still takes it.
            let _ = barrier(folder, store, after_barrier);
            Outcome::Stopped(stop)
        }
    };
    RunReport {
        folder: Some(folder.root().to_path_buf()),
        outcome,
    }
}

/// The barrier: the store first, then the run folder
/// ([`RunFolder::make_durable`]: content, then the state).
fn barrier(
    folder: &RunFolder,
    store: &RunStore,
    after_barrier: &mut Option<AfterBarrier>,
) -> Result<(), Stop> {
    store.with(|s| s.make_durable()).map_err(|stop| Stop {
        message: format!("cannot make the store's commits durable: {}", stop.message),
        ..stop
    })?;
    let synced = folder.make_durable()?;
    if let Some(hook) = after_barrier.as_mut() {
        hook(synced);
    }
    Ok(())
}

/// The state of a new run, before its first phase.
fn new_run_state(
    request: &StartRequest,
    run_id: String,
    document_id: String,
    fingerprint: fingerprint::Fingerprint,
) -> RunState {
    RunState {
        format: STATE_FORMAT,
        run_id,
        plan_path: absolute(&request.plan),
        source_path: absolute(&request.source),
        document_id,
        version: ids::version_label(&fingerprint.source_sha256),
        mode: if request.live { Mode::Live } else { Mode::Dry },
        status: Status::Running,
        next_phase: 0,
        phases: Vec::new(),
        fingerprint,
        started_at: ids::now_secs(),
    }
}

/// Record a new run in its (locked) folder: its state, the operator's
/// signed start (with `--as`); then tell the worker its id (`on_created`).
fn record_start(
    folder: &RunFolder,
    state: &RunState,
    starter: Option<&approval::SigningKeyFile>,
    on_created: Option<OnCreated<'_>>,
) -> Result<(), Stop> {
    folder.save_state(state)?;
    if let Some(key) = starter {
        sign_statement(
            folder,
            kb::START_FILE,
            key,
            state,
            approval::StartKind::Start,
        )?;
    }
    if let Some(on_created) = on_created {
        on_created(&state.run_id)?;
    }
    Ok(())
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A stop before the runner existed: still a stop document and a saved state.
fn write_early_stop(folder: &RunFolder, mut state: RunState, stop: Stop) -> Stop {
    kb::write_stop(folder, &mut state, stop)
}

/// Load a run folder's state and check it belongs to that folder.
fn load_state(folder: &RunFolder) -> Result<RunState, Stop> {
    let state = RunState::load_in(folder.dir())?;
    let name = folder.root().file_name().and_then(|n| n.to_str());
    if name != Some(state.run_id.as_str()) {
        return Err(Stop::new(
            StopCode::CorruptState,
            format!(
                "the state in {} belongs to run {}, not to this folder",
                folder.root().display(),
                state.run_id
            ),
        ));
    }
    Ok(state)
}

/// Resume a paused (or interrupted) run after the drift check.
pub fn resume(request: &ResumeRequest) -> Result<RunReport, Stop> {
    resume_with(request, None)
}

/// [`resume`] for a worker: `lease_lost` engages the kill-switch.
pub fn resume_with(
    request: &ResumeRequest,
    lease_lost: Option<Arc<AtomicBool>>,
) -> Result<RunReport, Stop> {
    resume_hooked(
        request,
        RunHooks {
            lease_lost,
            ..RunHooks::default()
        },
    )
}

/// [`resume`] with hooks (`on_created` is not called: the run exists).
pub fn resume_hooked(request: &ResumeRequest, mut hooks: RunHooks<'_>) -> Result<RunReport, Stop> {
    let commit_hooks = hooks.commit_hooks();
    let lease_lost = hooks.lease_lost;
    let mut after_barrier = hooks.after_barrier.take();
    // Refused without a stop document: a folder that is not a run folder,
    // one another process holds (its run is not this process's to stop),
    // and a run already completed or stopped (its record stands as it is).
    // A state that cannot be read stops the run: its stop.json says so.
    let folder = RunFolder::open(&request.run_folder)?;
    let _held = folder.lock()?;
    let state = match load_state(&folder) {
        Ok(state) => state,
        Err(stop) => {
            let stop = kb::write_stop_unreadable_state(&folder, stop);
            let report = settle(
                &folder,
                &RunStore::default(),
                Outcome::Stopped(stop),
                &mut after_barrier,
            );
            return Err(match report.outcome {
                Outcome::Stopped(stop) => stop,
                _ => unreachable!("settle keeps a stop a stop"),
            });
        }
    };
    check_resumable(&state.status)?;
    // The state as the store put it right (a phase it had committed), so a
    // stop after that still saves it.
    let mut latest: Option<RunState> = None;
    let mut store = RunStore::default();
    let check = (|| {
        let plan = load_plan(&request.plan).map_err(plan_stop)?;
        let host = HostConfig::load(request.host_config.as_deref())?;
        let kill =
            KillSwitch::new(host.kill_file(&plan.resolve(&plan.kb.path))).with_lease(lease_lost);
        if state.mode == Mode::Live {
            check_live(&host, &kill)?;
        }
        let trust = trust(&plan)?;
        let resumer = match &request.as_key {
            Some(key) => operator_key(&plan, &trust, Some(key))?,
            None => None,
        };
        // Inputs first: a changed plugin is drift, before the loader calls it a pin mismatch.
        let source = fingerprint::read_source(&state.source_path, StopCode::Drift)?;
        let mut now = fingerprint::inputs(&plan, &request.plan, &source)?;
        let recorded_inputs = fingerprint::Fingerprint {
            store_digest: None,
            ..state.fingerprint.clone()
        };
        fingerprint::compare(&recorded_inputs, &now)?;
        if let Some(key) = &resumer {
            let dir = folder.ensure_subdir(kb::RESUMES_DIR, "the resumes folder")?;
            let n = dir.names().map(|d| d.len()).unwrap_or(0) + 1;
            let path = format!("{}/{n:03}-{}.json", kb::RESUMES_DIR, key.key_id());
            sign_statement(&folder, &path, key, &state, approval::StartKind::Resume)?;
        }
        let inputs = RunInputs {
            plan,
            trust,
            source: source.into(),
        };
        let mut runner = assemble(
            inputs,
            &host,
            state.clone(),
            folder.clone(),
            kill,
            commit_hooks,
        )?;
        store = runner.store.clone();
        if runner.reconcile_with_store()? {
            latest = Some(runner.state().clone());
        }
        now.store_digest = runner.store_digest()?;
        fingerprint::compare(&runner.state().fingerprint, &now)?;
        Ok(runner.drive())
    })();
    let outcome = match check {
        Ok(outcome) => outcome,
        Err(stop) => Outcome::Stopped(write_early_stop(&folder, latest.unwrap_or(state), stop)),
    };
    Ok(settle(&folder, &store, outcome, &mut after_barrier))
}

/// Refused without a stop document: a run already completed or stopped
/// (its record stands as it is).
fn check_resumable(status: &Status) -> Result<(), Stop> {
    match status {
        Status::Paused { .. } | Status::Running => Ok(()),
        Status::Completed => Err(Stop::new(
            StopCode::InvariantFailed,
            "the run is already complete; nothing to resume",
        )),
        Status::Stopped { code, .. } => Err(Stop::new(
            *code,
            format!("the run stopped with {code}; a stopped run is not resumed, start a new one"),
        )),
    }
}
