//! Opening an approval gate: every signed file under `approvals/<gate>/`
//! (one per approver, named by key id) verified against the plan's trusted
//! keys, the consumed ledger and the digest recomputed from the evidence;
//! the gate's separation of duties checked (the run's starter may not
//! approve, a gate's approvers may be required to differ from another
//! gate's); the gate opens when `quorum` distinct approvers signed, and
//! their approvals are consumed together. The same checks run when a
//! resumed run goes past a gate it passed before (then every approval must
//! already be consumed) and, before anything is written, in `approve`.

use super::kb::RunFolder;
use super::review::{ReviewInput, render};
use super::state::RunState;
use crate::digest::sha256_hex;
use crate::plan::{ApprovalGate, Plan};
use crate::stop::{Stop, StopCode};
use phasehost_policy::approval::{
    self, ApprovalError, ConsumedLedger, Expectation, Gate, TrustStore, VerifiedApproval,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One approver of an opened gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approver {
    /// The approval's id.
    pub approval_id: String,
    /// The signing key's id.
    pub key_id: String,
    /// Who holds the key, as the plan's trusted key file says.
    pub holder: Option<String>,
    /// The approval's review decision id.
    pub review_decision_id: String,
}

/// A gate the run went through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedGate {
    /// The digest its approvals bound to.
    pub evidence_digest: String,
    /// Who approved, in key-id order.
    pub approvers: Vec<Approver>,
}

impl OpenedGate {
    /// The pseudo-evidence `@<gate>` later phases and gates see.
    pub fn pseudo_evidence(&self, gate: &Gate) -> (String, String) {
        let first = &self.approvers[0];
        let approvers: Vec<Value> = self
            .approvers
            .iter()
            .map(|a| json!({"key_id": a.key_id, "holder": a.holder, "approval_id": a.approval_id}))
            .collect();
        let value = json!({
            "gate": gate.as_str(),
            "approval_id": first.approval_id,
            "evidence_digest": self.evidence_digest,
            "key_id": first.key_id,
            "review_decision_id": first.review_decision_id,
            "approvers": approvers,
        });
        (format!("@{}", gate.as_str()), value.to_string())
    }
}

/// The review text of `gate` for the bound phase's `evidence`.
pub fn review_text(
    plan: &Plan,
    state: &RunState,
    gate: &Gate,
    digest: &str,
    evidence: &Value,
) -> String {
    let binds = plan
        .approvals
        .gate(gate.as_str())
        .map(|g| g.digest.as_str())
        .unwrap_or_default();
    render(&ReviewInput {
        gate: gate.clone(),
        run_id: &state.run_id,
        document_id: &state.document_id,
        version: &state.version,
        binds,
        digest,
        evidence,
    })
}

/// The key id of whoever signed the run's start, verified; `None` when the
/// run has no signed start and the plan does not require one.
pub fn verified_starter(
    folder: &RunFolder,
    trust: &TrustStore,
    state: &RunState,
    required: bool,
) -> Result<Option<String>, Stop> {
    let unsigned = |why: String| Stop::new(StopCode::StartUnsigned, why);
    let signed = match folder.load_start() {
        Err(ApprovalError::Missing { .. }) if !required => return Ok(None),
        Err(ApprovalError::Missing { .. }) => {
            return Err(unsigned(
                "the plan requires a signed start ([approvals] require_signed_start) and the run has none".into(),
            ));
        }
        Err(e) => return Err(unsigned(format!("the run's start.json: {e}"))),
        Ok(signed) => signed,
    };
    let statement = approval::verify_start(&signed, trust)
        .map_err(|e| unsigned(format!("the run's start.json: {e}")))?;
    let fp = &state.fingerprint;
    if statement.run_id != state.run_id
        || statement.plan_sha256 != fp.plan_sha256
        || statement.source_sha256 != fp.source_sha256
    {
        return Err(unsigned(
            "the run's start.json was signed for another run, plan or source".into(),
        ));
    }
    Ok(Some(statement.key_id.clone()))
}

/// The gate's separation of duties for one approver `key_id`.
pub fn check_duties(
    rules: &ApprovalGate,
    location: &str,
    key_id: &str,
    who: &str,
    starter: Option<&str>,
    approvers_of: &dyn Fn(&str) -> Vec<String>,
) -> Result<(), Stop> {
    let label = rules.name.as_str();
    if rules.prevent_self_review && starter == Some(key_id) {
        return Err(Stop::new(
            StopCode::ApprovalSelfReview,
            format!(
                "{who} started this run and may not approve it ([[approvals.gates]] `{label}` prevent_self_review = true, {location})"
            ),
        ));
    }
    for other in &rules.distinct_from {
        if approvers_of(other).iter().any(|k| k == key_id) {
            return Err(Stop::new(
                StopCode::ApprovalNotDistinct,
                format!(
                    "{who} approved {other} of this run, and {label} needs someone else ([[approvals.gates]] `{label}` distinct_from = [\"{other}\"], {location})"
                ),
            ));
        }
    }
    Ok(())
}

/// What a gate check found: opened, or waiting for more approvers.
pub(super) enum GateState {
    /// Quorum met; approvals consumed.
    Open(OpenedGate),
    /// Fewer valid approvals than the quorum.
    Waiting,
}

/// The run's gatekeeper: the keys it trusts, the ledger of consumed
/// approvals, and the gates opened in this process.
pub(super) struct GateKeeper {
    trust: TrustStore,
    ledger: Box<dyn ConsumedLedger + Send>,
    /// Approvals verified from their signed files in this process, by gate.
    opened: BTreeMap<String, OpenedGate>,
}

/// What a gate check reads of the run: its plan, state and folder.
#[derive(Clone, Copy)]
pub(super) struct RunView<'a> {
    pub(super) plan: &'a Plan,
    pub(super) state: &'a RunState,
    pub(super) folder: &'a RunFolder,
}

/// The digest a gate's approvals bind to, and the bound phase's evidence
/// (for the review digest).
pub(super) struct Binding<'a> {
    pub(super) digest: &'a str,
    pub(super) evidence: &'a Value,
}

impl GateKeeper {
    pub(super) fn new(trust: TrustStore, ledger: Box<dyn ConsumedLedger + Send>) -> Self {
        Self {
            trust,
            ledger,
            opened: BTreeMap::new(),
        }
    }

    /// Check `rules` (the gate standing before `before_phase`, bound to
    /// `binding`, approvals valid its `ttl_secs`) for the run `run`. With
    /// `replaying`, every approval must already be consumed by this run and
    /// nothing is consumed.
    pub(super) fn check_gate(
        &mut self,
        run: RunView<'_>,
        rules: &ApprovalGate,
        binding: Binding<'_>,
        before_phase: &str,
        replaying: bool,
    ) -> Result<GateState, Stop> {
        let stop = |s: Stop| s.in_phase(before_phase);
        let gate = rules.id();
        let digest = binding.digest;
        let starter = verified_starter(
            run.folder,
            &self.trust,
            run.state,
            run.plan.approvals.require_signed_start,
        )
        .map_err(stop)?;
        let review = review_text(run.plan, run.state, &gate, digest, binding.evidence);
        let review_sha = sha256_hex(review.as_bytes());
        let expect = Expectation::new(
            run.state.run_id.clone(),
            gate.clone(),
            digest,
            rules.ttl_secs,
        )
        .with_fresh_review_decision(rules.fresh_review_decision);
        let wanted = Wanted {
            rules,
            expect: &expect,
            review_sha: &review_sha,
            starter: starter.as_deref(),
            replaying,
        };
        let mut valid: Vec<(VerifiedApproval, bool)> = Vec::new();
        for path in run.folder.approval_files(&gate).map_err(stop)? {
            valid.push(self.verified_approval(run, &path, &wanted).map_err(stop)?);
        }
        if valid.len() < rules.quorum as usize {
            if replaying {
                return Err(stop(Stop::new(
                    StopCode::ApprovalMissing,
                    format!(
                        "the run went past {gate}, but only {} of the {} approvals it needs are there",
                        valid.len(),
                        rules.quorum
                    ),
                )));
            }
            return Ok(GateState::Waiting);
        }
        let opened = self.open_gate(&gate, digest, &valid).map_err(stop)?;
        Ok(GateState::Open(opened))
    }

    /// One signed file of the gate, verified against everything `wanted`
    /// says: named for its key, signed by a trusted key for this run, gate
    /// and digest, within its TTL, not replayed (or, `replaying`, consumed
    /// by this run), the review it signed the review of this evidence, the
    /// gate's separation of duties kept. With whether it was consumed.
    fn verified_approval(
        &self,
        run: RunView<'_>,
        path: &str,
        wanted: &Wanted<'_>,
    ) -> Result<(VerifiedApproval, bool), Stop> {
        let refuse = |e: ApprovalError| approval_stop(&e);
        let signed = run.folder.load_approval(path).map_err(refuse)?;
        let key_id = signed.statement.key_id.clone();
        let named_for = path
            .rsplit('/')
            .next()
            .and_then(|n| n.strip_suffix(".json"));
        if named_for != Some(key_id.as_str()) {
            return Err(Stop::new(
                StopCode::ApprovalInvalid,
                format!(
                    "{} holds an approval signed by key {key_id}",
                    run.folder.dir().shown(path).display()
                ),
            ));
        }
        let consumed = self
            .ledger
            .is_consumed(&signed.statement.approval_id)
            .map_err(refuse)?;
        let verified = if consumed {
            approval::verify_consumed(&signed, wanted.expect, &self.trust, self.ledger.as_ref())
        } else if wanted.replaying {
            Err(ApprovalError::NotConsumed {
                approval_id: signed.statement.approval_id.clone(),
            })
        } else {
            approval::verify(
                &signed,
                wanted.expect,
                &self.trust,
                self.ledger.as_ref(),
                super::ids::now_secs(),
            )
        }
        .map_err(refuse)?;
        if let Some(signed_review) = &verified.statement().review_sha256
            && signed_review != wanted.review_sha
        {
            return Err(Stop::new(
                StopCode::ApprovalMismatch,
                format!(
                    "{} signed a review that is not the review of this run's evidence (review digest mismatch)",
                    self.trust.describe(&key_id)
                ),
            ));
        }
        let approvers_of = |g: &str| -> Vec<String> {
            self.opened
                .get(g)
                .map(|o| o.approvers.iter().map(|a| a.key_id.clone()).collect())
                .unwrap_or_default()
        };
        let rules = wanted.rules;
        check_duties(
            rules,
            &run.plan.approval_location(rules.id().as_str()),
            &key_id,
            &self.trust.describe(&key_id),
            wanted.starter,
            &approvers_of,
        )?;
        Ok((verified, consumed))
    }

    /// The quorum is met: consume the approvals not consumed yet (together,
    /// after all were verified) and record the gate as opened by them.
    fn open_gate(
        &mut self,
        gate: &Gate,
        digest: &str,
        valid: &[(VerifiedApproval, bool)],
    ) -> Result<OpenedGate, Stop> {
        for (verified, consumed) in valid {
            if !consumed {
                self.ledger
                    .consume(verified)
                    .map_err(|e| approval_stop(&e))?;
            }
        }
        let approvers = valid
            .iter()
            .map(|(v, _)| Approver {
                approval_id: v.approval_id().to_string(),
                key_id: v.statement().key_id.clone(),
                holder: self.trust.holder(&v.statement().key_id).map(str::to_string),
                review_decision_id: v.review_decision_id().to_string(),
            })
            .collect();
        let opened = OpenedGate {
            evidence_digest: digest.to_string(),
            approvers,
        };
        self.opened
            .insert(gate.as_str().to_string(), opened.clone());
        Ok(opened)
    }
}

/// What every approval file of a gate must satisfy (see
/// [`GateKeeper::verified_approval`]).
struct Wanted<'a> {
    rules: &'a ApprovalGate,
    expect: &'a Expectation,
    /// sha256 of the review of the bound evidence.
    review_sha: &'a str,
    /// The verified key id of the run's starter.
    starter: Option<&'a str>,
    replaying: bool,
}

/// Every approval refusal as its stop code (exhaustive: a new refusal
/// does not compile until it has one).
pub(super) fn approval_stop(e: &ApprovalError) -> Stop {
    let code = match e {
        ApprovalError::Missing { .. } | ApprovalError::NotConsumed { .. } => {
            StopCode::ApprovalMissing
        }
        ApprovalError::Malformed { .. }
        | ApprovalError::UntrustedKey { .. }
        | ApprovalError::BadSignature => StopCode::ApprovalInvalid,
        ApprovalError::Expired { .. }
        | ApprovalError::TtlTooLong { .. }
        | ApprovalError::NotYetValid { .. } => StopCode::ApprovalExpired,
        ApprovalError::Mismatch { .. } => StopCode::ApprovalMismatch,
        ApprovalError::Replayed { .. } => StopCode::ApprovalReplayed,
        ApprovalError::ReviewDecisionReused { .. } => StopCode::ReviewDecisionReused,
        ApprovalError::Ledger { .. } => StopCode::KbWriteFailed,
    };
    Stop::new(code, e.to_string())
}
