//! The iu-cut phase bodies as plain Rust.
//!
//! Each phase is a function `run_<phase><C: Caps>(&Input, &mut C) ->
//! Result<String, Refusal>` generic over [`Caps`], the capabilities the host
//! grants (source, store-read, store-write, artifacts, log). The 11 phase
//! components wrap these functions with [`phase_plugin!`], which implements
//! [`Caps`] over the generated WIT imports. Because the functions are generic
//! (not `dyn`), after LTO a component keeps only the imports its phase really
//! calls, and the same functions run natively — in the tests with
//! [`memory::MemoryStore`], in the host's benchmark with any store.
//!
//! Phases never read a clock, a random source, a file or the network: the
//! same [`Input`] and the same store rows give the same evidence.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod common;
pub mod domain;
pub mod harness;
pub mod memory;
pub mod phases;
pub mod review;

pub use phases::{
    run_closeout, run_cut_leg_a, run_cutplan, run_grant_probe, run_leg_b_record,
    run_lifecycle_enact, run_mark, run_pre_write_backup, run_source_pin, run_structural_verify,
    run_write_verify,
};

use std::fmt;

/// The iu-cut phases, in run order (names as plans spell them).
pub const PHASES: [&str; 11] = [
    "source_pin",
    "mark",
    "cutplan",
    "pre_write_backup",
    "grant_probe",
    "cut_leg_a",
    "structural_verify",
    "leg_b_record",
    "write_verify",
    "lifecycle_enact",
    "closeout",
];

/// A phase entry point, monomorphized for one [`Caps`] implementation.
pub type PhaseFn<C> = fn(&Input, &mut C) -> Result<String, Refusal>;

/// The entry point of phase `name` for capabilities `C`.
pub fn phase_fn<C: Caps>(name: &str) -> Option<PhaseFn<C>> {
    Some(match name {
        "source_pin" => run_source_pin::<C>,
        "mark" => run_mark::<C>,
        "cutplan" => run_cutplan::<C>,
        "pre_write_backup" => run_pre_write_backup::<C>,
        "grant_probe" => run_grant_probe::<C>,
        "cut_leg_a" => run_cut_leg_a::<C>,
        "structural_verify" => run_structural_verify::<C>,
        "leg_b_record" => run_leg_b_record::<C>,
        "write_verify" => run_write_verify::<C>,
        "lifecycle_enact" => run_lifecycle_enact::<C>,
        "closeout" => run_closeout::<C>,
        _ => return None,
    })
}

/// What the host tells a phase (the WIT `phase-input`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    /// The run id.
    pub run_id: String,
    /// The document being processed (scopes every store call).
    pub document_id: String,
    /// The version label (`v-<first 16 hex of the raw sha256>`).
    pub version: String,
    /// True when store writes will be rolled back.
    pub dry_run: bool,
    /// The phase's `[phases.config]`, as a JSON object.
    pub config: String,
    /// `(phase, json)` of every phase that already ran, in order, plus the
    /// host's pseudo-evidence (`@host`, `@sg1`, `@sg2`, `@cutplan-rerun`).
    pub evidence: Vec<(String, String)>,
}

/// Why a phase refused (maps 1:1 to the WIT `refusal-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// → stop code `empty-source`.
    EmptyInput,
    /// → `bad-encoding`.
    BadEncoding,
    /// → `unknown-document`.
    UnknownDocument,
    /// → `duplicate-document`.
    DuplicateDocument,
    /// → `cap-exceeded`.
    CapExceeded,
    /// → `invariant-failed`.
    InvariantFailed,
    /// → `grant-mismatch`.
    GrantMismatch,
    /// → `capability-failed`.
    CapabilityFailed,
}

/// A refusal: kind and operator message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The kind.
    pub kind: RefusalKind,
    /// A human-readable explanation.
    pub message: String,
}

impl Refusal {
    /// A refusal of `kind`.
    pub fn new(kind: RefusalKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// `invariant-failed`.
    pub fn invariant(message: impl Into<String>) -> Self {
        Self::new(RefusalKind::InvariantFailed, message)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

/// The error a capability call returns (the WIT `types.error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapError {
    /// Not granted.
    AccessDenied(String),
    /// The row / artifact / table does not exist.
    NotFound(String),
    /// Refused by policy (kill-switch, secret, cap, conflict …).
    Refused(String),
    /// Malformed arguments.
    Invalid(String),
}

impl fmt::Display for CapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapError::AccessDenied(s) => write!(f, "access denied: {s}"),
            CapError::NotFound(s) => write!(f, "not found: {s}"),
            CapError::Refused(s) => write!(f, "refused: {s}"),
            CapError::Invalid(s) => write!(f, "invalid: {s}"),
        }
    }
}

/// Log levels (the WIT `log.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Diagnostic detail.
    Debug,
    /// Normal progress.
    Info,
    /// Something unusual that did not stop the phase.
    Warn,
}

/// The capabilities a phase may be granted. Every store call is scoped by
/// the host to the run's document; rows are JSON objects (text).
pub trait Caps {
    /// `source.read`: the raw bytes of the pinned source.
    fn read_source(&mut self) -> Result<Vec<u8>, CapError>;
    /// `store-read.select`: rows matching every equality filter, ordered by
    /// primary key (units: by `seq`).
    fn select(&mut self, table: &str, filters: &[(&str, &str)]) -> Result<Vec<String>, CapError>;
    /// `store-read.count`.
    fn count(&mut self, table: &str, filters: &[(&str, &str)]) -> Result<u64, CapError>;
    /// `store-write.insert`: idempotent on the primary key; rows inserted.
    fn insert(&mut self, table: &str, rows: &[String]) -> Result<u64, CapError>;
    /// `store-write.update`: set the columns of `set` (a JSON object); rows changed.
    fn update(&mut self, table: &str, filters: &[(&str, &str)], set: &str)
    -> Result<u64, CapError>;
    /// `store-write.delete`: rows deleted.
    fn delete(&mut self, table: &str, filters: &[(&str, &str)]) -> Result<u64, CapError>;
    /// `artifacts.put`: the sha256 (hex) of what was stored.
    fn put_artifact(&mut self, name: &str, bytes: &[u8]) -> Result<String, CapError>;
    /// `artifacts.get`.
    fn get_artifact(&mut self, name: &str) -> Result<Vec<u8>, CapError>;
    /// `log.emit`.
    fn log(&mut self, level: Level, message: &str);
}

/// Expands, in a phase plugin crate that has run
/// `wit_bindgen::generate!({ path: "../../wit", world: "phase-plugin" })`,
/// the glue that implements [`Caps`] over the generated imports, the
/// `phase` export calling `$run`, and `export!`.
///
/// ```ignore
/// wit_bindgen::generate!({ path: "../../wit", world: "phase-plugin" });
/// iu_phases::phase_plugin!("mark", iu_phases::run_mark);
/// ```
// `crate::` is meant: it names the plugin crate, where `generate!` put the bindings.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! phase_plugin {
    ($phase:literal, $run:path) => {
        struct PhaseGlue;

        fn phase_glue_filters(
            filters: &[(&str, &str)],
        ) -> ::std::vec::Vec<crate::phasehost::plugin::types::Filter> {
            filters
                .iter()
                .map(|(c, v)| crate::phasehost::plugin::types::Filter {
                    column: (*c).into(),
                    value: (*v).into(),
                })
                .collect()
        }

        fn phase_glue_error(e: crate::phasehost::plugin::types::Error) -> $crate::CapError {
            use crate::phasehost::plugin::types::Error;
            match e {
                Error::AccessDenied(s) => $crate::CapError::AccessDenied(s),
                Error::NotFound(s) => $crate::CapError::NotFound(s),
                Error::Refused(s) => $crate::CapError::Refused(s),
                Error::Invalid(s) => $crate::CapError::Invalid(s),
            }
        }

        impl $crate::Caps for PhaseGlue {
            fn read_source(
                &mut self,
            ) -> ::core::result::Result<::std::vec::Vec<u8>, $crate::CapError> {
                crate::phasehost::plugin::source::read().map_err(phase_glue_error)
            }
            fn select(
                &mut self,
                table: &str,
                filters: &[(&str, &str)],
            ) -> ::core::result::Result<::std::vec::Vec<::std::string::String>, $crate::CapError>
            {
                crate::phasehost::plugin::store_read::select(table, &phase_glue_filters(filters))
                    .map_err(phase_glue_error)
            }
            fn count(
                &mut self,
                table: &str,
                filters: &[(&str, &str)],
            ) -> ::core::result::Result<u64, $crate::CapError> {
                crate::phasehost::plugin::store_read::count(table, &phase_glue_filters(filters))
                    .map_err(phase_glue_error)
            }
            fn insert(
                &mut self,
                table: &str,
                rows: &[::std::string::String],
            ) -> ::core::result::Result<u64, $crate::CapError> {
                crate::phasehost::plugin::store_write::insert(table, rows).map_err(phase_glue_error)
            }
            fn update(
                &mut self,
                table: &str,
                filters: &[(&str, &str)],
                set: &str,
            ) -> ::core::result::Result<u64, $crate::CapError> {
                crate::phasehost::plugin::store_write::update(
                    table,
                    &phase_glue_filters(filters),
                    set,
                )
                .map_err(phase_glue_error)
            }
            fn delete(
                &mut self,
                table: &str,
                filters: &[(&str, &str)],
            ) -> ::core::result::Result<u64, $crate::CapError> {
                crate::phasehost::plugin::store_write::delete(table, &phase_glue_filters(filters))
                    .map_err(phase_glue_error)
            }
            fn put_artifact(
                &mut self,
                name: &str,
                bytes: &[u8],
            ) -> ::core::result::Result<::std::string::String, $crate::CapError> {
                crate::phasehost::plugin::artifacts::put(name, bytes).map_err(phase_glue_error)
            }
            fn get_artifact(
                &mut self,
                name: &str,
            ) -> ::core::result::Result<::std::vec::Vec<u8>, $crate::CapError> {
                crate::phasehost::plugin::artifacts::get(name).map_err(phase_glue_error)
            }
            fn log(&mut self, level: $crate::Level, message: &str) {
                use crate::phasehost::plugin::log;
                let level = match level {
                    $crate::Level::Debug => log::Level::Debug,
                    $crate::Level::Info => log::Level::Info,
                    $crate::Level::Warn => log::Level::Warn,
                };
                log::emit(level, message);
            }
        }

        struct PhasePlugin;

        impl crate::exports::phasehost::plugin::phase::Guest for PhasePlugin {
            fn describe() -> crate::exports::phasehost::plugin::phase::Descriptor {
                crate::exports::phasehost::plugin::phase::Descriptor {
                    name: $phase.into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    gates_before: ::std::vec::Vec::new(),
                    gates_after: ::std::vec::Vec::new(),
                }
            }

            fn run(
                input: crate::exports::phasehost::plugin::phase::PhaseInput,
            ) -> ::core::result::Result<
                ::std::string::String,
                crate::exports::phasehost::plugin::phase::Refusal,
            > {
                use crate::exports::phasehost::plugin::phase::{Refusal, RefusalKind};
                let input = $crate::Input {
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
                $run(&input, &mut PhaseGlue).map_err(|r| Refusal {
                    kind: match r.kind {
                        $crate::RefusalKind::EmptyInput => RefusalKind::EmptyInput,
                        $crate::RefusalKind::BadEncoding => RefusalKind::BadEncoding,
                        $crate::RefusalKind::UnknownDocument => RefusalKind::UnknownDocument,
                        $crate::RefusalKind::DuplicateDocument => RefusalKind::DuplicateDocument,
                        $crate::RefusalKind::CapExceeded => RefusalKind::CapExceeded,
                        $crate::RefusalKind::InvariantFailed => RefusalKind::InvariantFailed,
                        $crate::RefusalKind::GrantMismatch => RefusalKind::GrantMismatch,
                        $crate::RefusalKind::CapabilityFailed => RefusalKind::CapabilityFailed,
                    },
                    message: r.message,
                })
            }
        }

        export!(PhasePlugin);
    };
}
