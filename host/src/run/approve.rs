//! `approve`: sign an approval for the gate a run is paused at, after
//! every check `resume` would make (the plan the run started with, a
//! trusted key, the digest the evidence holds, the gate's separation of
//! duties), with the review the approver read.

use super::state::{RunState, Status};
use super::{
    RunFolder, approvals, fingerprint, ids, load_state, plan_stop, runner, trust,
    trusted_signing_key, worker,
};
use crate::plan::{Plan, load_plan};
use crate::stop::{Stop, StopCode};
use phasehost_policy::approval::{self, Gate, TrustStore};
use std::path::{Path, PathBuf};

/// What `approve` needs.
#[derive(Debug, Clone)]
pub struct ApproveRequest {
    /// The run folder.
    pub run_folder: PathBuf,
    /// The gate to approve.
    pub gate: Gate,
    /// The approver's signing key file.
    pub key_file: PathBuf,
    /// The plan the run started with (TTL, trusted keys, the queue).
    pub plan: PathBuf,
}

/// A signed approval, written.
#[derive(Debug, Clone)]
pub struct Approved {
    /// The approval file in the run folder.
    pub file: PathBuf,
    /// The review the approver was shown (`review/<gate>.md`), whose
    /// sha256 the approval signs.
    pub review: PathBuf,
    /// Who signed: `Full Name <email> (key …)`.
    pub signer: String,
    /// Valid approvals of the gate now, this one included.
    pub approvals: usize,
    /// How many the gate needs.
    pub quorum: u32,
    /// Whether the run's document was waiting in the PostgreSQL queue and
    /// is now claimable again (a worker resumes it).
    pub requeued: bool,
}

/// The key ids of `gate`'s approvals in `folder` that are signed by a key
/// `trust` holds and bound to this run, gate and digest.
fn approvers_on_file(
    folder: &RunFolder,
    trust: &TrustStore,
    run_id: &str,
    gate: &Gate,
    digest: Option<&str>,
) -> Result<Vec<String>, Stop> {
    let mut keys = Vec::new();
    for path in folder.approval_files(gate)? {
        let Ok(signed) = folder.load_approval(&path) else {
            continue;
        };
        let st = &signed.statement;
        let bound = st.run_id == run_id
            && st.gate == *gate
            && digest.is_none_or(|d| st.evidence_digest == d);
        if bound && approval::check_signature(&signed, trust).is_ok() {
            keys.push(st.key_id.clone());
        }
    }
    Ok(keys)
}

/// Sign an approval for the gate a run is paused at, with the key in
/// `key_file` — after checking everything `resume` would: the plan is the
/// one the run started with, the key is one it trusts, the digest is the
/// one the evidence holds, and the gate's separation of duties allows this
/// approver. The review the approver reads is written to
/// `review/<gate>.md` and its sha256 signed with the approval; `confirm`
/// is shown it and may still say no. A document waiting in the plan's
/// PostgreSQL queue becomes claimable again.
pub fn approve(request: &ApproveRequest) -> Result<Approved, Stop> {
    approve_with(request, &mut |_| true)
}

/// [`approve`], asking `confirm` (with the review text) before signing.
pub fn approve_with(
    request: &ApproveRequest,
    confirm: &mut dyn FnMut(&str) -> bool,
) -> Result<Approved, Stop> {
    let folder = RunFolder::open(&request.run_folder)?;
    let state = load_state(&folder)?;
    let gate = request.gate.clone();
    let plan = load_plan(&request.plan).map_err(plan_stop)?;
    let (rules, evidence_digest) = paused_gate(&plan, &state, &gate)?;
    check_started_with(&request.plan, &state)?;
    let bound_evidence = paused_evidence(&plan, &state, &folder, &gate, evidence_digest)?;
    let trust = trust(&plan)?;
    let key = trusted_approver_key(&trust, &request.key_file)?;
    let key_id = key.key_id();
    let signer = trust.describe(&key_id);
    check_approver_duties(&folder, &trust, &state, &plan, &rules, &key_id, &signer)?;
    let path = RunFolder::approval_file(&gate, &key_id);
    if folder.holds(&path) {
        return Err(Stop::new(
            StopCode::ApprovalNotDistinct,
            format!(
                "{signer} has already approved {gate} of this run; a quorum needs distinct approvers"
            ),
        ));
    }
    let review = approvals::review_text(&plan, &state, &gate, evidence_digest, &bound_evidence);
    let review_file = folder.write_review(&gate, &review)?;
    if !confirm(&review) {
        return Err(Stop::new(
            StopCode::ApprovalMissing,
            "the approver declined after reading the review; nothing was signed",
        ));
    }
    let statement = approval::ApprovalStatement::new(
        state.run_id.clone(),
        gate.clone(),
        evidence_digest.clone(),
        ids::now_secs(),
        rules.ttl_secs,
        key_id.clone(),
    )
    .with_review(crate::digest::sha256_hex(review.as_bytes()));
    save_approval(
        &folder,
        &gate,
        &path,
        &approval::sign(statement, key.signing_key()),
    )?;
    let approvals = approvers_on_file(
        &folder,
        &trust,
        &state.run_id,
        &gate,
        Some(evidence_digest.as_str()),
    )?
    .len();
    let requeued = requeue(&plan, &state, &folder, &path)?;
    Ok(Approved {
        file: folder.dir().shown(&path),
        review: review_file,
        signer,
        approvals,
        quorum: rules.quorum,
        requeued,
    })
}

/// The plan's rules of `gate`, and the digest the run is paused at — which
/// must be at `gate`.
fn paused_gate<'s>(
    plan: &Plan,
    state: &'s RunState,
    gate: &Gate,
) -> Result<(crate::plan::ApprovalGate, &'s String), Stop> {
    let Some(rules) = plan.approvals.gate(gate.as_str()).cloned() else {
        return Err(Stop::new(
            StopCode::ApprovalMismatch,
            format!(
                "the plan has no approval gate `{gate}`; its gates: {}",
                plan.approvals.names()
            ),
        ));
    };
    let Status::Paused {
        gate: waiting,
        evidence_digest,
        ..
    } = &state.status
    else {
        return Err(Stop::new(
            StopCode::ApprovalMismatch,
            "the run is not paused at an approval gate",
        ));
    };
    if waiting != gate {
        return Err(Stop::new(
            StopCode::ApprovalMismatch,
            format!("the run is paused at {waiting}, not {gate}"),
        ));
    }
    Ok((rules, evidence_digest))
}

/// The plan file at `plan_path` must be the one the run started with.
fn check_started_with(plan_path: &Path, state: &RunState) -> Result<(), Stop> {
    let plan_sha = fingerprint::file_sha256(plan_path, "plan")?;
    if plan_sha != state.fingerprint.plan_sha256 {
        return Err(Stop::new(
            StopCode::Drift,
            format!(
                "{} is not the plan this run started with; approve with that plan",
                plan_path.display()
            ),
        ));
    }
    Ok(())
}

/// The evidence the paused gate binds to, recomputed from the run folder;
/// the digest it gives must be the one the state is paused at.
fn paused_evidence(
    plan: &Plan,
    state: &RunState,
    folder: &RunFolder,
    gate: &Gate,
    evidence_digest: &str,
) -> Result<serde_json::Value, Stop> {
    let (bound, bound_evidence) = runner::paused_digest_from_evidence(plan, state, folder, gate)?;
    if bound != evidence_digest {
        return Err(Stop::new(
            StopCode::Drift,
            "the digest the run is paused at is not the one its evidence documents hold; nothing was signed",
        ));
    }
    Ok(bound_evidence)
}

/// The approver's signing key, which must be one the plan trusts.
fn trusted_approver_key(
    trust: &TrustStore,
    key_file: &Path,
) -> Result<approval::SigningKeyFile, Stop> {
    trusted_signing_key(trust, key_file, StopCode::ApprovalInvalid, |key_id| {
        format!("key {key_id} is not among the plan's [approvals] trusted_keys; nothing was signed")
    })
}

/// The gate's separation of duties for approver `key_id`, against the
/// run's verified starter and the approvals on file for other gates.
fn check_approver_duties(
    folder: &RunFolder,
    trust: &TrustStore,
    state: &RunState,
    plan: &Plan,
    rules: &crate::plan::ApprovalGate,
    key_id: &str,
    signer: &str,
) -> Result<(), Stop> {
    let starter =
        approvals::verified_starter(folder, trust, state, plan.approvals.require_signed_start)?;
    let approvers_of = |other: &str| -> Vec<String> {
        let Ok(other) = Gate::new(other) else {
            return Vec::new(); // the plan's loader refuses such a name
        };
        approvers_on_file(folder, trust, &state.run_id, &other, None).unwrap_or_default()
    };
    approvals::check_duties(
        rules,
        &plan.approval_location(&rules.name),
        key_id,
        signer,
        starter.as_deref(),
        &approvers_of,
    )
}

/// Write the signed approval to `path` in the gate's approvals folder.
fn save_approval(
    folder: &RunFolder,
    gate: &Gate,
    path: &str,
    signed: &approval::SignedApproval,
) -> Result<(), Stop> {
    folder.ensure_approval_dir(gate)?;
    approval::save_approval_in(folder.dir(), path, signed).map_err(|e| {
        Stop::new(
            StopCode::KbWriteFailed,
            format!("cannot write {}: {e}", folder.dir().shown(path).display()),
        )
    })
}

/// Make the run's document claimable again if it waits in the plan's
/// PostgreSQL queue; whether it did.
fn requeue(plan: &Plan, state: &RunState, folder: &RunFolder, path: &str) -> Result<bool, Stop> {
    Ok(plan.store.postgres.is_some()
        && worker::release_waiting(plan, &state.run_id).map_err(|stop| {
            Stop::new(
                stop.code,
                format!(
                    "the approval is saved at {}, but the queue could not be told: {}",
                    folder.dir().shown(path).display(),
                    stop.message
                ),
            )
        })?)
}
