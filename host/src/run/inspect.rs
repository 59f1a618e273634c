//! `review` and `status`: what a run folder says, read and checked, for
//! the approver and the operator. Neither changes the run.

use super::state::{RunState, Status};
use super::{RunFolder, approvals, fingerprint, load_state, plan_stop, runner, trust};
use crate::plan::load_plan;
use crate::stop::{Stop, StopCode};
use phasehost_policy::approval::{self, Gate, TrustStore};
use std::path::{Path, PathBuf};

/// A review, written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Review {
    /// The gate it is for.
    pub gate: Gate,
    /// The digest the gate approves.
    pub evidence_digest: String,
    /// The review (Markdown).
    pub text: String,
    /// Its sha256, which an approval signs.
    pub sha256: String,
    /// Where it was written (`review/<gate>.md`).
    pub file: PathBuf,
}

/// The review of `gate` (default: the gate the run waits at), made from the
/// run's evidence and written to `review/<gate>.md`.
pub fn review(run_folder: &Path, plan_path: &Path, gate: Option<Gate>) -> Result<Review, Stop> {
    let folder = RunFolder::open(run_folder)?;
    let state = load_state(&folder)?;
    let gate = match (gate, &state.status) {
        (Some(gate), _) => gate,
        (None, Status::Paused { gate, .. }) => gate.clone(),
        (None, _) => {
            return Err(Stop::new(
                StopCode::ApprovalMismatch,
                "the run is not paused at a gate; name one with --gate",
            ));
        }
    };
    let plan = load_plan(plan_path).map_err(plan_stop)?;
    if plan.approvals.gate(gate.as_str()).is_none() {
        return Err(Stop::new(
            StopCode::ApprovalMismatch,
            format!(
                "the plan has no approval gate `{gate}`; its gates: {}",
                plan.approvals.names()
            ),
        ));
    }
    if fingerprint::file_sha256(plan_path, "plan")? != state.fingerprint.plan_sha256 {
        return Err(Stop::new(
            StopCode::Drift,
            format!(
                "{} is not the plan this run started with",
                plan_path.display()
            ),
        ));
    }
    let (digest, bound) = runner::paused_digest_from_evidence(&plan, &state, &folder, &gate)?;
    let text = approvals::review_text(&plan, &state, &gate, &digest, &bound);
    let file = folder.write_review(&gate, &text)?;
    Ok(Review {
        gate,
        evidence_digest: digest,
        sha256: crate::digest::sha256_hex(text.as_bytes()),
        text,
        file,
    })
}

/// A human-readable status of a run folder. Approvals are read from the
/// signed files only; with `plan`, each is checked against the plan's
/// trusted keys (without it, the line says it is unchecked).
pub fn status(run_folder: &Path, plan: Option<&Path>) -> Result<String, Stop> {
    let folder = RunFolder::open(run_folder)?;
    let state = load_state(&folder)?;
    let trust = match plan {
        Some(plan) => Some(trust(&load_plan(plan).map_err(plan_stop)?)?),
        None => None,
    };
    let mut out = format!(
        "run       {}\ndocument  {} ({})\nmode      {}\n",
        state.run_id,
        state.document_id,
        state.version,
        state.mode.as_str()
    );
    out.push_str(&format!("status    {}\n", status_line(&state, run_folder)));
    out.push_str(&format!("plan      {}\n", state.plan_path.display()));
    for record in &state.phases {
        out.push_str(&format!(
            "  done    {:<20} evidence {}\n",
            record.phase,
            record
                .evidence_digest
                .get(..16)
                .unwrap_or(&record.evidence_digest)
        ));
    }
    if let Ok(signed) = folder.load_start() {
        let line = start_signature_line(&signed, trust.as_ref(), &state.run_id);
        out.push_str(&format!("started   {line}\n"));
    }
    for gate in folder.approval_gates().unwrap_or_default() {
        for path in folder.approval_files(&gate).unwrap_or_default() {
            let line = match folder.load_approval(&path) {
                Err(e) => format!("unreadable: {e}"),
                Ok(signed) => approval_signature_line(&signed, trust.as_ref(), &state.run_id),
            };
            out.push_str(&format!("  approval {gate}: {line}\n"));
        }
    }
    Ok(out)
}

/// Where the run stands, with what to do next when it waits for an approval.
fn status_line(state: &RunState, run_folder: &Path) -> String {
    match &state.status {
        Status::Running => format!("running (or interrupted) at phase {}", state.next_phase + 1),
        Status::Paused {
            gate,
            evidence_digest,
            before_phase,
        } => format!(
            "paused at {gate} before {before_phase}, waiting for an approval of digest {evidence_digest}\n          next: phasehost approve {} --gate {} --plan <plan> --key <key-file>, then phasehost resume {} --plan <plan>",
            run_folder.display(),
            gate.as_str(),
            run_folder.display()
        ),
        Status::Stopped { code, phase } => format!(
            "stopped: {code}{} (see stop.json)",
            phase
                .as_deref()
                .map(|p| format!(" in {p}"))
                .unwrap_or_default()
        ),
        Status::Completed => "completed".to_string(),
    }
}

/// Who signed the run's start, checked against `trust` when there is one.
fn start_signature_line(
    signed: &approval::SignedStart,
    trust: Option<&TrustStore>,
    run_id: &str,
) -> String {
    signature_line(&signed.statement.key_id, trust, |trust| {
        approval::verify_start(signed, trust).map(|st| st.run_id == run_id)
    })
}

/// Who signed an approval, checked against `trust` when there is one.
fn approval_signature_line(
    signed: &approval::SignedApproval,
    trust: Option<&TrustStore>,
    run_id: &str,
) -> String {
    signature_line(&signed.statement.key_id, trust, |trust| {
        approval::check_signature(signed, trust).map(|()| signed.statement.run_id == run_id)
    })
}

/// Who signed with `key`: `verify` checks the signature against the trust
/// store and answers whether the statement is for this run.
fn signature_line(
    key: &str,
    trust: Option<&TrustStore>,
    verify: impl FnOnce(&TrustStore) -> Result<bool, approval::ApprovalError>,
) -> String {
    match trust {
        None => format!("signed by key {key} (not checked: pass --plan)"),
        Some(trust) => match verify(trust) {
            Ok(true) => format!("signed by {}, a key the plan trusts", trust.describe(key)),
            Ok(false) => format!("signed by key {key} for another run: not valid here"),
            Err(e) => format!("NOT VALID: {e}"),
        },
    }
}
