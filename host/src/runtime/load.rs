//! Loading a plugin: read, check the pinned sha256, compile (or take from the
//! cache), compare imports with grants, pre-instantiate.

use super::imports::{GrantDiff, Import, component_world};
use super::loaded::{LoadedGate, LoadedPhase, PluginInfo};
use super::wit_version;
use super::{Runtime, invoke};
use crate::bindings;
use crate::digest::sha256_hex;
use crate::plan::{GateSpec, Grants, Limits, OnDenied, PACKAGE, PACKAGE_VERSION, PhaseSpec, Plan};
use crate::stop::{Stop, StopCode};
use phasehost_build_plugins::{WasmKind, wasm_kind};
use std::path::PathBuf;
use wasmtime::component::{Component, InstancePre, Linker};

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
    /// The component was built against a version of the WIT package this
    /// host cannot run.
    #[error(
        "{who}: {path} was built against WIT package {package}@{found} (it names {name}); this host implements {package}@{host}, and a 0.x version must share the host's minor (a 1.x or later its major). Rebuild the plugin against this host's WIT (`phasehost wit --out <dir>` writes it) or run it with a phasehost that implements {package}@{found}",
        package = PACKAGE,
        host = PACKAGE_VERSION
    )]
    WitVersion {
        /// Which plugin.
        who: String,
        /// The file.
        path: PathBuf,
        /// The import or export that names the version.
        name: String,
        /// The version the component was built against.
        found: String,
    },
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
            LoadError::WitVersion { .. } => StopCode::WitVersionMismatch,
        }
    }

    /// As a stop.
    pub fn to_stop(&self) -> Stop {
        Stop::new(self.stop_code(), self.to_string())
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
    component: Component,
    info: PluginInfo,
}

/// The component file's bytes and sha256, read only if it is a component
/// (a core module is refused with how to make one) whose sha256 is the
/// plan's pin.
fn read_pinned(
    who: &str,
    path: &std::path::Path,
    pinned: &str,
) -> Result<(Vec<u8>, String), LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
        who: who.to_string(),
        path: path.to_path_buf(),
        source,
    })?;
    if wasm_kind(&bytes) == WasmKind::CoreModule {
        return Err(invalid(
            who,
            format!(
                "{} is a core WebAssembly module, not a component (what cargo builds for \
                 wasm32-unknown-unknown); encode it with `phasehost component {} -o <out.wasm>`, \
                 or build the crate with `phasehost build <crate-dir>`, then point the plan at \
                 the component and `phasehost pin <plan>`",
                path.display(),
                path.display()
            ),
        ));
    }
    let actual = sha256_hex(&bytes);
    if pinned.is_empty() {
        return Err(LoadError::NotPinned {
            who: who.to_string(),
            path: path.to_path_buf(),
        });
    }
    if !pinned.eq_ignore_ascii_case(&actual) {
        return Err(LoadError::DigestMismatch {
            who: who.to_string(),
            path: path.to_path_buf(),
            expected: pinned.to_string(),
            actual,
        });
    }
    Ok((bytes, actual))
}

/// Where the plan declares the plugin: a phase's line, else the plan file.
fn plan_location(plan: &Plan, name: &str, role: &str) -> String {
    match plan.phase_line(name) {
        Some(line) if role == "phase" => format!("{} line {line}", plan.source_path.display()),
        _ => plan.source_path.display().to_string(),
    }
}

/// A load error for a component that is not what `who` should be.
fn invalid(who: &str, message: String) -> LoadError {
    LoadError::Invalid {
        who: who.to_string(),
        message,
    }
}

/// Link `component` (imports) and check that it exports `interface`,
/// through the world's typed `pre` constructor.
fn link<T, P>(
    linker: &Linker<T>,
    component: &Component,
    who: &str,
    interface: &str,
    link_hint: &str,
    typed: impl FnOnce(InstancePre<T>) -> wasmtime::Result<P>,
) -> Result<P, LoadError> {
    let instance_pre = linker
        .instantiate_pre(component)
        .map_err(|e| invalid(who, format!("cannot be linked: {e:#}{link_hint}")))?;
    typed(instance_pre).map_err(|e| {
        invalid(
            who,
            format!("does not export the {interface} interface: {e:#}"),
        )
    })
}

/// Why a gate plugin that imports something is refused, and what to do: a
/// gate built with WASI (wasm32-wasip2, `cargo component`) is rebuilt
/// zero-WASI; a gate that calls a capability cannot be granted one.
fn gate_imports_message(who: &str, imports: &[Import], names: &[String]) -> String {
    let wasi = imports.iter().any(|i| matches!(i, Import::Ambient(_)));
    let mut text = format!(
        "{who} imports {}; a gate plugin must import nothing (its predicates are pure functions \
         of the evidence), and no plan can grant a gate anything",
        names.join(", ")
    );
    if wasi {
        text.push_str(
            ". The WASI imports come from building it for wasm32-wasip2 or with `cargo component`: \
             build it zero-WASI instead, with `phasehost build <crate-dir>` (wasm32-unknown-unknown, \
             then `phasehost component`)",
        );
    } else {
        text.push_str(". Remove the calls to host capabilities from the gate's code");
    }
    text
}

/// The hint for a phase that imports WASI interfaces the host cannot link.
fn wasi_link_hint(imports: &[Import]) -> &'static str {
    if imports.iter().any(|i| matches!(i, Import::Ambient(_))) {
        "; it imports WASI interfaces (built for wasm32-wasip2 or with `cargo component`): build it \
         zero-WASI with `phasehost build <crate-dir>`, which imports only the capabilities the code \
         calls"
    } else {
        ""
    }
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
        let (bytes, actual) = read_pinned(who, &path, pinned)?;
        let (component, cache) = self
            .cache
            .load(&self.engine, &actual, &bytes)
            .map_err(|e| LoadError::Invalid {
                who: who.to_string(),
                message: format!("{} is not a loadable component: {e:#}", path.display()),
            })?;
        self.check_wit_versions(who, &path, &component)?;
        let (imports, exports) = component_world(&self.engine, &component);
        let diff = GrantDiff::compute(&imports, grants);
        let info = PluginInfo {
            name: name.to_string(),
            role,
            plan_location: plan_location(plan, name, role),
            path,
            sha256: actual,
            size: bytes.len() as u64,
            imports,
            exports,
            grants: grants.clone(),
            limits,
            on_denied,
            diff,
            cache,
        };
        Ok(Checked { component, info })
    }

    /// Every `phasehost:plugin` interface the component imports or exports
    /// must be of a WIT version this host speaks.
    fn check_wit_versions(
        &self,
        who: &str,
        path: &std::path::Path,
        component: &Component,
    ) -> Result<(), LoadError> {
        let ty = component.component_type();
        let names: Vec<&str> = ty
            .imports(&self.engine)
            .map(|(n, _)| n)
            .chain(ty.exports(&self.engine).map(|(n, _)| n))
            .collect();
        if let Some((name, found)) = wit_version::first_incompatible(names) {
            return Err(LoadError::WitVersion {
                who: who.to_string(),
                path: path.to_path_buf(),
                name,
                found,
            });
        }
        Ok(())
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
        let pre = link(
            &self.phase_linker,
            &checked.component,
            &who,
            "phase",
            wasi_link_hint(&info.imports),
            bindings::phase::PhasePluginPre::new,
        )?;
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
            return Err(LoadError::GrantExceeded(gate_imports_message(
                &who,
                &info.imports,
                &names,
            )));
        }
        let pre = link(
            &self.gate_linker,
            &checked.component,
            &who,
            "gate",
            "",
            bindings::gate::GatePluginPre::new,
        )?;
        let predicates =
            invoke::list_predicates(&self.engine, &pre, spec.limits).map_err(|stop| {
                invalid(
                    &who,
                    format!("listing its predicates failed: {}", stop.message),
                )
            })?;
        Ok(LoadedGate {
            info,
            pre,
            predicates,
        })
    }
}
