//! Approval gates as a list in the plan: one gate, no gate, and names the
//! plan does not define.

use crate::orchestrator::{Pipeline, assert_paused, assert_stopped, document_rows};
use phasehost::StopCode;
use phasehost::run::state::{Mode, RunState, Status};
use phasehost::run::{self, Outcome};
use phasehost_policy::approval::{self, ApprovalStatement, Gate};

/// One gate, `release`, before omega, bound to beta's digest.
const ONE_GATE: &str =
    "[[approvals.gates]]\nname = \"release\"\nbefore = \"omega\"\ndigest = \"beta.digest\"\n";

fn release() -> Gate {
    Gate::new("release").unwrap()
}

/// How many files there are under the run's `approvals/` (none if absent).
fn approval_files(folder: &std::path::Path) -> usize {
    crate::support::grep_tree(&folder.join("approvals"), "").len()
}

fn one_gate_run(live: bool) {
    let p = Pipeline::with_approvals(ONE_GATE);
    let (folder, outcome) = p.start(live);
    assert_paused(&outcome, release());
    let state = RunState::load(&folder).unwrap();
    assert!(
        matches!(&state.status, Status::Paused { before_phase, .. } if before_phase == "omega"),
        "{:?}",
        state.status
    );
    let status = run::status(&folder, Some(&p.plan.path)).unwrap();
    assert!(
        status.contains("paused at release before omega"),
        "{status}"
    );
    assert!(status.contains("--gate release"), "{status}");
    p.approve(&folder, release());
    assert_eq!(p.resume(&folder), Outcome::Completed);
    let state = RunState::load(&folder).unwrap();
    assert_eq!(state.mode, if live { Mode::Live } else { Mode::Dry });
    assert_eq!(state.phases.len(), 4);
    assert_eq!(
        std::fs::read_dir(folder.join("approvals")).unwrap().count(),
        1,
        "one gate, one approvals folder"
    );
    let omega: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("evidence/04-omega.json")).unwrap())
            .unwrap();
    assert_eq!(
        omega["inputs_added"]["@release"]["gate"], "release",
        "{omega}"
    );
    assert!(omega["inputs_added"].get("@sg1").is_none(), "{omega}");
    assert_eq!(document_rows(&p.store_path()), i64::from(live));
}

#[test]
fn a_plan_with_one_approval_gate_runs_end_to_end_live() {
    one_gate_run(true);
}

#[test]
fn a_plan_with_one_approval_gate_runs_end_to_end_dry() {
    one_gate_run(false);
}

#[test]
fn a_plan_without_approval_gates_runs_without_a_pause() {
    for live in [false, true] {
        let p = Pipeline::with_approvals("");
        let (folder, outcome) = p.start(live);
        assert_eq!(outcome, Outcome::Completed, "live: {live}");
        assert_eq!(approval_files(&folder), 0);
        assert_eq!(RunState::load(&folder).unwrap().phases.len(), 4);
    }
}

#[test]
fn approve_and_review_refuse_a_gate_the_plan_does_not_define() {
    let p = Pipeline::with_approvals(ONE_GATE);
    let (folder, outcome) = p.start(false);
    assert_paused(&outcome, release());
    for other in [crate::support::sg1(), Gate::new("releas").unwrap()] {
        let err =
            crate::support::approve(&folder, other.clone(), &p.key, &p.plan.path).unwrap_err();
        assert_eq!(err.code, StopCode::ApprovalMismatch, "{err}");
        assert!(
            err.message
                .contains(&format!("no approval gate `{other}`; its gates: release")),
            "{err}"
        );
        let err = run::review(&folder, &p.plan.path, Some(other)).unwrap_err();
        assert!(err.message.contains("its gates: release"), "{err}");
    }
    assert_eq!(approval_files(&folder), 0, "nothing was signed");
}

#[test]
fn an_approval_signed_for_sg1_does_not_open_a_gate_named_differently() {
    let p = Pipeline::with_approvals(&ONE_GATE.replace("release", "sg1b"));
    let (folder, outcome) = p.start(false);
    let gate = Gate::new("sg1b").unwrap();
    assert_paused(&outcome, gate.clone());
    let Status::Paused {
        evidence_digest, ..
    } = RunState::load(&folder).unwrap().status
    else {
        panic!("paused");
    };
    // Signed for `sg1` (same run, same digest), put in sg1b's folder.
    let signing = approval::load_signing_key(&p.key).unwrap();
    let statement = ApprovalStatement::new(
        RunState::load(&folder).unwrap().run_id,
        crate::support::sg1(),
        evidence_digest,
        phasehost::run::ids::now_secs(),
        3600,
        signing.key_id(),
    );
    let signed = approval::sign(statement, signing.signing_key());
    let dir = folder.join("approvals/sg1b");
    std::fs::create_dir_all(&dir).unwrap();
    approval::save_approval(&dir.join(format!("{}.json", signing.key_id())), &signed).unwrap();
    let stop = assert_stopped(&p.resume(&folder), StopCode::ApprovalMismatch, &folder);
    assert!(stop.message.contains("gate"), "{stop}");
}
