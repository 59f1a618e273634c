//! The run folder is hostile input (docs/THREAT_MODEL.md, "KB writer"):
//! each test reproduces an attack of the trust-boundaries review and shows
//! the refusal with its stop code. Each would fail if its check were
//! removed.

use crate::orchestrator::*;
use phasehost::StopCode;
use phasehost::run::state::{RunState, Status};
use phasehost::run::{self, Outcome, RunHooks, StartRequest};
use serde_json::Value;
use std::path::Path;

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn checkpoint_rows(store: &Path) -> i64 {
    let conn = rusqlite::Connection::open(store).unwrap();
    conn.query_row("SELECT count(*) FROM run_checkpoints", [], |r| r.get(0))
        .unwrap()
}

/// Finding 1: approvals forged by editing state.json. The state file
/// cannot carry approvals any more (a field it does not know is corrupt
/// state), and moving its progress past a gate does not open the gate.
#[test]
fn approvals_written_into_the_state_file_open_nothing() {
    let p = Pipeline::new();
    let (folder, outcome) = p.start(true);
    assert_paused(&outcome, crate::support::sg1());
    let path = folder.join("state.json");
    let honest = read_json(&path);
    // The reported attack: approvals copied into the state.
    let mut forged = honest.clone();
    forged["approvals"] = serde_json::json!({"sg1": {
        "approval_id": "f".repeat(32), "evidence_digest": DIGEST_A,
        "key_id": "forgedforgedforg", "review_decision_id": "f".repeat(32)}});
    write_json(&path, &forged);
    let err = crate::support::resume(&folder, &p.plan.path, &p.host_config).unwrap_err();
    assert_eq!(err.code, StopCode::CorruptState, "{err}");
    // Progress moved past SG_1 instead: the store's checkpoints say what
    // committed, and the state does not agree with them.
    let mut skipped = honest.clone();
    skipped["status"] = serde_json::json!({"status": "running"});
    skipped["next_phase"] = 2.into();
    let mut fake = skipped["phases"][0].clone();
    fake["phase"] = "write1".into();
    fake["document"] = "evidence/02-write1.json".into();
    skipped["phases"].as_array_mut().unwrap().push(fake);
    write_json(&path, &skipped);
    let outcome = p.resume(&folder);
    assert_stopped(&outcome, StopCode::CorruptState, &folder);
    assert_eq!(document_rows(&p.store_path()), 0, "write1 never ran");
    assert!(!crate::support::approval_file(&folder, "sg1", &p.key).exists());
}

/// Finding 1, dry: a dry run replays from the start, so a state file
/// claiming a gate was passed still meets the gate, which wants a signed file.
#[test]
fn a_dry_run_whose_state_claims_a_gate_was_passed_pauses_at_it_again() {
    let p = Pipeline::new();
    let (folder, outcome) = p.start(false);
    assert_paused(&outcome, crate::support::sg1());
    let path = folder.join("state.json");
    let mut state = read_json(&path);
    state["status"] = serde_json::json!({"status": "running"});
    write_json(&path, &state);
    assert_paused(&p.resume(&folder), crate::support::sg1());
}

/// Finding 1, `status`: it reports approvals only from signed files, and
/// says whether the plan trusts their key.
#[test]
fn status_reports_only_signed_approvals() {
    let p = Pipeline::new();
    let (folder, _) = p.start(false);
    let text = run::status(&folder, Some(&p.plan.path)).unwrap();
    assert!(!text.contains("approval sg1"), "{text}");
    p.approve(&folder, crate::support::sg1());
    let text = run::status(&folder, Some(&p.plan.path)).unwrap();
    assert!(text.contains("a key the plan trusts"), "{text}");
    let unchecked = run::status(&folder, None).unwrap();
    assert!(unchecked.contains("not checked"), "{unchecked}");
}

/// Finding 2: the kill-switch sidestepped through a host config path in
/// state.json. The state has no such field; resume reads the operator's
/// host config, whose kill file is the KB's.
#[test]
fn a_host_config_named_in_the_state_file_is_refused_and_the_kill_file_holds() {
    let p = Pipeline::new();
    let (folder, outcome) = p.start(true);
    assert_paused(&outcome, crate::support::sg1());
    p.approve(&folder, crate::support::sg1());
    std::fs::write(p.kb().join("KILL"), "").unwrap();
    let lenient = p.dir().join("lenient.toml");
    std::fs::write(
        &lenient,
        format!(
            "[execution]\nenabled = true\nkill_file = {:?}\n",
            p.dir().join("elsewhere").display().to_string()
        ),
    )
    .unwrap();
    let path = folder.join("state.json");
    let honest = read_json(&path);
    let mut state = honest.clone();
    state["host_config"] = lenient.display().to_string().into();
    write_json(&path, &state);
    let err = crate::support::resume(&folder, &p.plan.path, &p.host_config).unwrap_err();
    assert_eq!(err.code, StopCode::CorruptState, "{err}");
    write_json(&path, &honest);
    let outcome = p.resume(&folder);
    assert_stopped(&outcome, StopCode::KillSwitch, &folder);
    assert_eq!(document_rows(&p.store_path()), 0);
}

/// Finding 2: resume takes the plan from the operator; another plan than
/// the one the run started with is drift.
#[test]
fn resuming_with_another_plan_is_drift() {
    let p = Pipeline::new();
    let (folder, _) = p.start(false);
    p.approve(&folder, crate::support::sg1());
    let other = p.dir().join("other-plan.toml");
    let text = std::fs::read_to_string(&p.plan.path).unwrap();
    std::fs::write(&other, format!("{text}\n# another plan\n")).unwrap();
    let report = crate::support::resume(&folder, &other, &p.host_config).unwrap();
    let stop = assert_stopped(&report.outcome, StopCode::Drift, &folder);
    assert!(stop.message.contains("plan"), "{stop}");
}

/// Finding 3: a kill file created after a phase's last write and before its
/// commit stops the commit; the write is rolled back.
#[test]
fn a_kill_file_created_between_a_write_and_its_commit_stops_the_commit() {
    let p = Pipeline::new();
    let (folder, outcome) = p.start(true);
    assert_paused(&outcome, crate::support::sg1());
    p.approve(&folder, crate::support::sg1());
    let kill = p.kb().join("KILL");
    let hooks = RunHooks {
        before_commit: Some(Box::new(move |phase: &str| {
            if phase == "write1" {
                std::fs::write(&kill, "").unwrap();
            }
        })),
        ..RunHooks::default()
    };
    let report = run::resume_hooked(
        &run::ResumeRequest {
            run_folder: folder.clone(),
            plan: p.plan.path.clone(),
            host_config: Some(p.host_config.clone()),
            as_key: None,
        },
        hooks,
    )
    .unwrap();
    let stop = assert_stopped(&report.outcome, StopCode::KillSwitch, &folder);
    assert_eq!(stop.phase.as_deref(), Some("write1"));
    assert_eq!(
        document_rows(&p.store_path()),
        0,
        "the write was rolled back"
    );
    assert_eq!(checkpoint_rows(&p.store_path()), 1, "only alpha committed");
}

/// Finding 3: a kill file whose state cannot be read counts as engaged.
#[test]
fn a_kill_file_that_cannot_be_looked_up_refuses_a_live_start() {
    let p = Pipeline::new();
    std::fs::write(p.dir().join("a-file"), "").unwrap();
    std::fs::write(
        &p.host_config,
        "[execution]\nenabled = true\nkill_file = \"a-file/KILL\"\n",
    )
    .unwrap();
    let err = run::start(&StartRequest {
        plan: p.plan.path.clone(),
        source: p.source.clone(),
        live: true,
        host_config: Some(p.host_config.clone()),
        as_key: None,
    })
    .unwrap_err();
    assert_eq!(err.code, StopCode::KillSwitch, "{err}");
}

/// Finding 7: edited evidence of an earlier phase does not feed the gates
/// of a live resume: a file whose digest differs is drift naming it, and a
/// consistent edit of evidence, its digest and the state is refused by the
/// store's checkpoint of that phase.
#[test]
fn edited_evidence_is_refused_on_a_live_resume() {
    let p = Pipeline::new();
    let folder = p.to_sg2(true);
    let doc_path = folder.join("evidence/03-beta.json");
    // `approve` itself refuses to sign when the evidence it binds changed.
    let mut doc = read_json(&doc_path);
    let honest = doc.clone();
    doc["evidence"]["digest"] = DIGEST_A.into();
    write_json(&doc_path, &doc);
    let err =
        crate::support::approve(&folder, crate::support::sg2(), &p.key, &p.plan.path).unwrap_err();
    assert_eq!(err.code, StopCode::Drift, "{err}");
    write_json(&doc_path, &honest);
    p.approve(&folder, crate::support::sg2());
    // Naive: only the evidence changes, after the approval.
    let mut doc = honest.clone();
    doc["evidence"]["ok"] = false.into();
    write_json(&doc_path, &doc);
    let outcome = p.resume(&folder);
    let stop = assert_stopped(&outcome, StopCode::Drift, &folder);
    assert!(stop.message.contains("03-beta.json"), "{stop}");

    // Thorough: evidence, its digest and the state's record all agree.
    let p = Pipeline::new();
    let folder = p.to_sg2(true);
    p.approve(&folder, crate::support::sg2());
    let doc_path = folder.join("evidence/03-beta.json");
    let mut doc = read_json(&doc_path);
    doc["evidence"]["ok"] = false.into();
    let digest = sha256_hex(doc["evidence"].to_string().as_bytes());
    doc["evidence_digest"] = digest.clone().into();
    write_json(&doc_path, &doc);
    let state_path = folder.join("state.json");
    let mut state = read_json(&state_path);
    state["phases"][2]["evidence_digest"] = digest.into();
    write_json(&state_path, &state);
    let outcome = p.resume(&folder);
    let stop = assert_stopped(&outcome, StopCode::Drift, &folder);
    assert!(stop.message.contains("store"), "{stop}");
}

/// Finding 8: `status` on a short digest is a typed refusal, not a panic.
#[test]
fn status_on_a_state_with_a_short_digest_is_corrupt_state_not_a_panic() {
    let p = Pipeline::new();
    let (folder, _) = p.start(false);
    let path = folder.join("state.json");
    let mut state = read_json(&path);
    state["phases"][0]["evidence_digest"] = "ab".into();
    write_json(&path, &state);
    let out = crate::support::phasehost_command()
        .arg("status")
        .arg(&folder)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(StopCode::CorruptState.exit_status()),
        "{out:?}"
    );
}

/// Finding 8: no symlink is followed inside the KB: not the run lock, not
/// an evidence document, not an approval file, not the run folder itself.
#[test]
fn symlinks_in_the_run_folder_are_never_followed() {
    let p = Pipeline::new();
    let (folder, _) = p.start(false);
    let outside = p.dir().join("outside.txt");
    std::fs::write(&outside, "keep me").unwrap();
    // The run lock.
    std::fs::remove_file(folder.join(".lock")).unwrap();
    std::os::unix::fs::symlink(&outside, folder.join(".lock")).unwrap();
    let err = crate::support::resume(&folder, &p.plan.path, &p.host_config).unwrap_err();
    assert_eq!(err.code, StopCode::KbWriteFailed, "{err}");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep me");
    std::fs::remove_file(folder.join(".lock")).unwrap();
    // An approval file.
    std::os::unix::fs::symlink(
        &outside,
        crate::support::approval_file(&folder, "sg1", &p.key),
    )
    .unwrap();
    let outcome = p.resume(&folder);
    let stop = assert_stopped(&outcome, StopCode::ApprovalInvalid, &folder);
    assert!(stop.message.contains("symlink"), "{stop}");

    // The run folder itself.
    let p = Pipeline::new();
    let (folder, _) = p.start(false);
    let real = p.dir().join("moved");
    std::fs::rename(&folder, &real).unwrap();
    std::os::unix::fs::symlink(&real, &folder).unwrap();
    let err = crate::support::resume(&folder, &p.plan.path, &p.host_config).unwrap_err();
    assert_eq!(err.code, StopCode::CorruptState, "{err}");

    // An evidence document of a live run.
    let p = Pipeline::new();
    let folder = p.to_sg2(true);
    let doc = folder.join("evidence/01-alpha.json");
    let copy = p.dir().join("alpha-copy.json");
    std::fs::copy(&doc, &copy).unwrap();
    std::fs::remove_file(&doc).unwrap();
    std::os::unix::fs::symlink(&copy, &doc).unwrap();
    p.approve(&folder, crate::support::sg2());
    let outcome = p.resume(&folder);
    let stop = assert_stopped(&outcome, StopCode::CorruptState, &folder);
    assert!(stop.message.contains("symlink"), "{stop}");
}

/// A state file copied from another run's folder is not this run's.
#[test]
fn a_state_file_from_another_run_is_refused() {
    let p = Pipeline::new();
    let (a, _) = p.start(false);
    let (b, _) = p.start(false);
    std::fs::copy(a.join("state.json"), b.join("state.json")).unwrap();
    let err = crate::support::resume(&b, &p.plan.path, &p.host_config).unwrap_err();
    assert_eq!(err.code, StopCode::CorruptState, "{err}");
    assert!(matches!(
        RunState::load(&a).unwrap().status,
        Status::Paused { .. }
    ));
    let _ = Outcome::Completed;
}

/// Finding 2 (inputs): a state file that points a live resume at another
/// source, with the digests in the state rewritten to match, is refused by
/// the inputs digest the store committed with every phase.
#[test]
fn a_source_swapped_in_the_state_file_is_drift_on_a_live_resume() {
    let p = Pipeline::new();
    let (folder, outcome) = p.start(true);
    assert_paused(&outcome, crate::support::sg1());
    p.approve(&folder, crate::support::sg1());
    let other = p.dir().join("doc-other.txt");
    std::fs::write(&other, "Điều 1. Một văn bản khác.\n").unwrap();
    let sha = sha256_hex(&std::fs::read(&other).unwrap());
    let path = folder.join("state.json");
    let mut state = read_json(&path);
    state["source_path"] = other.display().to_string().into();
    state["fingerprint"]["source_sha256"] = sha.clone().into();
    state["version"] = format!("v-{}", &sha[..16]).into();
    write_json(&path, &state);
    let outcome = p.resume(&folder);
    let stop = assert_stopped(&outcome, StopCode::Drift, &folder);
    assert!(stop.message.contains("other inputs"), "{stop}");
    assert_eq!(document_rows(&p.store_path()), 0);
}

/// The consumed ledger of a live run is the store's table, which someone
/// who can write the KB folder cannot edit; the KB file is not used.
#[test]
fn a_live_runs_approvals_are_consumed_in_the_store_not_the_kb() {
    let p = Pipeline::new();
    let folder = p.to_sg2(true);
    let conn = rusqlite::Connection::open(p.store_path()).unwrap();
    let consumed: i64 = conn
        .query_row("SELECT count(*) FROM consumed_approvals", [], |r| r.get(0))
        .unwrap();
    assert_eq!(consumed, 1, "SG_1's approval");
    assert!(!p.kb().join("consumed-approvals.jsonl").exists());
    p.approve(&folder, crate::support::sg2());
    assert_eq!(p.resume(&folder), Outcome::Completed);
    let consumed: i64 = conn
        .query_row("SELECT count(*) FROM consumed_approvals", [], |r| r.get(0))
        .unwrap();
    assert_eq!(consumed, 2);
}

/// A run subfolder swapped for a symlink between pause and resume is
/// refused, whether it points outside the KB or at another folder inside
/// it: the run folder's handle opens subfolders without following symlinks.
#[test]
fn a_run_subfolder_swapped_for_a_symlink_is_refused() {
    for (sub, inside) in [
        ("evidence", false),
        ("artifacts", false),
        ("evidence", true),
    ] {
        let p = Pipeline::new();
        let (folder, _) = p.start(false);
        // Inside: a relative link to a sibling folder, which a handle that
        // follows links within itself would accept (an absolute link is
        // refused by cap-std anyway).
        let target = if inside {
            std::path::PathBuf::from("approvals")
        } else {
            let outside = p.dir().join("outside");
            std::fs::create_dir(&outside).unwrap();
            outside
        };
        let moved = p.dir().join("moved-away");
        std::fs::rename(folder.join(sub), &moved).unwrap();
        std::os::unix::fs::symlink(&target, folder.join(sub)).unwrap();
        let err = crate::support::resume(&folder, &p.plan.path, &p.host_config).unwrap_err();
        assert_eq!(err.code, StopCode::CorruptState, "{sub}: {err}");
        assert!(err.message.contains("symlink"), "{sub}: {err}");
        if !inside {
            assert_eq!(
                std::fs::read_dir(&target).unwrap().count(),
                0,
                "nothing written outside"
            );
        }
    }
}

/// `<kb>/runs/` itself swapped for a symlink to a folder outside the KB
/// while a run is paused (its runs moved there, the approval signed):
/// `resume`, `status` and `runs` refuse with `corrupt-state` and nothing
/// there is written. Only the KB root is opened by path; `runs/` is opened
/// from its handle without following a symlink.
#[test]
fn the_runs_folder_swapped_for_a_symlink_is_refused() {
    let p = Pipeline::new();
    let (folder, outcome) = p.start(false);
    assert_paused(&outcome, crate::support::sg1());
    p.approve(&folder, crate::support::sg1());
    let runs = p.kb().join("runs");
    let outside = p.dir().join("outside-runs");
    std::fs::rename(&runs, &outside).unwrap();
    std::os::unix::fs::symlink(&outside, &runs).unwrap();
    let before = crate::support::tree_snapshot(&outside);
    let kb = p.kb();
    let s = |path: &Path| path.to_str().unwrap().to_owned();
    let (folder, plan, host, kb) = (s(&folder), s(&p.plan.path), s(&p.host_config), s(&kb));
    for args in [
        vec!["resume", &folder, "--plan", &plan, "--host-config", &host],
        vec!["status", &folder],
        vec!["runs", &kb],
    ] {
        let (code, out, err) = crate::support::phasehost(&args);
        assert_eq!(
            code,
            StopCode::CorruptState.exit_status(),
            "{args:?}: {out}{err}"
        );
        assert!(err.contains("is a symlink"), "{args:?}: {err}");
    }
    assert_eq!(
        crate::support::tree_snapshot(&outside),
        before,
        "nothing written outside the KB"
    );
}
