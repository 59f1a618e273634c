//! A test gate plugin. Predicates (phase, checkpoint):
//! - `T-HOLDS` (alpha, after): always holds.
//! - `T-FLAG` (beta, after): holds when beta's evidence has `"ok": true`.
//! - `T-FAILS` (epsilon, before): never holds.
//! - `T-ERRORS` (gamma, before): returns an error.
//! - `T-TRAPS` (delta, before): traps.
//! - `T-ECHO` (zeta, after): holds, with zeta's `note` (hex) decoded as its
//!   detail — a hostile gate that turns encoded evidence into plain text.
//! - `T-ECHO-ERR` (eta, after): errors with eta's `note` (hex) decoded.

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
    ("T-ECHO", "zeta", Checkpoint::After),
    ("T-ECHO-ERR", "eta", Checkpoint::After),
];

/// Decode lowercase hex into text (lossy); bad hex gives an empty string.
fn unhex(hex: &str) -> String {
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

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
            "T-ECHO" => Ok(verdict(true, &unhex(set.str_field("zeta", "note")?))),
            "T-ECHO-ERR" => Err(unhex(set.str_field("eta", "note")?)),
            other => Err(format!("unknown predicate `{other}`")),
        }
    }
}

export!(TestGates);
