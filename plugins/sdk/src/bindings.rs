//! The WIT bindings (wasm32 only) and what the macros call into.
//!
//! Both worlds are generated from this crate's own `wit/`, each in its own
//! module, with `pub_export_macro` so the plugin crate invokes the export
//! macro. wit-bindgen then puts only the *imports* of each world in this
//! crate's custom sections (unused imports are dropped by wit-component), and
//! the full world, exports included, in the plugin crate where the export
//! macro is invoked. So a gate component, which links this crate and thus the
//! phase world's imports, still imports nothing, and a phase component
//! imports only the functions its code calls.

#![allow(unsafe_code, missing_docs)]

use crate::{CapError, Caps, Checkpoint, Input, Level, PhaseFn, PredicateDecl, Refusal};
use crate::{RefusalKind, Verdict};

/// Bindings of the world `phase-plugin`.
pub mod phase_world {
    wit_bindgen::generate!({
        path: "wit",
        world: "phase-plugin",
        pub_export_macro: true,
        export_macro_name: "__phasehost_export_phase",
        default_bindings_module: "phasehost_sdk::__private::phase_world",
        runtime_path: "phasehost_sdk::__private::wit_bindgen::rt",
    });
}

/// Bindings of the world `gate-plugin`.
pub mod gate_world {
    wit_bindgen::generate!({
        path: "wit",
        world: "gate-plugin",
        pub_export_macro: true,
        export_macro_name: "__phasehost_export_gate",
        default_bindings_module: "phasehost_sdk::__private::gate_world",
        runtime_path: "phasehost_sdk::__private::wit_bindgen::rt",
    });
}

pub use wit_bindgen;

use gate_world::exports::phasehost::plugin::gate as wit_gate;
use phase_world::exports::phasehost::plugin::phase as wit_phase;
use phase_world::phasehost::plugin::{artifacts, log, source, store_read, store_write, types};

pub use gate_world::exports::phasehost::plugin::gate::Guest as GateGuest;
pub use phase_world::exports::phasehost::plugin::phase::Guest as PhaseGuest;
pub use wit_gate::{Evidence as WitEvidence, Predicate as WitPredicate, Verdict as WitVerdict};
pub use wit_phase::{Descriptor, PhaseInput, Refusal as WitRefusal};

/// [`Caps`] over the host's imports. Every method calls one imported
/// function, so a phase that never calls a method never imports it.
pub struct HostCaps;

fn filters(filters: &[(&str, &str)]) -> Vec<types::Filter> {
    filters
        .iter()
        .map(|(c, v)| types::Filter {
            column: (*c).into(),
            value: (*v).into(),
        })
        .collect()
}

fn cap_error(e: types::Error) -> CapError {
    match e {
        types::Error::AccessDenied(s) => CapError::AccessDenied(s),
        types::Error::NotFound(s) => CapError::NotFound(s),
        types::Error::Refused(s) => CapError::Refused(s),
        types::Error::Invalid(s) => CapError::Invalid(s),
    }
}

impl Caps for HostCaps {
    fn read_source(&mut self) -> Result<Vec<u8>, CapError> {
        source::read().map_err(cap_error)
    }
    fn select(&mut self, table: &str, f: &[(&str, &str)]) -> Result<Vec<String>, CapError> {
        store_read::select(table, &filters(f)).map_err(cap_error)
    }
    fn count(&mut self, table: &str, f: &[(&str, &str)]) -> Result<u64, CapError> {
        store_read::count(table, &filters(f)).map_err(cap_error)
    }
    fn insert(&mut self, table: &str, rows: &[String]) -> Result<u64, CapError> {
        store_write::insert(table, rows).map_err(cap_error)
    }
    fn update(&mut self, table: &str, f: &[(&str, &str)], set: &str) -> Result<u64, CapError> {
        store_write::update(table, &filters(f), set).map_err(cap_error)
    }
    fn delete(&mut self, table: &str, f: &[(&str, &str)]) -> Result<u64, CapError> {
        store_write::delete(table, &filters(f)).map_err(cap_error)
    }
    fn put_artifact(&mut self, name: &str, bytes: &[u8]) -> Result<String, CapError> {
        artifacts::put(name, bytes).map_err(cap_error)
    }
    fn get_artifact(&mut self, name: &str) -> Result<Vec<u8>, CapError> {
        artifacts::get(name).map_err(cap_error)
    }
    fn log(&mut self, level: Level, message: &str) {
        let level = match level {
            Level::Debug => log::Level::Debug,
            Level::Info => log::Level::Info,
            Level::Warn => log::Level::Warn,
        };
        log::emit(level, message);
    }
}

/// The descriptor `describe` returns.
pub fn descriptor(name: &str, version: &str, before: &[&str], after: &[&str]) -> Descriptor {
    Descriptor {
        name: name.into(),
        version: version.into(),
        gates_before: crate::gate::gate_names(before),
        gates_after: crate::gate::gate_names(after),
    }
}

/// `run`: convert the WIT input, call the phase, convert its refusal.
pub fn run_phase(input: PhaseInput, run: PhaseFn<HostCaps>) -> Result<String, WitRefusal> {
    let input = Input {
        run_id: input.run_id,
        document_id: input.document_id,
        version: input.version,
        dry_run: input.dry_run,
        config: input.config,
        evidence: input
            .evidence
            .into_iter()
            .map(|e| (e.phase, e.json))
            .collect(),
    };
    run(&input, &mut HostCaps).map_err(wit_refusal)
}

fn wit_refusal(r: Refusal) -> WitRefusal {
    use wit_phase::RefusalKind as K;
    WitRefusal {
        kind: match r.kind {
            RefusalKind::EmptyInput => K::EmptyInput,
            RefusalKind::BadEncoding => K::BadEncoding,
            RefusalKind::UnknownDocument => K::UnknownDocument,
            RefusalKind::DuplicateDocument => K::DuplicateDocument,
            RefusalKind::CapExceeded => K::CapExceeded,
            RefusalKind::InvariantFailed => K::InvariantFailed,
            RefusalKind::GrantMismatch => K::GrantMismatch,
            RefusalKind::CapabilityFailed => K::CapabilityFailed,
        },
        message: r.message,
    }
}

/// `predicates`: the declarations as WIT records.
pub fn predicates(decls: &[PredicateDecl]) -> Vec<WitPredicate> {
    decls
        .iter()
        .map(|p| WitPredicate {
            name: p.name.into(),
            description: p.description.into(),
            phase: p.phase.into(),
            checkpoint: match p.checkpoint {
                Checkpoint::Before => wit_gate::Checkpoint::Before,
                Checkpoint::After => wit_gate::Checkpoint::After,
            },
        })
        .collect()
}

/// `evaluate`: [`crate::checked_evaluate`] over the WIT evidence.
pub fn evaluate(
    decls: &[PredicateDecl],
    name: &str,
    evidence: &[WitEvidence],
    evaluate: fn(&str, &crate::EvidenceSet) -> Result<Verdict, String>,
) -> Result<WitVerdict, String> {
    let evidence = evidence.iter().map(|e| (e.phase.as_str(), e.json.as_str()));
    crate::checked_evaluate(decls, name, evidence, evaluate).map(|v| WitVerdict {
        holds: v.holds,
        detail: v.detail,
    })
}
