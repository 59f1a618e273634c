//! The plan: a TOML file naming the phases in order, each with its component,
//! pinned sha256, grants and limits; plus the store, KB, approvals and caps.
//!
//! Paths in a plan are relative to the plan file's folder.

mod access;
mod grants;
mod load;

pub use access::{Access, Op};
pub use grants::{Capability, Grants, PACKAGE, PACKAGE_VERSION};
pub use load::{PlanError, load_plan, parse_plan};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A loaded plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Name and plugin set.
    pub plan: PlanHeader,
    /// The store the phases read and write.
    #[serde(default)]
    pub store: StoreSpec,
    /// The knowledge-base folder for run documents.
    #[serde(default)]
    pub kb: KbSpec,
    /// Engine settings.
    #[serde(default)]
    pub runtime: RuntimeSpec,
    /// Who may approve, and for how long an approval is valid.
    #[serde(default)]
    pub approvals: ApprovalSpec,
    /// Gate plugins, whose predicates guard the phase boundaries.
    #[serde(default)]
    pub gates: Vec<GateSpec>,
    /// The phases, in run order.
    #[serde(default)]
    pub phases: Vec<PhaseSpec>,
    /// Where the plan was loaded from (set by the loader).
    #[serde(skip)]
    pub source_path: PathBuf,
    /// 1-based line of each phase's `[[phases]]` header (set by the loader).
    #[serde(skip)]
    pub phase_lines: BTreeMap<String, usize>,
}

/// `[plan]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanHeader {
    /// Plan name.
    pub name: String,
    /// The plugin set the plan runs (e.g. `iu-cut`).
    pub plugin_set: String,
}

/// `[store]`: SQLite by default.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StoreSpec {
    /// SQLite database file.
    pub sqlite: Option<PathBuf>,
    /// PostgreSQL connection.
    pub postgres: Option<PostgresSpec>,
}

/// `[store.postgres]`: the password never appears in the plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresSpec {
    /// A URL without a password, e.g. `postgres://phasehost@127.0.0.1:5432/test`.
    pub url: String,
    /// The environment variable that holds the password, if any.
    pub password_env: Option<String>,
    /// The schema to use (created if missing).
    #[serde(default = "default_schema")]
    pub schema: String,
}

fn default_schema() -> String {
    "phasehost".into()
}

/// `[kb]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KbSpec {
    /// The KB folder; a run folder is created in it per run.
    pub path: PathBuf,
}

impl Default for KbSpec {
    fn default() -> Self {
        Self { path: "kb".into() }
    }
}

/// `[runtime]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeSpec {
    /// Where compiled components are cached.
    pub cache_dir: PathBuf,
}

impl Default for RuntimeSpec {
    fn default() -> Self {
        Self {
            cache_dir: ".phasehost-cache".into(),
        }
    }
}

/// `[approvals]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalSpec {
    /// Public key files of the people who may approve.
    #[serde(default)]
    pub trusted_keys: Vec<PathBuf>,
    /// The phase SG_1 stands before.
    pub sg1_before: Option<String>,
    /// The phase SG_2 stands before.
    pub sg2_before: Option<String>,
    /// The evidence field SG_1 binds to, as `phase.field` (iu-cut: `cutplan.plan_digest`).
    pub sg1_digest: Option<String>,
    /// The evidence field SG_2 binds to (iu-cut: `write_verify.verify_digest`).
    pub sg2_digest: Option<String>,
    /// How long an SG_1 approval is valid.
    #[serde(default = "default_sg1_ttl")]
    pub sg1_ttl_secs: u64,
    /// How long an SG_2 approval is valid.
    #[serde(default = "default_sg2_ttl")]
    pub sg2_ttl_secs: u64,
}

fn default_sg1_ttl() -> u64 {
    24 * 3600
}
fn default_sg2_ttl() -> u64 {
    4 * 3600
}

impl Default for ApprovalSpec {
    fn default() -> Self {
        Self {
            trusted_keys: Vec::new(),
            sg1_before: None,
            sg2_before: None,
            sg1_digest: None,
            sg2_digest: None,
            sg1_ttl_secs: default_sg1_ttl(),
            sg2_ttl_secs: default_sg2_ttl(),
        }
    }
}

/// `[[gates]]`: a gate plugin. Gate plugins get no grants at all.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSpec {
    /// Name for messages.
    pub name: String,
    /// The component file.
    pub component: PathBuf,
    /// Its pinned sha256 (hex); filled by `phasehost pin`.
    #[serde(default)]
    pub sha256: String,
    /// Limits it runs under.
    #[serde(default)]
    pub limits: Limits,
}

/// `[[phases]]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseSpec {
    /// Phase name (unique in the plan).
    pub name: String,
    /// The component file.
    pub component: PathBuf,
    /// Its pinned sha256 (hex); filled by `phasehost pin`.
    #[serde(default)]
    pub sha256: String,
    /// What it may do.
    #[serde(default)]
    pub grants: Grants,
    /// Limits it runs under.
    #[serde(default)]
    pub limits: Limits,
    /// Configuration handed to the phase as a JSON object.
    #[serde(default)]
    pub config: toml::Table,
    /// Run the phase twice in fresh instances and stop if the outputs differ.
    #[serde(default)]
    pub run_twice: bool,
    /// Predicates that must hold before the phase (besides those the gate
    /// plugins declare for it); an unknown name fails closed.
    #[serde(default)]
    pub gates_before: Vec<String>,
    /// Predicates that must hold after the phase.
    #[serde(default)]
    pub gates_after: Vec<String>,
}

/// Resource limits for one plugin run.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Linear memory limit in MiB.
    #[serde(default = "default_memory_mib")]
    pub memory_mib: u32,
    /// Wall-clock deadline in milliseconds.
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u64,
}

fn default_memory_mib() -> u32 {
    64
}
fn default_deadline_ms() -> u64 {
    10_000
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_mib: default_memory_mib(),
            deadline_ms: default_deadline_ms(),
        }
    }
}

impl Plan {
    /// The folder paths in the plan are relative to.
    pub fn base_dir(&self) -> &Path {
        self.source_path.parent().unwrap_or(Path::new("."))
    }

    /// Resolve a plan-relative path (lexically: `plans/../demo-run` becomes
    /// `demo-run`, so messages show the paths people typed).
    pub fn resolve(&self, path: &Path) -> PathBuf {
        let joined = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir().join(path)
        };
        let mut clean = PathBuf::new();
        for part in joined.components() {
            match part {
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir
                    if matches!(
                        clean.components().next_back(),
                        Some(std::path::Component::Normal(_))
                    ) =>
                {
                    clean.pop();
                }
                other => clean.push(other),
            }
        }
        if clean.as_os_str().is_empty() {
            clean.push(".");
        }
        clean
    }

    /// The phase named `name`.
    pub fn phase(&self, name: &str) -> Option<&PhaseSpec> {
        self.phases.iter().find(|p| p.name == name)
    }

    /// The line of the plan file where phase `name` is declared (1-based).
    pub fn phase_line(&self, name: &str) -> Option<usize> {
        self.phase_lines.get(name).copied()
    }
}
