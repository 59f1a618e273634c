//! What a loaded plugin is: its audit facts, its pre-instantiated
//! component and, for a gate, the predicates it declared. `load` makes
//! these, `invoke` runs them.

use super::CacheOutcome;
use super::imports::{GrantDiff, Import};
use super::state::{GateState, PhaseState};
use crate::bindings;
use crate::plan::{Grants, Limits, OnDenied};
use serde::Serialize;
use std::path::PathBuf;

/// What an auditor needs to know about a loaded plugin.
#[derive(Debug, Clone, Serialize)]
pub struct PluginInfo {
    /// Phase or gate name.
    pub name: String,
    /// `phase` or `gate`.
    pub role: &'static str,
    /// The component file.
    pub path: PathBuf,
    /// sha256 of its bytes.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// What it imports.
    pub imports: Vec<Import>,
    /// What it exports.
    pub exports: Vec<String>,
    /// What the plan grants it.
    pub grants: Grants,
    /// The limits it runs under (memory, deadline and its host budget).
    pub limits: Limits,
    /// What a call without a grant does (gates: always stop).
    pub on_denied: OnDenied,
    /// Where it is declared, for messages: `<plan> line <n>`.
    pub plan_location: String,
    /// Imports vs grants.
    pub diff: GrantDiff,
    /// Whether the compiled code came from the cache.
    pub cache: CacheOutcome,
}

/// A phase plugin ready to run.
pub struct LoadedPhase {
    pub(crate) phase_name: String,
    pub(crate) info: PluginInfo,
    pub(crate) pre: bindings::phase::PhasePluginPre<PhaseState>,
}

/// A gate plugin ready to evaluate, with the predicates it declared.
pub struct LoadedGate {
    pub(crate) info: PluginInfo,
    pub(crate) pre: bindings::gate::GatePluginPre<GateState>,
    pub(crate) predicates: Vec<Predicate>,
}

impl LoadedPhase {
    /// Audit facts.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }
}

impl LoadedGate {
    /// Audit facts.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// The predicates the plugin implements.
    pub fn predicates(&self) -> &[Predicate] {
        &self.predicates
    }
}

/// A predicate a gate plugin declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Predicate {
    /// Its name.
    pub name: String,
    /// What it checks.
    pub description: String,
    /// The phase it guards.
    pub phase: String,
    /// `before` or `after`.
    pub checkpoint: &'static str,
}

/// What a phase component says of itself (WIT `phase.describe()`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Described {
    /// The phase name it was built for.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Predicates it declares must hold before it runs.
    pub gates_before: Vec<String>,
    /// Predicates it declares must hold after it ran.
    pub gates_after: Vec<String>,
}

/// A predicate's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Whether it holds.
    pub holds: bool,
    /// Why.
    pub detail: String,
}
