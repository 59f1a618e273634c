//! Tools for plugin authors outside this repository: the WIT package
//! (`phasehost wit`), encoding a core module as a component (`phasehost
//! component`), building a plugin crate zero-WASI (`phasehost build`) and
//! scaffolding one (`phasehost new`).

pub mod build;
pub mod component;
pub mod scaffold;
pub mod wit;

use crate::stop::{Stop, StopCode};

/// An authoring refusal.
pub(crate) fn refused(message: impl Into<String>) -> Stop {
    Stop::new(StopCode::AuthorRefused, message)
}
