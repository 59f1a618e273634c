//! iu-core: the pure, deterministic logic of the iu-cut phases.
//!
//! - [`source::pin`] — `source_pin`: raw bytes → normalized (NFC, LF) text
//!   with raw and normalized SHA-256.
//! - [`structure::mark`] — `mark`: normalized text → structural regions
//!   (preamble, part, chapter, section, subsection, article, clause, point,
//!   closing), each with a `region_sha`, under [`Caps`].
//! - [`cut::cut_plan`] — `cutplan`: regions → units with Akoma-Ntoso-style
//!   eIds, checked 100 % coverage and a canonical plan digest.
//! - [`structure::mark_report`] — the same, plus the marker-looking lines
//!   that did not become regions (absorbed markers); [`review`] — facts
//!   for approvers (article numbering, hidden controls, largest units).
//! - [`probes::structural_probes`] — `structural_verify`: the 11 probes of
//!   rows read back from a store against the plan.
//!
//! `no_std` + `alloc`, no I/O, no clocks, no randomness, no hash-map order:
//! the same input gives the same output on every platform, natively and on
//! `wasm32-unknown-unknown`.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod caps;
pub mod cut;
pub mod digest;
pub mod evidence;
pub mod probes;
pub mod region;
pub mod review;
mod scan;
pub mod source;
pub mod structure;

pub use caps::{Cap, CapUsage, Caps};
pub use cut::{CutError, CutPlan, Unit, cut_plan, reassemble};
pub use digest::{CanonicalHasher, sha256_hex};
pub use probes::{Probes, StoredUnit, stored_from_plan, structural_probes};
pub use region::{Region, RegionKind};
pub use source::{Pinned, SourceError, pin};
pub use structure::{MarkError, MarkReport, Marked, Unmarked, Why, mark, mark_report, mark_text};
