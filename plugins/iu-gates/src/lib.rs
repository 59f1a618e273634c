//! The iu-cut gate plugin: named predicates over the evidence of earlier
//! phases. It imports nothing; the predicate logic is in [`predicates`] and
//! is tested natively (the WIT glue is compiled for wasm32 only, so the
//! crate also links natively). The table of predicates is in README.md.

pub mod predicates;

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ path: "../../wit", world: "gate-plugin" });

    use super::predicates;
    use exports::phasehost::plugin::gate::{Checkpoint, Evidence, Guest, Predicate, Verdict};
    use phasehost_sdk::EvidenceSet;

    struct IuGates;

    impl Guest for IuGates {
        fn predicates() -> Vec<Predicate> {
            predicates::ALL
                .iter()
                .map(|p| Predicate {
                    name: p.name.into(),
                    description: p.description.into(),
                    phase: p.phase.into(),
                    checkpoint: if p.after {
                        Checkpoint::After
                    } else {
                        Checkpoint::Before
                    },
                })
                .collect()
        }

        fn evaluate(name: String, evidence: Vec<Evidence>) -> Result<Verdict, String> {
            let set =
                EvidenceSet::parse(evidence.iter().map(|e| (e.phase.as_str(), e.json.as_str())))?;
            let (holds, detail) = predicates::evaluate(&name, &set)?;
            Ok(Verdict { holds, detail })
        }
    }

    export!(IuGates);
}
