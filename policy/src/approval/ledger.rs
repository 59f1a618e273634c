//! The ledger of consumed approvals: the trait and an in-memory ledger.

use std::collections::HashSet;

use super::error::ApprovalError;
use super::verified::VerifiedApproval;

/// Where consumed approval ids and their review decision ids are recorded.
/// Implementations: [`MemoryLedger`], [`super::FileLedger`]; the host adds
/// a database-backed one.
pub trait ConsumedLedger {
    /// True when this approval id was consumed.
    fn is_consumed(&self, approval_id: &str) -> Result<bool, ApprovalError>;

    /// True when any consumed approval carried this review decision id.
    fn review_decision_seen(&self, review_decision_id: &str) -> Result<bool, ApprovalError>;

    /// Records the approval as consumed, durably before returning `Ok`.
    /// Must refuse, atomically with the write, an approval id already
    /// consumed ([`ApprovalError::Replayed`]) and — when
    /// [`VerifiedApproval::requires_fresh_review_decision`] — a review
    /// decision already seen ([`ApprovalError::ReviewDecisionReused`]).
    fn consume(&mut self, approval: &VerifiedApproval) -> Result<(), ApprovalError>;
}

/// Consumed ids held in memory (tests, dry runs). Not durable.
#[derive(Debug, Clone, Default)]
pub struct MemoryLedger {
    ids: ConsumedIds,
}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }
}

impl ConsumedLedger for MemoryLedger {
    fn is_consumed(&self, approval_id: &str) -> Result<bool, ApprovalError> {
        Ok(self.ids.approvals.contains(approval_id))
    }

    fn review_decision_seen(&self, review_decision_id: &str) -> Result<bool, ApprovalError> {
        Ok(self.ids.reviews.contains(review_decision_id))
    }

    fn consume(&mut self, approval: &VerifiedApproval) -> Result<(), ApprovalError> {
        self.ids.check_consumable(approval)?;
        self.ids
            .insert(approval.approval_id(), approval.review_decision_id());
        Ok(())
    }
}

/// The two id sets every ledger keeps.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConsumedIds {
    pub(crate) approvals: HashSet<String>,
    pub(crate) reviews: HashSet<String>,
}

impl ConsumedIds {
    /// Refuses what [`ConsumedLedger::consume`] must refuse.
    pub(crate) fn check_consumable(
        &self,
        approval: &VerifiedApproval,
    ) -> Result<(), ApprovalError> {
        if self.approvals.contains(approval.approval_id()) {
            return Err(ApprovalError::Replayed {
                approval_id: approval.approval_id().to_owned(),
            });
        }
        if approval.requires_fresh_review_decision()
            && self.reviews.contains(approval.review_decision_id())
        {
            return Err(ApprovalError::ReviewDecisionReused {
                review_decision_id: approval.review_decision_id().to_owned(),
            });
        }
        Ok(())
    }

    /// Records one consumed approval; false when its id was already there.
    pub(crate) fn insert(&mut self, approval_id: &str, review_decision_id: &str) -> bool {
        self.reviews.insert(review_decision_id.to_owned());
        self.approvals.insert(approval_id.to_owned())
    }
}
