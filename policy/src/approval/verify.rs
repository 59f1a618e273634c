//! Verifying an approval against what the run expects.

use ed25519_dalek::Signature;

use super::error::ApprovalError;
use super::keys::{decode_public_key, key_id};
use super::ledger::ConsumedLedger;
use super::signed::SignedApproval;
use super::statement::{ApprovalStatement, Gate, MAX_CLOCK_SKEW_SECS, is_lower_hex};
use super::trust::TrustStore;
use super::verified::VerifiedApproval;

/// What the host expects an approval to bind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// This run's id.
    pub run_id: String,
    /// The gate being opened.
    pub gate: Gate,
    /// The evidence digest the gate binds (hex sha256; compared lowercase).
    pub evidence_digest: String,
    /// Refuse a review decision id seen in any consumed approval (the
    /// plan's per-gate `fresh_review_decision`; iu-cut: SG_2).
    pub require_fresh_review_decision: bool,
    /// Longest accepted validity window (`expires_at - issued_at`), seconds.
    pub ttl_secs: u64,
}

impl Expectation {
    /// The expectation for `gate`; no fresh review decision is required
    /// unless [`Self::with_fresh_review_decision`] asks for one.
    pub fn new(
        run_id: impl Into<String>,
        gate: Gate,
        evidence_digest: impl Into<String>,
        ttl_secs: u64,
    ) -> Self {
        Self {
            run_id: run_id.into(),
            gate,
            evidence_digest: evidence_digest.into(),
            require_fresh_review_decision: false,
            ttl_secs,
        }
    }

    /// The same expectation, refusing (when `required`) a review decision id
    /// seen in any consumed approval.
    pub fn with_fresh_review_decision(mut self, required: bool) -> Self {
        self.require_fresh_review_decision = required;
        self
    }
}

/// Verifies an approval: shape, trusted key, signature, binding to
/// `expect`, validity window at `now` (unix seconds), and that the ledger
/// has not consumed it (nor, if required, its review decision). Does not
/// consume it; see [`verify_and_consume`].
///
/// Window rules: refused as [`ApprovalError::NotYetValid`] when `issued_at >
/// now + MAX_CLOCK_SKEW_SECS`; [`ApprovalError::Expired`] when `now >=
/// expires_at`; [`ApprovalError::TtlTooLong`] when `expires_at - issued_at >
/// expect.ttl_secs` (an approval signed for longer than the plan allows is
/// refused outright, not shortened). The last two share the
/// `approval-expired` stop code.
pub fn verify(
    approval: &SignedApproval,
    expect: &Expectation,
    trust: &TrustStore,
    ledger: &dyn ConsumedLedger,
    now: u64,
) -> Result<VerifiedApproval, ApprovalError> {
    let statement = authenticate(approval, trust)?;
    check_binding(statement, expect)?;
    check_window(statement, expect.ttl_secs, now)?;

    if ledger.is_consumed(&statement.approval_id)? {
        return Err(ApprovalError::Replayed {
            approval_id: statement.approval_id.clone(),
        });
    }
    if expect.require_fresh_review_decision
        && ledger.review_decision_seen(&statement.review_decision_id)?
    {
        return Err(ApprovalError::ReviewDecisionReused {
            review_decision_id: statement.review_decision_id.clone(),
        });
    }
    Ok(VerifiedApproval::new(
        approval.clone(),
        expect.require_fresh_review_decision,
    ))
}

/// Verifies an approval the run consumed earlier (a resumed run passing
/// the gate again, or going on after it): shape, trusted key, signature and
/// binding to `expect`, and that the ledger holds it as consumed. The
/// validity window is not checked again: it was checked when the approval
/// was consumed, and the binding to this run, gate and digest means it
/// opens nothing else. An approval the ledger does not hold is refused as
/// missing its consumption ([`ApprovalError::NotConsumed`]): a record of
/// progress elsewhere (a state file) never stands in for it.
pub fn verify_consumed(
    approval: &SignedApproval,
    expect: &Expectation,
    trust: &TrustStore,
    ledger: &dyn ConsumedLedger,
) -> Result<VerifiedApproval, ApprovalError> {
    let statement = authenticate(approval, trust)?;
    check_binding(statement, expect)?;
    if !ledger.is_consumed(&statement.approval_id)? {
        return Err(ApprovalError::NotConsumed {
            approval_id: statement.approval_id.clone(),
        });
    }
    Ok(VerifiedApproval::new(
        approval.clone(),
        expect.require_fresh_review_decision,
    ))
}

/// Checks only that `approval` is well formed and signed by a key `trust`
/// holds (for showing an approval file, e.g. `phasehost status`; opening a
/// gate takes [`verify`] or [`verify_consumed`]).
pub fn check_signature(approval: &SignedApproval, trust: &TrustStore) -> Result<(), ApprovalError> {
    authenticate(approval, trust).map(|_| ())
}

/// The statement of `approval` once its shape, key and signature hold.
fn authenticate<'a>(
    approval: &'a SignedApproval,
    trust: &TrustStore,
) -> Result<&'a ApprovalStatement, ApprovalError> {
    let statement = &approval.statement;
    statement.validate().map_err(ApprovalError::malformed)?;
    verify_signature(
        &statement.canonical_bytes(),
        &approval.signature,
        &approval.public_key,
        &statement.key_id,
        trust,
    )?;
    Ok(statement)
}

/// Check that `signature_hex` is `public_key_hex`'s Ed25519 signature over
/// `signed`, that the key is the one `key_id` names and that `trust` holds it.
pub(crate) fn verify_signature(
    signed: &[u8],
    signature_hex: &str,
    public_key_hex: &str,
    claimed_key_id: &str,
    trust: &TrustStore,
) -> Result<(), ApprovalError> {
    let public = decode_public_key(public_key_hex).map_err(ApprovalError::malformed)?;
    if !is_lower_hex(signature_hex, 2 * Signature::BYTE_SIZE) {
        return Err(ApprovalError::malformed(
            "signature must be 128 lowercase hex characters",
        ));
    }
    let mut signature = [0u8; Signature::BYTE_SIZE];
    hex::decode_to_slice(signature_hex, &mut signature)
        .map_err(|e| ApprovalError::malformed(format!("signature: {e}")))?;
    let signer_id = key_id(&public);
    if signer_id != claimed_key_id {
        return Err(ApprovalError::malformed(
            "key_id does not match the embedded public key",
        ));
    }
    if !trust.contains(&public) {
        return Err(ApprovalError::UntrustedKey { key_id: signer_id });
    }
    public
        .verify_strict(signed, &Signature::from_bytes(&signature))
        .map_err(|_| ApprovalError::BadSignature)
}

/// [`verify`], then [`ConsumedLedger::consume`]: the approval is usable
/// exactly once.
pub fn verify_and_consume(
    approval: &SignedApproval,
    expect: &Expectation,
    trust: &TrustStore,
    ledger: &mut dyn ConsumedLedger,
    now: u64,
) -> Result<VerifiedApproval, ApprovalError> {
    let verified = verify(approval, expect, trust, &*ledger, now)?;
    ledger.consume(&verified)?;
    Ok(verified)
}

fn check_binding(statement: &ApprovalStatement, expect: &Expectation) -> Result<(), ApprovalError> {
    if statement.run_id != expect.run_id {
        return Err(ApprovalError::Mismatch {
            field: "run_id",
            expected: expect.run_id.clone(),
            found: statement.run_id.clone(),
        });
    }
    if statement.gate != expect.gate {
        return Err(ApprovalError::Mismatch {
            field: "gate",
            expected: expect.gate.as_str().to_owned(),
            found: statement.gate.as_str().to_owned(),
        });
    }
    let expected_digest = expect.evidence_digest.to_ascii_lowercase();
    if statement.evidence_digest != expected_digest {
        return Err(ApprovalError::Mismatch {
            field: "evidence_digest",
            expected: expected_digest,
            found: statement.evidence_digest.clone(),
        });
    }
    Ok(())
}

fn check_window(
    statement: &ApprovalStatement,
    ttl_secs: u64,
    now: u64,
) -> Result<(), ApprovalError> {
    if statement.issued_at > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
        return Err(ApprovalError::NotYetValid {
            issued_at: statement.issued_at,
            now,
        });
    }
    if now >= statement.expires_at {
        return Err(ApprovalError::Expired {
            expires_at: statement.expires_at,
            now,
        });
    }
    // validate() guarantees expires_at > issued_at.
    let lifetime_secs = statement.expires_at - statement.issued_at;
    if lifetime_secs > ttl_secs {
        return Err(ApprovalError::TtlTooLong {
            lifetime_secs,
            max_ttl_secs: ttl_secs,
        });
    }
    Ok(())
}
