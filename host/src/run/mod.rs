//! Runs: start, resume, approve, status. The rules operators and security
//! reviewers trust live here: the state machine, fail-closed gates, signed
//! approvals, the kill-switch, the drift check and the KB documents.

pub mod batch;
mod checkpoint;
mod fingerprint;
mod gates;
pub mod host_config;
pub mod ids;
mod kb;
pub mod kill_switch;
mod runner;
mod secret_scan;
pub mod state;
mod store_open;
pub mod worker;

pub use gates::GateSet;
pub use kb::RunFolder;
pub use runner::{Outcome, Runner};
pub use secret_scan::SecretScanner;

use crate::plan::{Plan, load_plan};
use crate::runtime::Runtime;
use crate::stop::{Stop, StopCode};
use host_config::HostConfig;
use kill_switch::KillSwitch;
use phasehost_policy::approval::{self, FileLedger, Gate, TrustStore};
use state::{Mode, RunState, STATE_FORMAT, Status};
use std::collections::BTreeMap;
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
}

/// Called with a new run's id; an `Err` stops the run before any phase.
pub type OnCreated<'a> = &'a mut dyn FnMut(&str) -> Result<(), Stop>;

/// What a queue worker adds to a run: a callback once the run has its id
/// (before any phase runs), and the flag its lease keeper sets when the
/// lease is lost (it engages the kill-switch).
#[derive(Default)]
pub struct RunHooks<'a> {
    /// Called with the new run's id after its folder and state exist.
    pub on_created: Option<OnCreated<'a>>,
    /// Set when the worker no longer holds the document's lease.
    pub lease_lost: Option<Arc<AtomicBool>>,
}

fn plan_stop(e: impl std::fmt::Display) -> Stop {
    Stop::new(StopCode::PlanInvalid, e.to_string())
}

/// The consumed-approvals ledger of a KB.
fn ledger(kb: &Path) -> Result<FileLedger, Stop> {
    FileLedger::open(&kb.join("consumed-approvals.jsonl"))
        .map_err(|e| Stop::new(StopCode::KbWriteFailed, format!("approval ledger: {e}")))
}

fn trust(plan: &Plan) -> Result<TrustStore, Stop> {
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

/// Load everything a run needs; `state` is the run's saved or new state.
fn assemble(
    plan: Plan,
    state: RunState,
    folder: RunFolder,
    kill: KillSwitch,
) -> Result<Runner, Stop> {
    let source: Arc<[u8]> = std::fs::read(&state.source_path)
        .map_err(|e| {
            Stop::new(
                StopCode::UnknownDocument,
                format!("cannot read source {}: {e}", state.source_path.display()),
            )
        })?
        .into();
    let runtime = Runtime::shared(&plan.resolve(&plan.runtime.cache_dir)).map_err(|e| {
        Stop::new(
            StopCode::Internal,
            format!("cannot start the wasm engine: {e:#}"),
        )
    })?;
    let mut gates = Vec::new();
    for spec in &plan.gates {
        gates.push(runtime.load_gate(&plan, spec).map_err(|e| e.to_stop())?);
    }
    let gates = GateSet::new(gates)?;
    let mut phases = Vec::new();
    for spec in &plan.phases {
        phases.push(
            runtime
                .load_phase(&plan, spec)
                .map_err(|e| e.to_stop().in_phase(&spec.name))?,
        );
    }
    let store = store_open::open(&plan)?;
    let kb = plan.resolve(&plan.kb.path);
    Ok(Runner {
        trust: trust(&plan)?,
        ledger: ledger(&kb)?,
        plan,
        runtime,
        phases,
        gates,
        store,
        folder,
        state,
        source,
        kill,
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

/// [`start`] with a worker's hooks.
pub fn start_with(request: &StartRequest, hooks: RunHooks<'_>) -> Result<RunReport, Stop> {
    let plan = load_plan(&request.plan).map_err(plan_stop)?;
    let host = HostConfig::load(request.host_config.as_deref())?;
    let kb = plan.resolve(&plan.kb.path);
    let kill = KillSwitch::new(host.kill_file(&kb)).with_lease(hooks.lease_lost);
    let mode = if request.live { Mode::Live } else { Mode::Dry };
    if request.live {
        if !host.execution.enabled {
            return Err(Stop::new(
                StopCode::ExecutionDisabled,
                "--live was given, but the host config does not set `[execution] enabled = true`",
            ));
        }
        if kill.engaged() {
            return Err(Stop::new(
                StopCode::KillSwitch,
                format!("kill file {} exists", kill.file().display()),
            ));
        }
    }
    let document_id = ids::document_id(&request.source)?;
    let fingerprint = fingerprint::inputs(&plan, &request.plan, &request.source)?;
    let run_id = ids::new_run_id(
        &document_id,
        &fingerprint.plan_sha256,
        &fingerprint.source_sha256,
    );
    let folder = RunFolder::create(&kb, &run_id)?;
    let state = RunState {
        format: STATE_FORMAT,
        run_id,
        plan_path: absolute(&request.plan),
        source_path: absolute(&request.source),
        host_config: request.host_config.as_deref().map(absolute),
        document_id,
        version: ids::version_label(&fingerprint.source_sha256),
        mode,
        status: Status::Running,
        next_phase: 0,
        phases: Vec::new(),
        approvals: BTreeMap::new(),
        fingerprint,
        started_at: ids::now_secs(),
    };
    let _held = folder.lock()?;
    state.save(folder.root())?;
    let root = folder.root().to_path_buf();
    if let Some(on_created) = hooks.on_created
        && let Err(stop) = on_created(&state.run_id)
    {
        return Ok(RunReport {
            folder: Some(root),
            outcome: Outcome::Stopped(write_early_stop(&folder, state, stop)),
        });
    }
    let outcome = match assemble(plan, state.clone(), folder.clone(), kill) {
        Ok(mut runner) => runner.drive(),
        Err(stop) => Outcome::Stopped(write_early_stop(&folder, state, stop)),
    };
    Ok(RunReport {
        folder: Some(root),
        outcome,
    })
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A stop before the runner existed: still a stop document and a saved state.
fn write_early_stop(folder: &RunFolder, mut state: RunState, stop: Stop) -> Stop {
    let document = kb::stop_document(&state, &stop);
    let stop = match folder.write_json("stop.json", &document) {
        Ok(_) => stop,
        Err(kb) => kb,
    };
    state.status = Status::Stopped {
        code: stop.code,
        phase: stop.phase.clone(),
    };
    let _ = state.save(folder.root());
    stop
}

/// Resume a paused (or interrupted) run after the drift check.
pub fn resume(run_folder: &Path) -> Result<RunReport, Stop> {
    resume_with(run_folder, None)
}

/// [`resume`] for a worker: `lease_lost` engages the kill-switch.
pub fn resume_with(
    run_folder: &Path,
    lease_lost: Option<Arc<AtomicBool>>,
) -> Result<RunReport, Stop> {
    let folder = RunFolder::open(run_folder);
    let _held = folder.lock()?;
    let state = RunState::load(run_folder)?;
    match &state.status {
        Status::Paused { .. } | Status::Running => {}
        Status::Completed => {
            return Err(Stop::new(
                StopCode::InvariantFailed,
                "the run is already complete; nothing to resume",
            ));
        }
        Status::Stopped { code, .. } => {
            return Err(Stop::new(
                *code,
                format!(
                    "the run stopped with {code}; a stopped run is not resumed, start a new one"
                ),
            ));
        }
    }
    let plan = load_plan(&state.plan_path).map_err(plan_stop)?;
    let host = HostConfig::load(state.host_config.as_deref())?;
    let kill = KillSwitch::new(host.kill_file(&plan.resolve(&plan.kb.path))).with_lease(lease_lost);
    // The state as the store put it right (a phase it had committed), so a
    // stop after that still saves it.
    let mut latest: Option<RunState> = None;
    let check = (|| {
        if state.mode == Mode::Live && !host.execution.enabled {
            return Err(Stop::new(
                StopCode::ExecutionDisabled,
                "the host config no longer enables live execution",
            ));
        }
        // Inputs first: a changed plugin is drift, before the loader calls it a pin mismatch.
        let mut now = fingerprint::inputs(&plan, &state.plan_path, &state.source_path)?;
        let recorded_inputs = fingerprint::Fingerprint {
            store_digest: None,
            ..state.fingerprint.clone()
        };
        fingerprint::compare(&recorded_inputs, &now)?;
        let mut runner = assemble(plan, state.clone(), folder.clone(), kill)?;
        if runner.recover_committed_phase()? {
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
    Ok(RunReport {
        folder: Some(run_folder.to_path_buf()),
        outcome,
    })
}

/// A signed approval, written.
#[derive(Debug, Clone)]
pub struct Approved {
    /// The approval file in the run folder.
    pub file: PathBuf,
    /// Whether the run's document was waiting in the PostgreSQL queue and
    /// is now claimable again (a worker resumes it).
    pub requeued: bool,
}

/// Sign an approval for the gate a run is paused at, with the key in
/// `key_file`; the digest is read from the run folder. A document waiting in
/// the plan's PostgreSQL queue becomes claimable again.
pub fn approve(run_folder: &Path, gate: Gate, key_file: &Path) -> Result<Approved, Stop> {
    let state = RunState::load(run_folder)?;
    let Status::Paused {
        gate: waiting,
        evidence_digest,
        ..
    } = &state.status
    else {
        return Err(Stop::new(
            StopCode::ApprovalMismatch,
            "the run is not paused at an approval gate",
        ));
    };
    if *waiting != gate {
        return Err(Stop::new(
            StopCode::ApprovalMismatch,
            format!("the run is paused at {waiting}, not {gate}"),
        ));
    }
    let plan = load_plan(&state.plan_path).map_err(plan_stop)?;
    let ttl = match gate {
        Gate::Sg1 => plan.approvals.sg1_ttl_secs,
        Gate::Sg2 => plan.approvals.sg2_ttl_secs,
    };
    let key = approval::load_signing_key(key_file)
        .map_err(|e| Stop::new(StopCode::ApprovalInvalid, e.to_string()))?;
    let statement = approval::ApprovalStatement::new(
        state.run_id.clone(),
        gate,
        evidence_digest.clone(),
        ids::now_secs(),
        ttl,
        key.key_id().to_string(),
    );
    let signed = approval::sign(statement, key.signing_key());
    let label = match gate {
        Gate::Sg1 => "sg1",
        Gate::Sg2 => "sg2",
    };
    let path = RunFolder::open(run_folder).approval(label);
    approval::save_approval(&path, &signed).map_err(|e| {
        Stop::new(
            StopCode::KbWriteFailed,
            format!("cannot write {}: {e}", path.display()),
        )
    })?;
    let requeued = plan.store.postgres.is_some()
        && worker::release_waiting(&plan, &state.run_id).map_err(|stop| {
            Stop::new(
                stop.code,
                format!(
                    "the approval is saved at {}, but the queue could not be told: {}",
                    path.display(),
                    stop.message
                ),
            )
        })?;
    Ok(Approved {
        file: path,
        requeued,
    })
}

/// A human-readable status of a run folder.
pub fn status(run_folder: &Path) -> Result<String, Stop> {
    let state = RunState::load(run_folder)?;
    let mut out = format!(
        "run       {}\ndocument  {} ({})\nmode      {}\n",
        state.run_id,
        state.document_id,
        state.version,
        state.mode.as_str()
    );
    let status = match &state.status {
        Status::Running => format!("running (or interrupted) at phase {}", state.next_phase + 1),
        Status::Paused {
            gate,
            evidence_digest,
            before_phase,
        } => format!(
            "paused at {gate} before {before_phase}, waiting for an approval of digest {evidence_digest}\n          next: phasehost approve {} --gate {} --key <key-file>, then phasehost resume {}",
            run_folder.display(),
            if *gate == Gate::Sg1 { "sg1" } else { "sg2" },
            run_folder.display()
        ),
        Status::Stopped { code, phase } => format!(
            "stopped: {code}{} (see stop.json)",
            phase
                .as_deref()
                .map(|p| format!(" in {p}"))
                .unwrap_or_default()
        ),
        Status::Completed => "completed".to_string(),
    };
    out.push_str(&format!("status    {status}\n"));
    for record in &state.phases {
        out.push_str(&format!(
            "  done    {:<20} evidence {}\n",
            record.phase,
            &record.evidence_digest[..16]
        ));
    }
    for (gate, consumed) in &state.approvals {
        out.push_str(&format!("  approved {gate} by key {}\n", consumed.key_id));
    }
    Ok(out)
}
