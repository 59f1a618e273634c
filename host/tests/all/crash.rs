//! A real crash in every phase of a live iu-cut run: the process is killed
//! with SIGKILL right before the phase's store commit and, in a second
//! run, right after it (before the state file records the phase). Resuming
//! with the operator's commands must finish the run with every planned unit
//! stored exactly once, one checkpoint per phase and one evidence record
//! per phase — nothing lost, nothing duplicated, no phase adopted without
//! its commit.
//!
//! The killed process is this test binary itself, started again on the
//! ignored test [`child`] with the step to take in its environment; the
//! run's commit hooks kill it at the named phase.

use crate::iu_cut::IuCut;
use crate::support::corpus;
use phasehost::run::state::{RunState, Status};
use phasehost::run::{self, Outcome, ResumeRequest, RunHooks, StartRequest};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A small act that cuts cleanly: the crash tests run it 22 times.
const SOURCE: &str = "luat-quy-dinh-quyen-tu-do-hoi-hop.txt";

const ENV_PHASE: &str = "PHASEHOST_CRASH_PHASE";
const ENV_POINT: &str = "PHASEHOST_CRASH_POINT";
const ENV_PLAN: &str = "PHASEHOST_CRASH_PLAN";
const ENV_HOST: &str = "PHASEHOST_CRASH_HOST_CONFIG";
/// `start:<source>` or `resume:<run folder>`.
const ENV_STEP: &str = "PHASEHOST_CRASH_STEP";

/// Where the process dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Point {
    /// Inside the phase's transaction: its writes and checkpoint not committed.
    BeforeCommit,
    /// Committed, but the state file does not record the phase yet.
    AfterCommit,
}

impl Point {
    fn as_str(self) -> &'static str {
        match self {
            Point::BeforeCommit => "before-commit",
            Point::AfterCommit => "after-commit",
        }
    }
}

macro_rules! crash_in_every_phase {
    ($($phase:ident),* $(,)?) => {
        $(#[test]
        fn $phase() {
            for point in [Point::BeforeCommit, Point::AfterCommit] {
                crash_and_recover(stringify!($phase), point);
            }
        })*
    };
}

crash_in_every_phase!(
    source_pin,
    mark,
    cutplan,
    pre_write_backup,
    grant_probe,
    cut_leg_a,
    structural_verify,
    leg_b_record,
    write_verify,
    lifecycle_enact,
    closeout,
);

/// The process the crash tests start and kill: one run step (a live start
/// or a resume) with commit hooks that SIGKILL this process at the phase
/// and point its environment names. Run only by [`crash_and_recover`].
#[test]
#[ignore = "the killed child of the crash tests; they run it with --ignored"]
fn child() {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by the crash tests"))
    };
    let phase = var(ENV_PHASE);
    let point = var(ENV_POINT);
    let plan = PathBuf::from(var(ENV_PLAN));
    let host_config = PathBuf::from(var(ENV_HOST));
    let kill_at = |at: &'static str| {
        let (phase, point) = (phase.clone(), point.clone());
        Box::new(move |committing: &str| {
            if committing == phase && point == at {
                kill_this_process();
            }
        }) as Box<dyn FnMut(&str) + Send>
    };
    let hooks = RunHooks {
        before_commit: Some(kill_at("before-commit")),
        after_commit: Some(kill_at("after-commit")),
        ..RunHooks::default()
    };
    let step = var(ENV_STEP);
    let report = match step.split_once(':') {
        Some(("start", source)) => run::start_with(
            &StartRequest {
                plan,
                source: PathBuf::from(source),
                live: true,
                host_config: Some(host_config),
                as_key: None,
            },
            hooks,
        ),
        Some(("resume", folder)) => run::resume_hooked(
            &ResumeRequest {
                run_folder: PathBuf::from(folder),
                plan,
                host_config: Some(host_config),
                as_key: None,
            },
            hooks,
        ),
        _ => panic!("unknown step {step}"),
    }
    .unwrap_or_else(|stop| panic!("the step was refused: {stop}"));
    assert!(
        matches!(report.outcome, Outcome::Paused { .. }),
        "a step that does not reach the crash phase pauses at a gate: {:?}",
        report.outcome
    );
}

fn kill_this_process() -> ! {
    let _ = Command::new("kill")
        .args(["-KILL", &std::process::id().to_string()])
        .status();
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

/// Run `step` in a child that dies at (`phase`, `point`); true when it was
/// killed there, false when the step paused at a gate before reaching it.
fn step_in_child(iu: &IuCut, phase: &str, point: Point, step: &str) -> bool {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash::child", "--ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(ENV_PHASE, phase)
        .env(ENV_POINT, point.as_str())
        .env(ENV_PLAN, &iu.plan)
        .env(ENV_HOST, &iu.host_config)
        .env(ENV_STEP, step)
        .output()
        .unwrap();
    if out.status.signal() == Some(SIGKILL) {
        return true;
    }
    assert!(
        out.status.success(),
        "the child failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    false
}

/// SIGKILL's number (9 on every platform this runs on).
const SIGKILL: i32 = 9;

fn only_run_folder(iu: &IuCut) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(iu.dir.path().join("kb/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "one run: {runs:?}");
    runs.into_iter().next().unwrap()
}

fn checkpoints(iu: &IuCut, run_id: &str) -> i64 {
    iu.query(&format!(
        "SELECT count(*) FROM run_checkpoints WHERE run_id = '{run_id}'"
    ))
}

fn crash_and_recover(phase: &str, point: Point) {
    let iu = IuCut::new(|_| {});
    let index = iu_phases::PHASES
        .iter()
        .position(|p| *p == phase)
        .unwrap_or_else(|| panic!("{phase} is an iu-cut phase"));
    let source = corpus(SOURCE);
    // Take the run's steps in the child until it dies in `phase`, approving
    // each gate it pauses at on the way.
    let mut step = format!("start:{}", source.display());
    loop {
        let killed = step_in_child(&iu, phase, point, &step);
        let folder = only_run_folder(&iu);
        if killed {
            break;
        }
        approve_waiting_gate(&iu, &folder);
        step = format!("resume:{}", folder.display());
    }
    let folder = only_run_folder(&iu);
    let state = RunState::load(&folder).unwrap();
    assert_eq!(state.status, Status::Running, "{phase} {point:?}");
    assert_eq!(
        state.next_phase, index,
        "{phase} {point:?}: the state file does not record the phase"
    );
    let committed = match point {
        Point::BeforeCommit => index,
        Point::AfterCommit => index + 1,
    };
    assert_eq!(
        checkpoints(&iu, &state.run_id),
        committed as i64,
        "{phase} {point:?}: the store holds the phases committed before the kill"
    );
    // The operator resumes (and approves what waits) until the run completes.
    let mut outcome = resume(&iu, &folder);
    while let Outcome::Paused { .. } = outcome {
        approve_waiting_gate(&iu, &folder);
        outcome = resume(&iu, &folder);
    }
    assert!(
        matches!(outcome, Outcome::Completed),
        "{phase} {point:?}: {outcome:?}"
    );
    assert_cut_exactly_once(&iu, &folder, phase, point);
}

fn resume(iu: &IuCut, folder: &Path) -> Outcome {
    crate::support::resume(folder, &iu.plan, &iu.host_config)
        .unwrap_or_else(|stop| panic!("resume refused: {stop}"))
        .outcome
}

fn approve_waiting_gate(iu: &IuCut, folder: &Path) {
    let state = RunState::load(folder).unwrap();
    let Status::Paused { gate, .. } = state.status else {
        panic!("the run waits at a gate: {:?}", state.status);
    };
    crate::support::approve(folder, gate, &iu.key, &iu.plan).unwrap();
}

fn assert_cut_exactly_once(iu: &IuCut, folder: &Path, phase: &str, point: Point) {
    let state = RunState::load(folder).unwrap();
    let what = format!("{phase} {point:?}");
    let phases: Vec<&str> = state.phases.iter().map(|r| r.phase.as_str()).collect();
    assert_eq!(phases, iu_phases::PHASES, "{what}: one record per phase");
    assert_eq!(checkpoints(iu, &state.run_id), 11, "{what}");
    let planned = crate::iu_cut::evidence(folder, "cut_leg_a")["units_planned"]
        .as_i64()
        .unwrap();
    assert!(planned > 0, "{what}");
    assert_eq!(iu.query("SELECT count(*) FROM units"), planned, "{what}");
    assert_eq!(
        iu.query("SELECT count(*) FROM envelopes"),
        planned,
        "{what}"
    );
    assert_eq!(
        iu.query(
            "SELECT count(*) FROM (SELECT eid FROM units \
             GROUP BY document_id, eid HAVING count(*) > 1)"
        ),
        0,
        "{what}: no unit twice"
    );
    assert_eq!(
        iu.query("SELECT count(*) FROM source_versions"),
        1,
        "{what}"
    );
    let verified = crate::support::phasehost_command()
        .arg("verify-index")
        .arg(&iu.plan)
        .output()
        .unwrap();
    assert!(verified.status.success(), "{what}: {verified:?}");
}
