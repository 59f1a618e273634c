//! The phasehost plugin SDK: everything a phase or gate plugin needs, in one
//! dependency, for a crate anywhere on disk.
//!
//! - The WIT package `phasehost:plugin@0.1.0` is embedded (this crate's
//!   `wit/`); the bindings are generated here, for `wasm32` only.
//! - A **phase** is a plain function `fn run<C: Caps>(&Input, &mut C) ->
//!   Result<String, Refusal>`, exported with [`phase_plugin!`]. Because it is
//!   generic over [`Caps`], after LTO the component imports only the
//!   capabilities the function really calls, down to the function.
//! - A **gate** is a table of [`PredicateDecl`] and a function
//!   `fn(&str, &EvidenceSet) -> Result<Verdict, String>`, exported with
//!   [`gate_plugin!`]. A gate component imports nothing.
//! - [`memory::MemoryStore`] is an in-memory [`Caps`] implementing the
//!   host's store contract, to test a phase natively.
//!
//! Natively (not `wasm32`) both macros expand to a compile-time type check
//! only, so a plugin crate links and its tests run with plain `cargo test`.
//!
//! What a plugin may expect from the host, and must not assume, is in
//! `plugins/README.md` of the phasehost repository.

#![deny(unsafe_code)]
#![warn(missing_docs)]

// The generated bindings and the macros name this crate by its path, as a
// plugin crate does.
extern crate self as phasehost_sdk;

mod caps;
mod evidence;
mod gate;
mod macros;
pub mod memory;

#[cfg(target_arch = "wasm32")]
mod bindings;

pub use caps::{CapError, Caps, Input, Level, PhaseFn, Refusal, RefusalKind};
pub use evidence::{EvidenceSet, evidence, is_sha256_hex, parse_config};
pub use gate::{Checkpoint, PredicateDecl, Verdict, checked_evaluate};

/// What the macros expand to; not part of the API.
#[doc(hidden)]
pub mod __private {
    #[cfg(target_arch = "wasm32")]
    pub use crate::bindings::*;
    pub use crate::gate::gate_names;
}
