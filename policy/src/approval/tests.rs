//! Verification tests: one per refusal, plus the happy path.

use std::fs;
use std::path::Path;

use super::*;
use crate::safe_dir::SafeDir;

const NOW: u64 = 1_750_000_000;
const TTL: u64 = 3600;

fn digest(c: char) -> String {
    c.to_string().repeat(64)
}

struct Fixture {
    signing: SigningKeyFile,
    trust: TrustStore,
}

impl Fixture {
    fn new() -> Self {
        let (signing, public) = generate_keypair();
        let mut trust = TrustStore::new();
        trust.insert(*public.verifying_key());
        Self { signing, trust }
    }

    fn statement(&self, gate: Gate) -> ApprovalStatement {
        ApprovalStatement::new(
            "run-1",
            gate,
            digest('a'),
            NOW - 60,
            TTL,
            self.signing.key_id(),
        )
    }

    fn approve(&self, gate: Gate) -> SignedApproval {
        sign(self.statement(gate), self.signing.signing_key())
    }

    fn resign(&self, statement: ApprovalStatement) -> SignedApproval {
        sign(statement, self.signing.signing_key())
    }
}

fn sg1() -> Gate {
    Gate::new("sg1").expect("gate name")
}

fn sg2() -> Gate {
    Gate::new("sg2").expect("gate name")
}

/// The iu-cut plan's expectations: `sg2` needs a fresh review decision.
fn expect(gate: Gate) -> Expectation {
    let fresh = gate == sg2();
    Expectation::new("run-1", gate, digest('a'), TTL).with_fresh_review_decision(fresh)
}

fn check(
    fx: &Fixture,
    approval: &SignedApproval,
    gate: Gate,
) -> Result<VerifiedApproval, ApprovalError> {
    verify(
        approval,
        &expect(gate),
        &fx.trust,
        &MemoryLedger::new(),
        NOW,
    )
}

#[test]
fn valid_approvals_verify_for_both_gates() {
    let fx = Fixture::new();
    for gate in [sg1(), sg2()] {
        let approval = fx.approve(gate.clone());
        let verified = check(&fx, &approval, gate.clone()).unwrap();
        assert_eq!(verified.statement(), &approval.statement);
        assert_eq!(verified.requires_fresh_review_decision(), gate == sg2());
    }
}

#[test]
fn evidence_digest_expectation_is_compared_lowercase() {
    let fx = Fixture::new();
    let mut e = expect(sg1());
    e.evidence_digest = e.evidence_digest.to_uppercase();
    verify(&fx.approve(sg1()), &e, &fx.trust, &MemoryLedger::new(), NOW).unwrap();
}

#[test]
fn expired_approval_is_refused() {
    let fx = Fixture::new();
    let approval = fx.approve(sg1());
    let at_expiry = approval.statement.expires_at;
    let err = verify(
        &approval,
        &expect(sg1()),
        &fx.trust,
        &MemoryLedger::new(),
        at_expiry,
    )
    .unwrap_err();
    assert!(matches!(err, ApprovalError::Expired { .. }), "{err}");
    assert_eq!(err.stop_code(), "approval-expired");
    // One second earlier it was still valid.
    verify(
        &approval,
        &expect(sg1()),
        &fx.trust,
        &MemoryLedger::new(),
        at_expiry - 1,
    )
    .unwrap();
}

#[test]
fn lifetime_longer_than_the_ttl_is_refused() {
    let fx = Fixture::new();
    let mut st = fx.statement(sg1());
    st.expires_at = st.issued_at + TTL + 1;
    let err = check(&fx, &fx.resign(st), sg1()).unwrap_err();
    assert!(
        matches!(err, ApprovalError::TtlTooLong { lifetime_secs, max_ttl_secs: TTL } if lifetime_secs == TTL + 1),
        "{err}"
    );
    assert_eq!(err.stop_code(), "approval-expired");
}

#[test]
fn approval_from_the_future_is_refused_beyond_the_skew() {
    let fx = Fixture::new();
    let mut st = fx.statement(sg1());
    st.issued_at = NOW + MAX_CLOCK_SKEW_SECS + 1;
    st.expires_at = st.issued_at + 60;
    let err = check(&fx, &fx.resign(st.clone()), sg1()).unwrap_err();
    assert!(matches!(err, ApprovalError::NotYetValid { .. }), "{err}");
    // Within the skew it is accepted.
    st.issued_at = NOW + MAX_CLOCK_SKEW_SECS;
    check(&fx, &fx.resign(st), sg1()).unwrap();
}

#[test]
fn approval_for_another_run_gate_or_digest_is_a_mismatch() {
    let fx = Fixture::new();
    let approval = fx.approve(sg1());
    let mut other_run = expect(sg1());
    other_run.run_id = "run-2".to_owned();
    let mut other_digest = expect(sg1());
    other_digest.evidence_digest = digest('b');
    let other_gate = Expectation {
        require_fresh_review_decision: false,
        ..expect(sg2())
    };
    for (e, field) in [
        (other_run, "run_id"),
        (other_gate, "gate"),
        (other_digest, "evidence_digest"),
    ] {
        let err = verify(&approval, &e, &fx.trust, &MemoryLedger::new(), NOW).unwrap_err();
        assert!(
            matches!(err, ApprovalError::Mismatch { field: f, .. } if f == field),
            "{field}: {err}"
        );
        assert_eq!(err.stop_code(), "approval-mismatch");
    }
}

#[test]
fn untrusted_key_is_refused() {
    let fx = Fixture::new();
    let stranger = Fixture::new();
    let approval = stranger.approve(sg1());
    let err = check(&fx, &approval, sg1()).unwrap_err();
    assert!(
        matches!(&err, ApprovalError::UntrustedKey { key_id } if *key_id == stranger.signing.key_id()),
        "{err}"
    );
    // An empty trust store trusts nothing.
    let err = verify(
        &fx.approve(sg1()),
        &expect(sg1()),
        &TrustStore::new(),
        &MemoryLedger::new(),
        NOW,
    )
    .unwrap_err();
    assert!(matches!(err, ApprovalError::UntrustedKey { .. }), "{err}");
}

#[test]
fn altered_statement_fails_the_signature() {
    let fx = Fixture::new();
    let good = fx.approve(sg1());
    let mut alterations: Vec<SignedApproval> = Vec::new();
    let mut a = good.clone();
    a.statement.run_id = "run-2".to_owned();
    alterations.push(a);
    let mut a = good.clone();
    a.statement.evidence_digest = digest('b');
    alterations.push(a);
    let mut a = good.clone();
    a.statement.expires_at += 1;
    alterations.push(a);
    let mut a = good.clone();
    a.statement.approval_id = random_id();
    alterations.push(a);
    let mut a = good.clone();
    a.statement.gate = sg2();
    alterations.push(a);
    for (i, a) in alterations.iter().enumerate() {
        let e = Expectation::new(
            a.statement.run_id.clone(),
            a.statement.gate.clone(),
            a.statement.evidence_digest.clone(),
            TTL,
        );
        let err = verify(a, &e, &fx.trust, &MemoryLedger::new(), NOW).unwrap_err();
        assert!(
            matches!(err, ApprovalError::BadSignature),
            "alteration {i}: {err}"
        );
        assert_eq!(err.stop_code(), "approval-invalid");
    }
}

#[test]
fn flipped_signature_byte_fails_the_signature() {
    let fx = Fixture::new();
    let mut approval = fx.approve(sg1());
    let mut bytes = hex::decode(&approval.signature).unwrap();
    bytes[10] ^= 0x01;
    approval.signature = hex::encode(bytes);
    let err = check(&fx, &approval, sg1()).unwrap_err();
    assert!(matches!(err, ApprovalError::BadSignature), "{err}");
}

#[test]
fn signature_by_another_trusted_key_under_this_key_is_refused() {
    // The statement names key A, the signature is by key B, both trusted.
    let a = Fixture::new();
    let b = Fixture::new();
    let mut trust = a.trust.clone();
    trust.insert(b.signing.signing_key().verifying_key());
    let mut approval = sign(a.statement(sg1()), b.signing.signing_key());
    approval.public_key = hex::encode(a.signing.signing_key().verifying_key().as_bytes());
    let err = verify(&approval, &expect(sg1()), &trust, &MemoryLedger::new(), NOW).unwrap_err();
    assert!(matches!(err, ApprovalError::BadSignature), "{err}");
}

#[test]
fn key_id_not_matching_the_public_key_is_malformed() {
    let fx = Fixture::new();
    let mut st = fx.statement(sg1());
    st.key_id = "0000000000000000".to_owned();
    let err = check(&fx, &fx.resign(st), sg1()).unwrap_err();
    assert!(matches!(err, ApprovalError::Malformed { .. }), "{err}");
}

#[test]
fn badly_shaped_fields_are_malformed() {
    let fx = Fixture::new();
    let good = fx.approve(sg1());
    let mut cases = Vec::new();
    let mut a = good.clone();
    a.signature.truncate(126);
    cases.push(a);
    let mut a = good.clone();
    a.signature = a.signature.to_uppercase();
    cases.push(a);
    let mut a = good.clone();
    a.public_key = "zz".repeat(32);
    cases.push(a);
    let mut a = good.clone();
    a.public_key = format!("01{}", "00".repeat(31)); // small-order point
    cases.push(a);
    let mut st = fx.statement(sg1());
    st.evidence_digest = "abc".to_owned();
    cases.push(fx.resign(st));
    for (i, a) in cases.iter().enumerate() {
        let err = check(&fx, a, sg1()).unwrap_err();
        assert!(
            matches!(err, ApprovalError::Malformed { .. }),
            "case {i}: {err}"
        );
    }
}

#[test]
fn missing_and_malformed_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = SafeDir::open_trusted(tmp.path()).unwrap();
    let path = tmp.path().join("sg1.approval.json");
    let err = load_approval_in(&dir, "sg1.approval.json").unwrap_err();
    assert!(matches!(err, ApprovalError::Missing { .. }), "{err}");
    assert_eq!(err.stop_code(), "approval-missing");

    for text in ["", "{", "{\"statement\":{}}", "[1,2,3]"] {
        fs::write(&path, text).unwrap();
        let err = load_approval_in(&dir, "sg1.approval.json").unwrap_err();
        assert!(
            matches!(err, ApprovalError::Malformed { .. }),
            "{text:?}: {err}"
        );
    }
    fs::write(&path, [b'{', 0xff, b'}']).unwrap();
    assert!(matches!(
        load_approval_in(&dir, "sg1.approval.json"),
        Err(ApprovalError::Malformed { .. })
    ));
    // Valid JSON, but padded past the size limit.
    let fx = Fixture::new();
    let padded = format!(
        "{}{}",
        fx.approve(sg1()).to_json(),
        " ".repeat(MAX_APPROVAL_FILE_BYTES as usize)
    );
    fs::write(&path, padded).unwrap();
    assert!(matches!(
        load_approval_in(&dir, "sg1.approval.json"),
        Err(ApprovalError::Malformed { .. })
    ));
    // Unknown fields are refused too.
    let text = fx
        .approve(sg1())
        .to_json()
        .replacen('{', "{\"note\":\"x\",", 1);
    fs::write(&path, text).unwrap();
    assert!(matches!(
        load_approval_in(&dir, "sg1.approval.json"),
        Err(ApprovalError::Malformed { .. })
    ));
}

#[test]
fn approval_file_round_trips_and_is_not_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = SafeDir::open_trusted(tmp.path()).unwrap();
    let fx = Fixture::new();
    let approval = fx.approve(sg2());
    save_approval_in(&dir, "a.json", &approval).unwrap();
    assert_eq!(load_approval_in(&dir, "a.json").unwrap(), approval);
    assert!(save_approval_in(&dir, "a.json", &approval).is_err());
}

#[test]
fn trust_store_from_key_files() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_key_files(dir.path(), "op").unwrap();
    let trust = TrustStore::from_files(&[&paths.public_key]).unwrap();
    assert_eq!(trust.key_ids().collect::<Vec<_>>(), [paths.key_id.as_str()]);
    let signing = load_signing_key(&paths.signing_key).unwrap();
    let st = ApprovalStatement::new("run-1", sg1(), digest('a'), NOW, TTL, signing.key_id());
    let approval = sign(st, signing.signing_key());
    verify(&approval, &expect(sg1()), &trust, &MemoryLedger::new(), NOW).unwrap();

    assert!(matches!(
        TrustStore::from_files::<&Path>(&[]),
        Err(KeyError::EmptyTrustStore)
    ));
    let bad = dir.path().join("bad.pub");
    fs::write(&bad, "{}").unwrap();
    assert!(matches!(
        TrustStore::from_files(&[&paths.public_key, &bad]),
        Err(KeyError::Malformed { .. })
    ));
    assert!(matches!(
        TrustStore::from_files(&[dir.path().join("absent.pub")]),
        Err(KeyError::Io { .. })
    ));
}

#[test]
fn replay_is_refused_after_reopening_the_file_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("consumed.jsonl");
    let fx = Fixture::new();
    let approval = fx.approve(sg1());
    {
        let mut ledger = FileLedger::open(&path).unwrap();
        verify_and_consume(&approval, &expect(sg1()), &fx.trust, &mut ledger, NOW).unwrap();
        assert_eq!(ledger.len(), 1);
    }
    // "Restart": a fresh ledger from disk.
    let mut ledger = FileLedger::open(&path).unwrap();
    let err = verify(&approval, &expect(sg1()), &fx.trust, &ledger, NOW).unwrap_err();
    assert!(matches!(err, ApprovalError::Replayed { .. }), "{err}");
    assert_eq!(err.stop_code(), "approval-replayed");
    // A second, different approval is still fine.
    verify_and_consume(
        &fx.approve(sg1()),
        &expect(sg1()),
        &fx.trust,
        &mut ledger,
        NOW,
    )
    .unwrap();
    assert_eq!(FileLedger::open(&path).unwrap().len(), 2);
}

#[test]
fn consume_refuses_an_id_twice_even_from_a_stale_handle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("consumed.jsonl");
    let fx = Fixture::new();
    let approval = fx.approve(sg1());
    let mut first = FileLedger::open(&path).unwrap();
    let mut second = FileLedger::open(&path).unwrap();
    // Both handles verify before either consumes (two racing processes).
    let v1 = verify(&approval, &expect(sg1()), &fx.trust, &first, NOW).unwrap();
    let v2 = verify(&approval, &expect(sg1()), &fx.trust, &second, NOW).unwrap();
    first.consume(&v1).unwrap();
    let err = second.consume(&v2).unwrap_err();
    assert!(matches!(err, ApprovalError::Replayed { .. }), "{err}");
    let err = first.consume(&v1).unwrap_err();
    assert!(matches!(err, ApprovalError::Replayed { .. }), "{err}");
    // Only one line was written.
    assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 1);
}

#[test]
fn memory_ledger_refuses_double_consume() {
    let fx = Fixture::new();
    let mut ledger = MemoryLedger::new();
    let v = verify(&fx.approve(sg1()), &expect(sg1()), &fx.trust, &ledger, NOW).unwrap();
    ledger.consume(&v).unwrap();
    assert!(matches!(
        ledger.consume(&v),
        Err(ApprovalError::Replayed { .. })
    ));
}

#[test]
fn sg2_refuses_a_review_decision_used_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("consumed.jsonl");
    let fx = Fixture::new();
    let first = fx.approve(sg1());
    let mut ledger = FileLedger::open(&path).unwrap();
    verify_and_consume(&first, &expect(sg1()), &fx.trust, &mut ledger, NOW).unwrap();

    // SG_2 reusing SG_1's review decision (new approval id, re-signed).
    let mut st = fx.statement(sg2());
    st.review_decision_id = first.statement.review_decision_id.clone();
    let reused = fx.resign(st);
    let mut ledger = FileLedger::open(&path).unwrap();
    let err = verify(&reused, &expect(sg2()), &fx.trust, &ledger, NOW).unwrap_err();
    assert!(
        matches!(err, ApprovalError::ReviewDecisionReused { .. }),
        "{err}"
    );
    assert_eq!(err.stop_code(), "review-decision-reused");

    // consume() refuses it as well (the check is atomic with the write).
    let lenient = Expectation {
        require_fresh_review_decision: false,
        ..expect(sg2())
    };
    let verified = verify(&reused, &lenient, &fx.trust, &ledger, NOW).unwrap();
    assert!(ledger.consume(&verified).is_ok(), "not required: accepted");
    let mut st = fx.statement(sg2());
    st.review_decision_id = first.statement.review_decision_id.clone();
    let again = fx.resign(st);
    let mut memory = MemoryLedger::new();
    let v = verify(&again, &expect(sg2()), &fx.trust, &memory, NOW).unwrap();
    memory
        .consume(&verify(&first, &expect(sg1()), &fx.trust, &memory, NOW).unwrap())
        .unwrap();
    assert!(matches!(
        memory.consume(&v),
        Err(ApprovalError::ReviewDecisionReused { .. })
    ));
    let mut file_ledger = FileLedger::open(&path).unwrap();
    let v = {
        let empty = MemoryLedger::new();
        verify(&again, &expect(sg2()), &fx.trust, &empty, NOW).unwrap()
    };
    assert!(matches!(
        file_ledger.consume(&v),
        Err(ApprovalError::ReviewDecisionReused { .. })
    ));

    // A fresh SG_2 approval passes.
    verify_and_consume(
        &fx.approve(sg2()),
        &expect(sg2()),
        &fx.trust,
        &mut file_ledger,
        NOW,
    )
    .unwrap();
}

#[test]
fn corrupt_ledger_is_an_error_not_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("consumed.jsonl");
    let fx = Fixture::new();
    {
        let mut ledger = FileLedger::open(&path).unwrap();
        verify_and_consume(
            &fx.approve(sg1()),
            &expect(sg1()),
            &fx.trust,
            &mut ledger,
            NOW,
        )
        .unwrap();
    }
    let good = fs::read_to_string(&path).unwrap();
    for corrupt in [
        format!("{good}garbage\n"),
        format!("{good}{}", &good[..good.len() / 2]),
        format!("{good}{good}"),
    ] {
        fs::write(&path, &corrupt).unwrap();
        let err = FileLedger::open(&path).unwrap_err();
        assert!(matches!(err, ApprovalError::Ledger { .. }), "{err}");
        assert_eq!(err.stop_code(), "store-failed");
    }
    // A ledger that became corrupt after opening refuses to consume.
    fs::write(&path, &good).unwrap();
    let mut ledger = FileLedger::open(&path).unwrap();
    fs::write(&path, format!("{good}garbage\n")).unwrap();
    let v = verify(&fx.approve(sg1()), &expect(sg1()), &fx.trust, &ledger, NOW).unwrap();
    assert!(matches!(
        ledger.consume(&v),
        Err(ApprovalError::Ledger { .. })
    ));
}

#[test]
fn an_approval_for_gate_sg1_opens_no_gate_named_differently() {
    let fx = Fixture::new();
    let approval = fx.approve(sg1());
    for other in ["sg10", "sg", "sg1-b", "sg1_", "release"] {
        let gate = Gate::new(other).expect("gate name");
        let err = check(&fx, &approval, gate.clone()).unwrap_err();
        assert!(
            matches!(err, ApprovalError::Mismatch { field: "gate", .. }),
            "{other}: {err}"
        );
        // Renaming the gate inside the signed statement breaks the signature.
        let mut renamed = approval.clone();
        renamed.statement.gate = gate.clone();
        let err = check(&fx, &renamed, gate).unwrap_err();
        assert!(matches!(err, ApprovalError::BadSignature), "{other}: {err}");
    }
    check(&fx, &approval, sg1()).expect("the gate it names");
}
