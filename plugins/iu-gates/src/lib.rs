//! The iu-cut gate plugin: named predicates over the evidence of earlier
//! phases. It imports nothing; the predicate logic is in [`predicates`] and
//! is tested natively. [`phasehost_sdk::gate_plugin!`] exports it on wasm32
//! (natively it only type-checks). The table of predicates is in README.md.

pub mod predicates;

use phasehost_sdk::{Checkpoint, EvidenceSet, PredicateDecl, Verdict};

const DECLS: [PredicateDecl; predicates::ALL.len()] = {
    let mut out = [PredicateDecl {
        name: "",
        description: "",
        phase: "",
        checkpoint: Checkpoint::Before,
    }; predicates::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        let def = &predicates::ALL[i];
        out[i] = PredicateDecl {
            name: def.name,
            description: def.description,
            phase: def.phase,
            checkpoint: if def.after {
                Checkpoint::After
            } else {
                Checkpoint::Before
            },
        };
        i += 1;
    }
    out
};

/// The declarations of every predicate of [`predicates::ALL`], in order.
pub const PREDICATES: &[PredicateDecl] = &DECLS;

/// Evaluate the predicate `name` ([`predicates::evaluate`]); an unknown name
/// is an error.
pub fn evaluate(name: &str, evidence: &EvidenceSet) -> Result<Verdict, String> {
    predicates::evaluate(name, evidence).map(|(holds, detail)| Verdict { holds, detail })
}

phasehost_sdk::gate_plugin!(PREDICATES, evaluate);
