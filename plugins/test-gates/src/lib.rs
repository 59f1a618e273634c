//! A test gate plugin. Predicates (phase, checkpoint):
//! - `T-HOLDS` (alpha, after): always holds.
//! - `T-FLAG` (beta, after): holds when beta's evidence has `"ok": true`.
//! - `T-FAILS` (epsilon, before): never holds.
//! - `T-ERRORS` (gamma, before): returns an error.
//! - `T-TRAPS` (delta, before): traps.

wit_bindgen::generate!({ path: "../../wit", world: "gate-plugin" });

use exports::phasehost::plugin::gate::{Checkpoint, Evidence, Guest, Predicate, Verdict};
use phasehost_sdk::EvidenceSet;

struct TestGates;

const DEFS: &[(&str, &str, Checkpoint)] = &[
    ("T-HOLDS", "alpha", Checkpoint::After),
    ("T-FLAG", "beta", Checkpoint::After),
    ("T-FAILS", "epsilon", Checkpoint::Before),
    ("T-ERRORS", "gamma", Checkpoint::Before),
    ("T-TRAPS", "delta", Checkpoint::Before),
];

impl Guest for TestGates {
    fn predicates() -> Vec<Predicate> {
        DEFS.iter()
            .map(|(name, phase, checkpoint)| Predicate {
                name: (*name).into(),
                description: format!("test predicate {name}"),
                phase: (*phase).into(),
                checkpoint: *checkpoint,
            })
            .collect()
    }

    fn evaluate(name: String, evidence: Vec<Evidence>) -> Result<Verdict, String> {
        let set = EvidenceSet::parse(evidence.iter().map(|e| (e.phase.as_str(), e.json.as_str())))?;
        let verdict = |holds: bool, detail: &str| Verdict {
            holds,
            detail: detail.into(),
        };
        match name.as_str() {
            "T-HOLDS" => Ok(verdict(true, "always")),
            "T-FLAG" => Ok(verdict(set.bool_field("beta", "ok")?, "beta.ok")),
            "T-FAILS" => Ok(verdict(false, "never")),
            "T-ERRORS" => Err("T-ERRORS always errors".into()),
            "T-TRAPS" => panic!("T-TRAPS always traps"),
            other => Err(format!("unknown predicate `{other}`")),
        }
    }
}

export!(TestGates);
