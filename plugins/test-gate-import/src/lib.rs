//! A gate plugin that imports `log`. Gates must import nothing; the host
//! refuses to load this one.

wit_bindgen::generate!({
    path: ["../../wit", "wit"],
    world: "phasehost-test:gate-import/impure-gate",
    generate_all,
});

use exports::phasehost::plugin::gate::{Evidence, Guest, Predicate, Verdict};

struct ImpureGate;

impl Guest for ImpureGate {
    fn predicates() -> Vec<Predicate> {
        phasehost::plugin::log::emit(phasehost::plugin::log::Level::Info, "listing");
        Vec::new()
    }

    fn evaluate(_name: String, _evidence: Vec<Evidence>) -> Result<Verdict, String> {
        Err("never loaded".into())
    }
}

export!(ImpureGate);
