//! Per-phase checkpoints: a live phase whose writes committed but whose
//! state file was not saved (the process died in between) is adopted from
//! the store on resume, never re-run; a store and run folder that disagree
//! in any other way stop with corrupt-state; a run folder another process
//! holds is left alone.

use crate::iu_cut::IuCut;
use crate::support::corpus;
use phasehost::StopCode;
use phasehost::run::{self, Outcome};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A live run of the Constitution, paused at SG_1 and approved.
fn approved_at_sg1(iu: &IuCut) -> PathBuf {
    let report = run::start(&run::StartRequest {
        plan: iu.plan.clone(),
        source: corpus("hien-phap.txt"),
        live: true,
        host_config: Some(iu.host_config.clone()),
        as_key: None,
    })
    .unwrap();
    let folder = report.folder.unwrap();
    crate::support::approve(&folder, crate::support::sg1(), &iu.key, &iu.plan).unwrap();
    folder
}

/// A live run of the Constitution, paused at SG_2 (write_verify just done).
fn paused_at_sg2(iu: &IuCut) -> (PathBuf, String) {
    let folder = approved_at_sg1(iu);
    let Outcome::Paused {
        gate,
        evidence_digest,
        ..
    } = crate::support::resume(&folder, &iu.plan, &iu.host_config)
        .unwrap()
        .outcome
    else {
        panic!("expected a pause at SG_2");
    };
    assert_eq!(gate, crate::support::sg2());
    (folder, evidence_digest)
}

/// Rewind the state file by `phases` phases, as if the process had died
/// after the store commit and before the state was saved.
fn rewind_state(folder: &Path, phases: usize) {
    let path = folder.join("state.json");
    let mut state: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let records = state["phases"].as_array_mut().unwrap();
    let keep = records.len() - phases;
    records.truncate(keep);
    state["next_phase"] = keep.into();
    state["status"] = serde_json::json!({"status": "running"});
    state["fingerprint"]["store_digest"] = "0".repeat(64).into();
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
}

fn resume_outcome(iu: &IuCut, folder: &Path) -> Outcome {
    crate::support::resume(folder, &iu.plan, &iu.host_config)
        .unwrap()
        .outcome
}

#[test]
fn a_phase_committed_before_its_state_was_saved_is_adopted_not_rerun() {
    let iu = IuCut::new(|_| {});
    let (folder, digest) = paused_at_sg2(&iu);
    let units = iu.query("SELECT count(*) FROM units");
    let logged = std::fs::read_to_string(folder.join("log.jsonl")).unwrap_or_default();
    rewind_state(&folder, 1);
    match resume_outcome(&iu, &folder) {
        Outcome::Paused {
            gate,
            evidence_digest,
            ..
        } if gate.as_str() == "sg2" => assert_eq!(evidence_digest, digest),
        other => panic!("expected the same SG_2 pause, got {other:?}"),
    }
    let state = phasehost::run::state::RunState::load(&folder).unwrap();
    assert_eq!(state.phases.last().unwrap().phase, "write_verify");
    assert_eq!(iu.query("SELECT count(*) FROM units"), units);
    let relogged = std::fs::read_to_string(folder.join("log.jsonl")).unwrap_or_default();
    assert_eq!(logged, relogged, "write_verify did not run again");
}

#[test]
fn a_committed_phase_whose_evidence_differs_stops_with_corrupt_state() {
    let iu = IuCut::new(|_| {});
    let (folder, _) = paused_at_sg2(&iu);
    rewind_state(&folder, 1);
    let evidence = folder.join("evidence/09-write_verify.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&evidence).unwrap()).unwrap();
    doc["evidence"]["verify_digest"] = "f".repeat(64).into();
    std::fs::write(&evidence, serde_json::to_vec(&doc).unwrap()).unwrap();
    match resume_outcome(&iu, &folder) {
        Outcome::Stopped(stop) => {
            assert_eq!(stop.code, StopCode::CorruptState, "{stop}");
            assert!(stop.message.contains("write_verify"), "{stop}");
        }
        other => panic!("expected corrupt-state, got {other:?}"),
    }
}

#[test]
fn a_store_two_phases_ahead_of_the_state_stops_with_corrupt_state() {
    let iu = IuCut::new(|_| {});
    let (folder, _) = paused_at_sg2(&iu);
    rewind_state(&folder, 2);
    match resume_outcome(&iu, &folder) {
        Outcome::Stopped(stop) => assert_eq!(stop.code, StopCode::CorruptState, "{stop}"),
        other => panic!("expected corrupt-state, got {other:?}"),
    }
}

/// What a power loss between two barriers can leave: each is refused on
/// resume with corrupt-state, never used.
fn assert_corrupt(iu: &IuCut, folder: &Path, names: &str) {
    match resume_outcome(iu, folder) {
        Outcome::Stopped(stop) => {
            assert_eq!(stop.code, StopCode::CorruptState, "{stop}");
            assert!(stop.message.contains(names), "{stop}");
        }
        other => panic!("expected corrupt-state, got {other:?}"),
    }
}

#[test]
fn an_emptied_evidence_file_of_a_done_phase_stops_a_resume_with_corrupt_state() {
    let iu = IuCut::new(|_| {});
    let folder = approved_at_sg1(&iu);
    std::fs::write(folder.join("evidence/03-cutplan.json"), b"").unwrap();
    assert_corrupt(&iu, &folder, "03-cutplan.json");
}

#[test]
fn a_truncated_evidence_file_of_a_phase_the_store_committed_stops_with_corrupt_state() {
    let iu = IuCut::new(|_| {});
    let (folder, _) = paused_at_sg2(&iu);
    rewind_state(&folder, 1);
    let evidence = folder.join("evidence/09-write_verify.json");
    let bytes = std::fs::read(&evidence).unwrap();
    std::fs::write(&evidence, &bytes[..bytes.len() / 2]).unwrap();
    assert_corrupt(&iu, &folder, "write_verify");
}

#[test]
fn a_state_ahead_of_the_store_stops_a_resume_with_corrupt_state() {
    let iu = IuCut::new(|_| {});
    let folder = approved_at_sg1(&iu);
    // The store lost its last commit, the state file did not: the state
    // records one phase more than the store's checkpoints.
    let path = folder.join("state.json");
    let mut state: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let next = state["next_phase"].as_u64().unwrap();
    let records = state["phases"].as_array_mut().unwrap();
    let mut extra = records.last().unwrap().clone();
    extra["phase"] = "cut_leg_a".into();
    extra["document"] = "evidence/06-cut_leg_a.json".into();
    records.push(extra);
    state["next_phase"] = (next + 1).into();
    state["status"] = serde_json::json!({"status": "running"});
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
    assert_corrupt(&iu, &folder, "committed");
}

#[test]
fn a_run_folder_another_process_holds_is_not_resumed_nor_marked() {
    let iu = IuCut::new(|_| {});
    let folder = approved_at_sg1(&iu);
    let before = std::fs::read(folder.join("state.json")).unwrap();
    let held = run::RunFolder::open(&folder).unwrap().lock().unwrap();
    let refused = crate::support::resume(&folder, &iu.plan, &iu.host_config).unwrap_err();
    assert!(refused.message.contains("in use by another"), "{refused}");
    assert_eq!(std::fs::read(folder.join("state.json")).unwrap(), before);
    assert!(!folder.join("stop.json").exists());
    drop(held);
    assert!(matches!(
        resume_outcome(&iu, &folder),
        Outcome::Paused { gate, .. } if gate.as_str() == "sg2"
    ));
}
