//! A test phase plugin whose descriptor declares that predicate `T-HOLDS`
//! (of `plugins/test-gates`, bound after `alpha`) must hold after it. The
//! host enforces a descriptor's declarations: in a plan where `T-HOLDS` is
//! not bound after this phase, the plan is refused before anything runs.
//! It runs as an echo with evidence `{"declared": true}`.

wit_bindgen::generate!({ path: "../../wit", world: "phase-plugin" });

use exports::phasehost::plugin::phase::{Descriptor, Guest, PhaseInput, Refusal};

struct Declares;

impl Guest for Declares {
    fn describe() -> Descriptor {
        Descriptor {
            // Empty: a generic component (no phase name claimed), so the
            // tests can run it as `alpha` and as `beta`.
            name: String::new(),
            version: env!("CARGO_PKG_VERSION").into(),
            gates_before: vec![],
            gates_after: vec!["T-HOLDS".into()],
        }
    }

    fn run(_input: PhaseInput) -> Result<String, Refusal> {
        Ok("{\"declared\":true}".into())
    }
}

export!(Declares);
