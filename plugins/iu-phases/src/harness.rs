//! A native stand-in for the host's run loop, for tests and benchmarks: it
//! runs the 11 phase functions in order on a [`MemoryStore`], adds the
//! host's pseudo-evidence (`@host`, `@cutplan-rerun`, `@sg1`, `@sg2`) where
//! the host adds it, enforces each phase's grants, and in a dry run rolls
//! the store back at the end. Approvals are taken as given (the host checks
//! signatures); gates are not evaluated here (the iu-gates tests do that
//! over [`RunRecord::checkpoints`]).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::domain::Bits;
use crate::memory::{MemoryStore, PhaseGrants};
use crate::{Input, PHASES, Refusal, phase_fn};

/// What one simulated run needs.
#[derive(Debug, Clone, Default)]
pub struct RunSpec {
    /// The run id.
    pub run_id: String,
    /// Dry run (roll the store back at the end).
    pub dry_run: bool,
    /// `[phases.config]` per phase, as JSON objects (missing = `{}`).
    pub configs: BTreeMap<String, String>,
    /// Grants per phase; `None` = everything allowed.
    pub grants: Option<BTreeMap<String, PhaseGrants>>,
    /// Phases run twice (the second evidence becomes `@<phase>-rerun`).
    pub run_twice: Vec<String>,
    /// `@host.store_kind`.
    pub store_kind: String,
    /// `@host.role_privileges` (`None` = null, as on SQLite).
    pub role_privileges: Option<BTreeMap<String, String>>,
}

impl RunSpec {
    /// A spec with the defaults of the iu-cut plan: cutplan run twice, SQLite.
    pub fn new(run_id: &str, dry_run: bool) -> Self {
        Self {
            run_id: run_id.into(),
            dry_run,
            run_twice: vec!["cutplan".into()],
            store_kind: "sqlite".into(),
            ..Self::default()
        }
    }
}

/// A gate checkpoint: the evidence prefix the host evaluates it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The phase.
    pub phase: String,
    /// Before (false) or after (true).
    pub after: bool,
    /// How many evidence items are visible.
    pub len: usize,
}

/// The outcome of a simulated run.
#[derive(Debug, Clone, Default)]
pub struct RunRecord {
    /// The version label the host derived.
    pub version: String,
    /// Every evidence item, pseudo-evidence included, in order.
    pub evidence: Vec<(String, String)>,
    /// Where the host would evaluate the gates of each phase.
    pub checkpoints: Vec<Checkpoint>,
}

/// The host's version label for raw source bytes.
pub fn version_label(raw: &[u8]) -> String {
    format!("v-{}", &iu_core::sha256_hex(raw)[..16])
}

fn plan_needs(grants: &BTreeMap<String, PhaseGrants>) -> BTreeMap<String, String> {
    let mut union: BTreeMap<String, Bits> = BTreeMap::new();
    for g in grants.values() {
        for (t, l) in &g.store {
            let b = Bits::parse(l).unwrap_or_default();
            let e = union.entry(t.clone()).or_default();
            e.r |= b.r;
            e.i |= b.i;
            e.u |= b.u;
            e.d |= b.d;
        }
    }
    union.into_iter().map(|(t, b)| (t, b.letters())).collect()
}

fn field(evidence: &[(String, String)], phase: &str, name: &str) -> Value {
    evidence
        .iter()
        .rev()
        .find(|(p, _)| p == phase)
        .and_then(|(_, j)| serde_json::from_str::<Value>(j).ok())
        .and_then(|v| v.get(name).cloned())
        .unwrap_or(Value::Null)
}

/// The `@host` pseudo-evidence: store kind, mode, what the plan needs and
/// grants, and what the role holds.
fn host_evidence(spec: &RunSpec) -> Value {
    let grants = spec.grants.clone().unwrap_or_default();
    let phase_grants: BTreeMap<&String, Value> =
        grants.iter().map(|(p, g)| (p, json!(g.store))).collect();
    json!({
        "store_kind": spec.store_kind,
        "mode": if spec.dry_run { "dry" } else { "live" },
        "plan_needs": plan_needs(&grants),
        "role_privileges": spec.role_privileges,
        "phase_grants": phase_grants,
    })
}

/// The approval pseudo-evidence (`@sg1`, `@sg2`) the host adds before the
/// phase a human gate guards, binding the digest of the evidence so far.
fn approval_evidence(
    phase: &str,
    spec: &RunSpec,
    evidence: &[(String, String)],
) -> Option<(String, String)> {
    let (name, approval) = match phase {
        "cut_leg_a" => (
            "@sg1",
            json!({
                "gate": "sg1",
                "approval_id": format!("approval-sg1-{}", spec.run_id),
                "evidence_digest": field(evidence, "cutplan", "plan_digest"),
                "key_id": "test-key",
                "review_decision_id": Value::Null,
            }),
        ),
        "lifecycle_enact" => (
            "@sg2",
            json!({
                "gate": "sg2",
                "approval_id": format!("approval-sg2-{}", spec.run_id),
                "evidence_digest": field(evidence, "write_verify", "verify_digest"),
                "key_id": "test-key",
                "review_decision_id": format!("review-{}", spec.run_id),
            }),
        ),
        _ => return None,
    };
    Some((name.into(), approval.to_string()))
}

/// Runs one phase (twice if `spec` says so) with its grants and config,
/// recording its evidence and checkpoints in `rec`.
fn run_phase(
    store: &mut MemoryStore,
    spec: &RunSpec,
    rec: &mut RunRecord,
    phase: &str,
) -> Result<(), Refusal> {
    rec.evidence
        .extend(approval_evidence(phase, spec, &rec.evidence));
    rec.checkpoints.push(Checkpoint {
        phase: phase.into(),
        after: false,
        len: rec.evidence.len(),
    });
    let input = Input {
        run_id: spec.run_id.clone(),
        document_id: store.document_id.clone(),
        version: rec.version.clone(),
        dry_run: spec.dry_run,
        config: spec
            .configs
            .get(phase)
            .cloned()
            .unwrap_or_else(|| "{}".into()),
        evidence: rec.evidence.clone(),
    };
    store.grants = spec
        .grants
        .as_ref()
        .map(|g| g.get(phase).cloned().unwrap_or_default());
    let run = phase_fn::<MemoryStore>(phase).expect("known phase");
    rec.evidence.push((phase.into(), run(&input, store)?));
    if spec.run_twice.iter().any(|p| p == phase) {
        rec.evidence
            .push((format!("@{phase}-rerun"), run(&input, store)?));
    }
    rec.checkpoints.push(Checkpoint {
        phase: phase.into(),
        after: true,
        len: rec.evidence.len(),
    });
    Ok(())
}

/// Runs the iu-cut phases on `store` (its `document_id` and `source`).
/// Stops at the first refusal, returning the phase and the refusal along
/// with the evidence so far.
#[allow(clippy::result_large_err)] // a test harness: the record is the point
pub fn run_iu_cut(
    store: &mut MemoryStore,
    spec: &RunSpec,
) -> Result<RunRecord, (String, Refusal, RunRecord)> {
    let snapshot = spec.dry_run.then(|| store.tables.clone());
    let mut rec = RunRecord {
        version: version_label(&store.source),
        ..RunRecord::default()
    };
    rec.evidence
        .push(("@host".into(), host_evidence(spec).to_string()));
    let outcome = PHASES.iter().try_for_each(|&phase| {
        run_phase(store, spec, &mut rec, phase).map_err(|r| (phase.to_string(), r))
    });
    store.grants = None;
    if let Some(tables) = snapshot {
        store.tables = tables;
    }
    match outcome {
        Ok(()) => Ok(rec),
        Err((p, r)) => Err((p, r, rec)),
    }
}
