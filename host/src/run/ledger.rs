//! The consumed-approvals ledger of a run: in the plan's store for a live
//! run (the store's `consumed_approvals` table, whose unique keys make
//! consumption atomic across processes and machines, and which someone who
//! can write the KB folder cannot edit), in `<kb>/consumed-approvals.jsonl`
//! for a dry run (whose store writes are all rolled back, and whose
//! approvals open nothing that lasts) or a plan without a store.

use crate::runtime::state::SharedStore;
use crate::store::StoreError;
use phasehost_policy::approval::{ApprovalError, ConsumedLedger, VerifiedApproval};

/// The ledger in the store.
pub struct StoreLedger {
    store: SharedStore,
}

impl StoreLedger {
    /// The ledger of `store`.
    pub fn new(store: SharedStore) -> Self {
        Self { store }
    }

    fn call<T>(
        &self,
        f: impl FnOnce(&mut dyn crate::store::StoreBackend) -> Result<T, StoreError>,
    ) -> Result<T, ApprovalError> {
        let mut store = self.store.lock().map_err(|_| ApprovalError::Ledger {
            detail: "the store lock is poisoned".into(),
        })?;
        f(store.as_mut()).map_err(|e| ApprovalError::Ledger {
            detail: format!("the store's consumed-approvals table: {e}"),
        })
    }
}

impl ConsumedLedger for StoreLedger {
    fn is_consumed(&self, approval_id: &str) -> Result<bool, ApprovalError> {
        self.call(|s| s.approval_consumed(approval_id))
    }

    fn review_decision_seen(&self, review_decision_id: &str) -> Result<bool, ApprovalError> {
        self.call(|s| s.review_decision_seen(review_decision_id))
    }

    fn consume(&mut self, approval: &VerifiedApproval) -> Result<(), ApprovalError> {
        let st = approval.statement();
        let review = approval
            .requires_fresh_review_decision()
            .then_some(st.review_decision_id.as_str());
        let consumed = {
            let mut store = self.store.lock().map_err(|_| ApprovalError::Ledger {
                detail: "the store lock is poisoned".into(),
            })?;
            store.consume_approval(
                &st.approval_id,
                review,
                &st.run_id,
                st.gate.as_str(),
                &st.evidence_digest,
                &st.key_id,
            )
        };
        match consumed {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict(m)) if m.starts_with("review decision") => {
                Err(ApprovalError::ReviewDecisionReused {
                    review_decision_id: st.review_decision_id.clone(),
                })
            }
            Err(StoreError::Conflict(_)) => Err(ApprovalError::Replayed {
                approval_id: st.approval_id.clone(),
            }),
            Err(e) => Err(ApprovalError::Ledger {
                detail: format!("the store's consumed-approvals table: {e}"),
            }),
        }
    }
}
