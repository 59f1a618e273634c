//! Drift, corrupt state, KB failures, secrets and failing gates: each stops
//! the run with its own code and a stop document.

use crate::orchestrator::*;
use crate::support::*;
use phasehost::StopCode;
use phasehost_test_artifacts::*;

fn paused() -> (Pipeline, std::path::PathBuf) {
    let p = Pipeline::new();
    let (folder, outcome) = p.start(true);
    assert_paused(&outcome, crate::support::sg1());
    (p, folder)
}

#[test]
fn resume_after_the_source_changed_is_drift() {
    let (p, folder) = paused();
    std::fs::write(&p.source, "Điều 1. Đã sửa.\n").unwrap();
    let stop = assert_stopped(&p.resume(&folder), StopCode::Drift, &folder);
    assert!(stop.message.contains("source"), "{stop}");
}

#[test]
fn resume_after_the_plan_changed_is_drift() {
    let (p, folder) = paused();
    p.plan.rewrite(|t| t + "\n# edited while paused\n");
    let stop = assert_stopped(&p.resume(&folder), StopCode::Drift, &folder);
    assert!(stop.message.contains("plan"), "{stop}");
}

#[test]
fn resume_after_a_plugin_changed_is_drift() {
    let (p, folder) = paused();
    std::fs::copy(TEST_GATES_COMPONENT, &p.beta_component).unwrap();
    let stop = assert_stopped(&p.resume(&folder), StopCode::Drift, &folder);
    assert!(stop.message.contains("plugin `beta`"), "{stop}");
}

#[test]
fn resume_after_a_store_row_changed_is_drift() {
    let p = Pipeline::new();
    let folder = p.to_sg2(true);
    let conn = rusqlite::Connection::open(p.store_path()).unwrap();
    conn.execute(
        "UPDATE documents SET title = 'tampered' WHERE document_id = 'doc'",
        [],
    )
    .unwrap();
    drop(conn);
    p.approve(&folder, crate::support::sg2());
    let stop = assert_stopped(&p.resume(&folder), StopCode::Drift, &folder);
    assert!(stop.message.contains("store"), "{stop}");
}

#[test]
fn a_corrupt_state_file_is_refused_on_resume() {
    let (p, folder) = paused();
    let path = folder.join("state.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &text[..text.len() / 3]).unwrap();
    let err = crate::support::resume(&folder, &p.plan.path, &p.host_config).unwrap_err();
    assert_eq!(err.code, StopCode::CorruptState);
    assert!(err.message.contains("damaged"), "{err}");
    // The run folder records the stop; the damaged state is left as it was.
    let stop: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("stop.json")).unwrap()).unwrap();
    assert_eq!(stop["code"], "corrupt-state", "{stop}");
    assert_eq!(stop["exit_status"], StopCode::CorruptState.exit_status());
    assert_eq!(
        stop["run_id"].as_str(),
        folder.file_name().and_then(|n| n.to_str())
    );
    assert!(
        stop["message"].as_str().unwrap().contains("damaged"),
        "{stop}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text[..text.len() / 3]
    );
}

#[test]
fn an_unwritable_kb_stops_with_kb_write_failed() {
    let (p, folder) = paused();
    p.approve(&folder, crate::support::sg1());
    // Make write1's evidence document impossible to write (root ignores
    // permissions, so occupy its path with a folder).
    std::fs::create_dir_all(folder.join("evidence/02-write1.json/x")).unwrap();
    assert_stopped(&p.resume(&folder), StopCode::KbWriteFailed, &folder);
    assert_eq!(
        document_rows(&p.store_path()),
        0,
        "the phase's write was rolled back"
    );
}

const PLANTED: &str = "AKIAQWERTYUIOPASDFGH";

#[test]
fn a_secret_in_a_log_line_stops_the_run_and_is_written_nowhere() {
    let config = format!("mode = \"log\"\nmessage = \"connecting with {PLANTED}\"");
    let p = Pipeline::with(&[], "");
    p.plan.rewrite(|t| {
        t.replacen(
            &format!("mode = \"echo\"\nemit = {{ digest = \"{DIGEST_A}\" }}"),
            &format!("{config}\nemit = {{ digest = \"{DIGEST_A}\" }}"),
            1,
        )
    });
    let (folder, outcome) = p.start(false);
    let stop = assert_stopped(&outcome, StopCode::SecretDetected, &folder);
    assert!(!stop.message.contains(PLANTED), "{stop}");
    assert!(
        grep_tree(p.dir(), PLANTED)
            .iter()
            .all(|f| f.ends_with("plan.toml")),
        "{:?}",
        grep_tree(p.dir(), PLANTED)
    );
}

#[test]
fn a_secret_in_evidence_stops_the_run_and_is_written_nowhere() {
    let p = Pipeline::new();
    p.plan.rewrite(|t| {
        t.replacen(
            &format!("digest = \"{DIGEST_A}\""),
            &format!("digest = \"{DIGEST_A}\", note = \"{PLANTED}\""),
            1,
        )
    });
    let (folder, outcome) = p.start(false);
    let stop = assert_stopped(&outcome, StopCode::SecretDetected, &folder);
    assert!(!stop.message.contains(PLANTED), "{stop}");
    let hits = grep_tree(p.dir(), PLANTED);
    assert!(hits.iter().all(|f| f.ends_with("plan.toml")), "{hits:?}");
}

fn with_extra_phase(name: &'static str, gates_before: &str) -> Pipeline {
    let def = PhaseDef::new(name, TEST_PROBE_COMPONENT)
        .grants(PROBE_GRANTS)
        .config("mode = \"echo\"");
    let p = Pipeline::with(&[def], "");
    if !gates_before.is_empty() {
        p.plan.rewrite(|t| {
            t.replace(
                &format!("name = \"{name}\"\n"),
                &format!("name = \"{name}\"\ngates_before = [\"{gates_before}\"]\n"),
            )
        });
    }
    p
}

fn stops_before_sg2_with(p: &Pipeline, code: StopCode) -> phasehost::Stop {
    let (folder, outcome) = p.start(false);
    assert_paused(&outcome, crate::support::sg1());
    p.approve(&folder, crate::support::sg1());
    assert_stopped(&p.resume(&folder), code, &folder)
}

#[test]
fn a_false_predicate_stops_the_run() {
    let stop = stops_before_sg2_with(&with_extra_phase("epsilon", ""), StopCode::InvariantFailed);
    assert!(stop.message.contains("T-FAILS"), "{stop}");
}

#[test]
fn an_erroring_predicate_fails_closed() {
    let stop = stops_before_sg2_with(&with_extra_phase("gamma", ""), StopCode::InvariantFailed);
    assert!(stop.message.contains("T-ERRORS"), "{stop}");
}

#[test]
fn a_trapping_predicate_fails_closed() {
    let stop = stops_before_sg2_with(&with_extra_phase("delta", ""), StopCode::InvariantFailed);
    assert!(
        stop.message.contains("T-TRAPS") && stop.message.contains("failed closed"),
        "{stop}"
    );
}

#[test]
fn an_unknown_predicate_fails_closed_before_anything_runs() {
    let p = with_extra_phase("zeta", "T-NOBODY");
    let (folder, outcome) = p.start(false);
    let stop = assert_stopped(&outcome, StopCode::PlanInvalid, &folder);
    assert!(
        stop.message.contains("T-NOBODY") && stop.message.contains("no gate plugin"),
        "{stop}"
    );
    assert!(
        !folder.join("evidence/01-alpha.json").exists(),
        "nothing ran"
    );
}

#[test]
fn a_flag_predicate_reads_the_evidence() {
    let p = Pipeline::new();
    p.plan.rewrite(|t| t.replace("ok = true", "ok = false"));
    let (folder, outcome) = p.start(false);
    assert_paused(&outcome, crate::support::sg1());
    p.approve(&folder, crate::support::sg1());
    let stop = assert_stopped(&p.resume(&folder), StopCode::InvariantFailed, &folder);
    assert!(stop.message.contains("T-FLAG"), "{stop}");
}

#[test]
fn a_trapping_phase_writes_a_stop_document() {
    let p = Pipeline::new();
    p.plan
        .rewrite(|t| t.replacen("mode = \"echo\"", "mode = \"trap\"", 1));
    let (folder, outcome) = p.start(false);
    let stop = assert_stopped(&outcome, StopCode::PluginTrap, &folder);
    assert_eq!(stop.phase.as_deref(), Some("alpha"));
}

#[test]
fn a_phase_that_differs_between_two_fresh_instances_stops_as_nondeterministic() {
    // write1 inserts a row: run twice on the same input, the first run
    // inserts 1 and the second (idempotent) 0, so the evidence differs.
    let p = Pipeline::new();
    p.plan.rewrite(|t| {
        t.replace(
            "name = \"write1\"\n",
            "name = \"write1\"\nrun_twice = true\n",
        )
    });
    let (folder, outcome) = p.start(true);
    assert_paused(&outcome, crate::support::sg1());
    p.approve(&folder, crate::support::sg1());
    let stop = assert_stopped(&p.resume(&folder), StopCode::NondeterministicPlan, &folder);
    assert_eq!(stop.phase.as_deref(), Some("write1"));
    assert_eq!(document_rows(&p.store_path()), 0, "rolled back");
}
