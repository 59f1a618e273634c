//! The csv-rows example plugin set: a second job for phasehost, outside
//! iu-cut, with its own store tables (`csv_files`, `csv_rows`, declared in
//! the plan), its own gate predicates and one approval. See
//! `examples/csv-rows/README.md`.
//!
//! [`domain`] is plain Rust (pinning, strict CSV parsing, digests);
//! [`phases`] are the four phase bodies over the SDK's `Caps`; [`gates`]
//! the predicates. The components are the `[[example]]` targets.

pub mod domain;
pub mod gates;
pub mod phases;
