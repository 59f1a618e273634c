//! Loading a plugin: read, check the pinned sha256, compile (or take from the
//! cache), compare imports with grants, pre-instantiate.

use super::imports::{GrantDiff, Import, component_world};
use super::state::{GateState, PhaseState};
use super::{CacheOutcome, Runtime, invoke};
use crate::bindings;
use crate::plan::{GateSpec, Grants, Limits, OnDenied, PhaseSpec, Plan};
use crate::runtime::cache::sha256_hex;
use crate::stop::{Stop, StopCode};
use serde::Serialize;
use std::path::PathBuf;

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The component file could not be read.
    #[error("{who}: cannot read {path}: {source}")]
    Read {
        /// Which plugin.
        who: String,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The plan pins no sha256 for the plugin.
    #[error(
        "{who}: the plan pins no sha256 for {path}; review the component, then run `phasehost pin <plan>`"
    )]
    NotPinned {
        /// Which plugin.
        who: String,
        /// The file.
        path: PathBuf,
    },
    /// The component's sha256 differs from the plan's pin.
    #[error(
        "{who}: {path} has sha256 {actual}, the plan pins {expected}; the component changed since it was reviewed"
    )]
    DigestMismatch {
        /// Which plugin.
        who: String,
        /// The file.
        path: PathBuf,
        /// The pinned sha256.
        expected: String,
        /// The file's sha256.
        actual: String,
    },
    /// The component imports more than it is granted.
    #[error("{0}")]
    GrantExceeded(String),
    /// The file is not a loadable component of the right world.
    #[error("{who}: {message}")]
    Invalid {
        /// Which plugin.
        who: String,
        /// What is wrong.
        message: String,
    },
}

impl LoadError {
    /// The stop code for this load failure.
    pub fn stop_code(&self) -> StopCode {
        match self {
            LoadError::Read { .. } | LoadError::Invalid { .. } => StopCode::PluginInvalid,
            LoadError::NotPinned { .. } | LoadError::DigestMismatch { .. } => {
                StopCode::PluginDigestMismatch
            }
            LoadError::GrantExceeded(_) => StopCode::GrantExceeded,
        }
    }

    /// As a stop.
    pub fn to_stop(&self) -> Stop {
        Stop::new(self.stop_code(), self.to_string())
    }
}

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
    pub(crate) predicates: Vec<invoke::Predicate>,
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
    pub fn predicates(&self) -> &[invoke::Predicate] {
        &self.predicates
    }
}

/// What the loader needs to know about one plugin of the plan.
struct PluginRef<'a> {
    name: &'a str,
    role: &'static str,
    component: &'a std::path::Path,
    pinned: &'a str,
    grants: &'a Grants,
    limits: Limits,
    on_denied: OnDenied,
}

struct Checked {
    component: wasmtime::component::Component,
    info: PluginInfo,
}

impl Runtime {
    fn read_and_check(&self, plan: &Plan, plugin: PluginRef<'_>) -> Result<Checked, LoadError> {
        let PluginRef {
            name,
            role,
            component,
            pinned,
            grants,
            limits,
            on_denied,
        } = plugin;
        let who = &format!("{role} `{name}`");
        let path = plan.resolve(component);
        let bytes = std::fs::read(&path).map_err(|source| LoadError::Read {
            who: who.to_string(),
            path: path.clone(),
            source,
        })?;
        let actual = sha256_hex(&bytes);
        if pinned.is_empty() {
            return Err(LoadError::NotPinned {
                who: who.to_string(),
                path,
            });
        }
        if !pinned.eq_ignore_ascii_case(&actual) {
            return Err(LoadError::DigestMismatch {
                who: who.to_string(),
                path,
                expected: pinned.to_string(),
                actual,
            });
        }
        let (component, cache) = self
            .cache
            .load(&self.engine, &actual, &bytes)
            .map_err(|e| LoadError::Invalid {
                who: who.to_string(),
                message: format!("{} is not a loadable component: {e:#}", path.display()),
            })?;
        let (imports, exports) = component_world(&self.engine, &component);
        let diff = GrantDiff::compute(&imports, grants);
        let info = PluginInfo {
            name: name.to_string(),
            role,
            path,
            sha256: actual,
            size: bytes.len() as u64,
            imports,
            exports,
            grants: grants.clone(),
            limits,
            on_denied,
            plan_location: match plan.phase_line(name) {
                Some(line) if role == "phase" => {
                    format!("{} line {line}", plan.source_path.display())
                }
                _ => plan.source_path.display().to_string(),
            },
            diff,
            cache,
        };
        Ok(Checked { component, info })
    }

    /// Load phase `spec` of `plan`.
    pub fn load_phase(&self, plan: &Plan, spec: &PhaseSpec) -> Result<LoadedPhase, LoadError> {
        let who = format!("phase `{}`", spec.name);
        let checked = self.read_and_check(
            plan,
            PluginRef {
                name: &spec.name,
                role: "phase",
                component: &spec.component,
                pinned: &spec.sha256,
                grants: &spec.grants,
                limits: spec.limits,
                on_denied: spec.on_denied,
            },
        )?;
        let info = checked.info;
        if info.diff.is_refused() {
            let location = match plan.phase_line(&spec.name) {
                Some(line) => format!(
                    "phase \"{}\" ({} line {line})",
                    spec.name,
                    plan.source_path.display()
                ),
                None => format!("phase \"{}\"", spec.name),
            };
            return Err(LoadError::GrantExceeded(info.diff.describe(
                &who,
                &info.imports,
                &info.grants,
                &location,
            )));
        }
        let invalid = |message: String| LoadError::Invalid {
            who: who.clone(),
            message,
        };
        let instance_pre = self
            .phase_linker
            .instantiate_pre(&checked.component)
            .map_err(|e| invalid(format!("cannot be linked: {e:#}")))?;
        let pre = bindings::phase::PhasePluginPre::new(instance_pre)
            .map_err(|e| invalid(format!("does not export the phase interface: {e:#}")))?;
        Ok(LoadedPhase {
            phase_name: spec.name.clone(),
            info,
            pre,
        })
    }

    /// Load gate plugin `spec` of `plan`. A gate plugin imports nothing at all.
    pub fn load_gate(&self, plan: &Plan, spec: &GateSpec) -> Result<LoadedGate, LoadError> {
        let who = format!("gate plugin `{}`", spec.name);
        let checked = self.read_and_check(
            plan,
            PluginRef {
                name: &spec.name,
                role: "gate",
                component: &spec.component,
                pinned: &spec.sha256,
                grants: &Grants::default(),
                limits: spec.limits,
                on_denied: OnDenied::Stop,
            },
        )?;
        let info = checked.info;
        if !info.imports.is_empty() {
            let names: Vec<String> = info
                .imports
                .iter()
                .map(|i| match i {
                    Import::Capability(c) => c.import_name(),
                    Import::Types(n) | Import::Ambient(n) | Import::Unknown(n) => n.clone(),
                })
                .collect();
            return Err(LoadError::GrantExceeded(format!(
                "{who} imports {}; a gate plugin must import nothing (its predicates are pure functions of the evidence)",
                names.join(", ")
            )));
        }
        let invalid = |message: String| LoadError::Invalid {
            who: who.clone(),
            message,
        };
        let instance_pre = self
            .gate_linker
            .instantiate_pre(&checked.component)
            .map_err(|e| invalid(format!("cannot be linked: {e:#}")))?;
        let pre = bindings::gate::GatePluginPre::new(instance_pre)
            .map_err(|e| invalid(format!("does not export the gate interface: {e:#}")))?;
        let predicates = invoke::list_predicates(&self.engine, &pre, spec.limits)
            .map_err(|stop| invalid(format!("listing its predicates failed: {}", stop.message)))?;
        Ok(LoadedGate {
            info,
            pre,
            predicates,
        })
    }
}
