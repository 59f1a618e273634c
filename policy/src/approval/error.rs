//! The one error type of approval verification and the ledger.

use std::path::PathBuf;

use super::statement::MAX_CLOCK_SKEW_SECS;

/// Why an approval was refused (or the ledger failed). Each variant maps to
/// one of the host's stop codes, see [`ApprovalError::stop_code`].
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    /// There is no approval file where one is needed.
    #[error("no approval file at {}: sign one with `phasehost approve`", path.display())]
    Missing {
        /// Where the approval was expected.
        path: PathBuf,
    },
    /// The approval could not be read, does not parse, or a field has the
    /// wrong shape (e.g. a digest that is not 64 lowercase hex characters).
    #[error("approval is malformed: {detail}")]
    Malformed {
        /// What is wrong.
        detail: String,
    },
    /// The approval's public key is not in the trust store.
    #[error("approval is signed by key {key_id}, which is not in the trust store")]
    UntrustedKey {
        /// Key id of the (untrusted) public key.
        key_id: String,
    },
    /// The signature does not verify over the statement.
    #[error(
        "approval signature does not verify: the statement was altered or signed by another key"
    )]
    BadSignature,
    /// The approval's validity window is over.
    #[error("approval expired at {expires_at} (now {now}): sign a new one")]
    Expired {
        /// End of the validity window (unix seconds).
        expires_at: u64,
        /// The host's clock (unix seconds).
        now: u64,
    },
    /// The approval's validity window is longer than the plan allows.
    #[error(
        "approval is valid for {lifetime_secs}s, longer than the {max_ttl_secs}s the plan allows: sign a new one with a shorter TTL"
    )]
    TtlTooLong {
        /// `expires_at - issued_at`.
        lifetime_secs: u64,
        /// The largest lifetime the expectation accepts.
        max_ttl_secs: u64,
    },
    /// The approval was issued further in the future than the clock skew allows.
    #[error(
        "approval is issued at {issued_at}, in the future (now {now}, allowed skew {MAX_CLOCK_SKEW_SECS}s): check the clocks"
    )]
    NotYetValid {
        /// The statement's `issued_at` (unix seconds).
        issued_at: u64,
        /// The host's clock (unix seconds).
        now: u64,
    },
    /// The approval is bound to another run, gate or evidence digest.
    #[error("approval is bound to {field} {found:?}, but this run expects {expected:?}")]
    Mismatch {
        /// `"run_id"`, `"gate"` or `"evidence_digest"`.
        field: &'static str,
        /// What this run expects.
        expected: String,
        /// What the approval says.
        found: String,
    },
    /// The approval id was already consumed.
    #[error("approval {approval_id} was already consumed: an approval is good for one use")]
    Replayed {
        /// The consumed approval id.
        approval_id: String,
    },
    /// A run goes on past a gate whose approval the ledger never consumed.
    #[error(
        "approval {approval_id} was never consumed, yet the run's progress says its gate was passed: the gate is not open"
    )]
    NotConsumed {
        /// The approval id the ledger does not hold.
        approval_id: String,
    },
    /// The gate needs a fresh review decision and this one was used before.
    #[error(
        "review decision {review_decision_id} was already used by a consumed approval, and this gate needs a fresh review decision"
    )]
    ReviewDecisionReused {
        /// The reused review decision id.
        review_decision_id: String,
    },
    /// The consumed-approvals ledger could not be read or written, or is corrupt.
    #[error("approval ledger: {detail}")]
    Ledger {
        /// What failed (path, line, cause).
        detail: String,
    },
}

impl ApprovalError {
    /// The host stop code (kebab-case, as in the host's `StopCode`) this
    /// refusal ends a run with.
    pub fn stop_code(&self) -> &'static str {
        match self {
            Self::Missing { .. } | Self::NotConsumed { .. } => "approval-missing",
            Self::Malformed { .. } | Self::UntrustedKey { .. } | Self::BadSignature => {
                "approval-invalid"
            }
            Self::Expired { .. } | Self::TtlTooLong { .. } | Self::NotYetValid { .. } => {
                "approval-expired"
            }
            Self::Mismatch { .. } => "approval-mismatch",
            Self::Replayed { .. } => "approval-replayed",
            Self::ReviewDecisionReused { .. } => "review-decision-reused",
            Self::Ledger { .. } => "store-failed",
        }
    }

    pub(crate) fn malformed(detail: impl Into<String>) -> Self {
        Self::Malformed {
            detail: detail.into(),
        }
    }

    pub(crate) fn ledger(detail: impl Into<String>) -> Self {
        Self::Ledger {
            detail: detail.into(),
        }
    }
}
