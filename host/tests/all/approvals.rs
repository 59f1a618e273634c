//! Every way an approval is refused, each with its own stop code.

use crate::orchestrator::*;
use phasehost::StopCode;
use phasehost::run::state::{RunState, Status};
use phasehost_policy::approval::{self, ApprovalStatement, Gate, SignedApproval};
use std::path::Path;

fn now() -> u64 {
    phasehost::run::ids::now_secs()
}

fn paused_digest(folder: &Path) -> (String, String) {
    let state = RunState::load(folder).unwrap();
    let Status::Paused {
        evidence_digest, ..
    } = state.status
    else {
        panic!("not paused")
    };
    (state.run_id, evidence_digest)
}

/// Sign `statement` with the pipeline's trusted key and put it where the run looks.
fn place(p: &Pipeline, folder: &Path, gate: &str, statement: ApprovalStatement) -> SignedApproval {
    let key = approval::load_signing_key(&p.key).unwrap();
    let signed = approval::sign(statement, key.signing_key());
    let path = crate::support::approval_file(folder, gate, &p.key);
    let _ = std::fs::remove_file(&path);
    approval::save_approval(&path, &signed).unwrap();
    signed
}

fn statement(
    p: &Pipeline,
    run_id: &str,
    gate: Gate,
    digest: &str,
    issued: u64,
    ttl: u64,
) -> ApprovalStatement {
    let key = approval::load_signing_key(&p.key).unwrap();
    ApprovalStatement::new(
        run_id.to_string(),
        gate,
        digest.to_string(),
        issued,
        ttl,
        key.key_id(),
    )
}

fn paused_at_sg1() -> (Pipeline, std::path::PathBuf) {
    let p = Pipeline::new();
    let (folder, outcome) = p.start(false);
    assert_paused(&outcome, crate::support::sg1());
    (p, folder)
}

#[test]
fn a_missing_approval_pauses_and_the_digest_comes_from_the_evidence() {
    let (_p, folder) = paused_at_sg1();
    let (_, digest) = paused_digest(&folder);
    assert_eq!(digest, DIGEST_A, "SG_1 binds alpha.digest");
}

#[test]
fn an_expired_approval_is_refused() {
    let (p, folder) = paused_at_sg1();
    let (run_id, digest) = paused_digest(&folder);
    place(
        &p,
        &folder,
        "sg1",
        statement(
            &p,
            &run_id,
            crate::support::sg1(),
            &digest,
            now() - 7200,
            3600,
        ),
    );
    assert_stopped(&p.resume(&folder), StopCode::ApprovalExpired, &folder);
}

#[test]
fn an_approval_for_another_run_is_refused() {
    let (p, folder) = paused_at_sg1();
    let (_, digest) = paused_digest(&folder);
    place(
        &p,
        &folder,
        "sg1",
        statement(
            &p,
            "another-run",
            crate::support::sg1(),
            &digest,
            now(),
            3600,
        ),
    );
    assert_stopped(&p.resume(&folder), StopCode::ApprovalMismatch, &folder);
}

#[test]
fn an_approval_for_another_digest_is_refused() {
    let (p, folder) = paused_at_sg1();
    let (run_id, _) = paused_digest(&folder);
    place(
        &p,
        &folder,
        "sg1",
        statement(&p, &run_id, crate::support::sg1(), DIGEST_B, now(), 3600),
    );
    assert_stopped(&p.resume(&folder), StopCode::ApprovalMismatch, &folder);
}

#[test]
fn an_approval_for_another_gate_is_refused() {
    let (p, folder) = paused_at_sg1();
    let (run_id, digest) = paused_digest(&folder);
    place(
        &p,
        &folder,
        "sg1",
        statement(&p, &run_id, crate::support::sg2(), &digest, now(), 3600),
    );
    assert_stopped(&p.resume(&folder), StopCode::ApprovalMismatch, &folder);
}

#[test]
fn an_approval_signed_by_an_untrusted_key_is_refused() {
    let (p, folder) = paused_at_sg1();
    let other = p.dir().join("other-keys");
    std::fs::create_dir_all(&other).unwrap();
    let paths = approval::write_key_files(&other, "mallory").unwrap();
    // `approve` refuses before it writes anything...
    let err = crate::support::approve(
        &folder,
        crate::support::sg1(),
        &paths.signing_key,
        &p.plan.path,
    )
    .unwrap_err();
    assert_eq!(err.code, StopCode::ApprovalInvalid, "{err}");
    assert!(
        std::fs::read_dir(folder.join("approvals"))
            .unwrap()
            .all(|e| std::fs::read_dir(e.unwrap().path()).map_or(true, |mut d| d.next().is_none()))
    );
    // ...and an untrusted approval file put there by hand is refused at resume.
    let (run_id, digest) = paused_digest(&folder);
    let mallory = approval::load_signing_key(&paths.signing_key).unwrap();
    let statement = ApprovalStatement::new(
        run_id,
        crate::support::sg1(),
        digest,
        now(),
        3600,
        mallory.key_id(),
    );
    let signed = approval::sign(statement, mallory.signing_key());
    approval::save_approval(
        &crate::support::approval_file(&folder, "sg1", &paths.signing_key),
        &signed,
    )
    .unwrap();
    assert_stopped(&p.resume(&folder), StopCode::ApprovalInvalid, &folder);
}

#[test]
fn a_tampered_signature_is_refused() {
    let (p, folder) = paused_at_sg1();
    p.approve(&folder, crate::support::sg1());
    let path = crate::support::approval_file(&folder, "sg1", &p.key);
    let mut signed = approval::load_approval(&path).unwrap();
    let mut sig = signed.signature.into_bytes();
    sig[0] = if sig[0] == b'0' { b'1' } else { b'0' };
    signed.signature = String::from_utf8(sig).unwrap();
    std::fs::write(&path, signed.to_json()).unwrap();
    assert_stopped(&p.resume(&folder), StopCode::ApprovalInvalid, &folder);
}

#[test]
fn a_tampered_statement_is_refused() {
    let (p, folder) = paused_at_sg1();
    p.approve(&folder, crate::support::sg1());
    let path = crate::support::approval_file(&folder, "sg1", &p.key);
    let mut signed = approval::load_approval(&path).unwrap();
    signed.statement.expires_at += 10;
    std::fs::write(&path, signed.to_json()).unwrap();
    assert_stopped(&p.resume(&folder), StopCode::ApprovalInvalid, &folder);
}

#[test]
fn an_approval_this_run_consumed_is_reverified_after_a_restart_not_consumed_twice() {
    let p = Pipeline::new();
    // A dry run: a live one's store would hold checkpoints of phases the
    // restored state does not list, and stop earlier with corrupt-state
    // (checkpoints::a_store_two_phases_ahead_of_the_state_stops_with_corrupt_state).
    let folder = p.to_sg2(false);
    // Simulate a state restored from before SG_1 was consumed (a crash
    // between consuming the approval and saving the state, or an operator
    // restoring a backup). The ledger holds the approval as consumed by this
    // very run for this gate and digest, so it is re-verified (signature,
    // trust, binding), not consumed again and not refused: crash recovery
    // works, and nothing opens that was not approved.
    let ledger = p.kb().join("consumed-approvals.jsonl");
    let consumed_before = std::fs::read_to_string(&ledger).unwrap().lines().count();
    let mut state = RunState::load(&folder).unwrap();
    state.next_phase = 1;
    state.phases.truncate(1);
    state.status = Status::Paused {
        gate: crate::support::sg1(),
        evidence_digest: DIGEST_A.into(),
        before_phase: "write1".into(),
    };
    state.fingerprint.store_digest =
        phasehost_store::open(&phasehost_store::StoreSpec::Sqlite(p.store_path()))
            .unwrap()
            .document_digest("doc")
            .ok();
    state.save(&folder).unwrap();
    assert_paused(&p.resume(&folder), crate::support::sg2());
    let consumed_after = std::fs::read_to_string(&ledger).unwrap().lines().count();
    assert_eq!(consumed_before, consumed_after, "nothing consumed twice");
}

#[test]
fn a_reused_review_decision_is_refused_at_sg2() {
    let p = Pipeline::new();
    let folder = p.to_sg2(false);
    let sg1 =
        approval::load_approval(&crate::support::approval_file(&folder, "sg1", &p.key)).unwrap();
    let sg1_decision = sg1.statement.review_decision_id.clone();
    let (run_id, digest) = paused_digest(&folder);
    let mut st = statement(&p, &run_id, crate::support::sg2(), &digest, now(), 3600);
    st.review_decision_id = sg1_decision;
    place(&p, &folder, "sg2", st);
    assert_stopped(&p.resume(&folder), StopCode::ReviewDecisionReused, &folder);
}

#[test]
fn a_malformed_approval_file_is_refused() {
    let (p, folder) = paused_at_sg1();
    std::fs::write(
        crate::support::approval_file(&folder, "sg1", &p.key),
        "{ not json",
    )
    .unwrap();
    assert_stopped(&p.resume(&folder), StopCode::ApprovalInvalid, &folder);
}

#[test]
fn approving_a_gate_the_run_is_not_paused_at_is_refused() {
    let (p, folder) = paused_at_sg1();
    let err =
        crate::support::approve(&folder, crate::support::sg2(), &p.key, &p.plan.path).unwrap_err();
    assert_eq!(err.code, StopCode::ApprovalMismatch);
}
