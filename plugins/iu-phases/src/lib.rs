//! The iu-cut phase bodies as plain Rust.
//!
//! Each phase is a function `run_<phase><C: Caps>(&Input, &mut C) ->
//! Result<String, Refusal>` generic over [`Caps`], the capabilities the host
//! grants (source, store-read, store-write, artifacts, log), from the plugin
//! SDK `phasehost-sdk`. The 11 phase components (crate `iu-cut-phases`) wrap
//! these functions with `phasehost_sdk::phase_plugin!`, which implements
//! [`Caps`] over the WIT imports. Because the functions are generic
//! (not `dyn`), after LTO a component keeps only the imports its phase really
//! calls, and the same functions run natively — in the tests with
//! [`memory::MemoryStore`], in the host's benchmark with any store.
//!
//! Phases never read a clock, a random source, a file or the network: the
//! same [`Input`] and the same store rows give the same evidence.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod artifact;
pub mod common;
pub mod domain;
pub mod gates;
pub mod harness;
pub mod memory;
pub mod phases;
pub mod review;

pub use phases::{
    run_closeout, run_cut_leg_a, run_cutplan, run_grant_probe, run_leg_b_record,
    run_lifecycle_enact, run_mark, run_pre_write_backup, run_source_pin, run_structural_verify,
    run_write_verify,
};

pub use phasehost_sdk::{CapError, Caps, Input, Level, PhaseFn, Refusal, RefusalKind};

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
