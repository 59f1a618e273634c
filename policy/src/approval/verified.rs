//! The proof type of a passed verification, shared by `verify` (which
//! makes it) and the ledgers (which consume it).

use super::signed::SignedApproval;
use super::statement::ApprovalStatement;

/// An approval that passed [`super::verify`]. Only `verify` makes one (its
/// fields are private to this module), so a ledger only ever consumes
/// verified approvals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedApproval {
    approval: SignedApproval,
    fresh_review_required: bool,
}

impl VerifiedApproval {
    /// For `verify` only, once every check passed.
    pub(super) fn new(approval: SignedApproval, fresh_review_required: bool) -> Self {
        Self {
            approval,
            fresh_review_required,
        }
    }

    /// The verified statement.
    pub fn statement(&self) -> &ApprovalStatement {
        &self.approval.statement
    }

    /// The whole signed approval (e.g. to keep as evidence).
    pub fn signed(&self) -> &SignedApproval {
        &self.approval
    }

    /// The approval id.
    pub fn approval_id(&self) -> &str {
        &self.approval.statement.approval_id
    }

    /// The review decision id.
    pub fn review_decision_id(&self) -> &str {
        &self.approval.statement.review_decision_id
    }

    /// Whether consuming must also refuse a review decision seen before.
    pub fn requires_fresh_review_decision(&self) -> bool {
        self.fresh_review_required
    }
}
