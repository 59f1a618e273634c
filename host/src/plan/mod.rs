//! The plan: a TOML file naming the phases in order, each with its component,
//! pinned sha256, grants and limits; plus the store, KB, approvals and caps.
//!
//! Paths in a plan are relative to the plan file's folder.

mod access;
mod approval_gates;
mod grants;
mod keys_doc;
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
    /// Who may approve, and for how long an approval is valid.
    #[serde(default)]
    pub approvals: ApprovalSpec,
    /// Tables the plan declares for its plugin set (`[[tables]]`), besides
    /// iu-cut's built-in ones; see docs/STORE.md.
    #[serde(default)]
    pub tables: Vec<TableDecl>,
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
    /// 1-based line of each `[[gates]]` header (set by the loader).
    #[serde(skip)]
    pub gate_lines: BTreeMap<String, usize>,
    /// 1-based line of `[approvals]` (key `approvals`) and of each
    /// `[[approvals.gates]]` entry (keyed by its name), set by the loader.
    #[serde(skip)]
    pub approval_lines: BTreeMap<String, usize>,
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
    /// The environment variable that holds the password, if any; its name
    /// must match `PHASEHOST_[A-Z0-9_]+`. The password is only sent over TLS.
    pub password_env: Option<String>,
    /// The schema to use (created if missing).
    #[serde(default = "default_schema")]
    pub schema: String,
    /// `disable`, `require` or `verify-full`; by default `disable` for a
    /// loopback host (127.0.0.0/8, `::1`, `localhost`, a unix socket) and
    /// `verify-full` for any other. `disable` is refused for other hosts.
    pub sslmode: Option<SslMode>,
    /// A PEM file of the root certificate(s) to trust instead of the
    /// system's (relative to the plan's folder).
    pub sslrootcert: Option<PathBuf>,
}

/// One `[[tables]]` entry: a table the plan declares.
pub use phasehost_store::declared::{ColumnDecl, DeclType, TableDecl};

/// The TLS mode of `[store.postgres]` (libpq's names and meanings).
pub use phasehost_store::SslMode;

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

/// `[approvals]`
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ApprovalSpec {
    /// Public key files of the people who may approve.
    #[serde(default)]
    pub trusted_keys: Vec<PathBuf>,
    /// A run must be started with `--as <key-file>` (a key the plan
    /// trusts), which signs a run-start statement into the run folder.
    #[serde(default)]
    pub require_signed_start: bool,
    /// The human approval gates (`[[approvals.gates]]`), any number.
    #[serde(default)]
    pub gates: Vec<ApprovalGate>,
}

/// `[[approvals.gates]]`: one human approval gate: the run pauses before
/// phase `before` until enough trusted keys have signed an approval bound to
/// the evidence field `digest`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ApprovalGate {
    /// The gate's name (`[a-z][a-z0-9_-]{0,31}`, unique in the plan); signed
    /// approvals name it, and `phasehost approve --gate <name>` opens it.
    pub name: String,
    /// The phase the gate stands before (one gate per phase at most).
    pub before: String,
    /// The evidence field the approval binds to, as `phase.field` of a phase
    /// that runs before `before` (iu-cut: `cutplan.plan_digest`).
    pub digest: String,
    /// Longest validity of an approval, in seconds (default 24 h).
    #[serde(default = "default_ttl")]
    pub ttl_secs: u64,
    /// How many distinct trusted keys must approve (default 1).
    #[serde(default = "default_quorum")]
    pub quorum: u32,
    /// The key that signed the run's start may not approve (default true).
    #[serde(default = "default_true")]
    pub prevent_self_review: bool,
    /// Gates whose approvers may not approve this one (e.g. `["sg1"]`).
    #[serde(default)]
    pub distinct_from: Vec<String>,
    /// Refuse an approval whose review decision id was used by any approval
    /// consumed before (in this run or another on the same ledger), so the
    /// gate needs a fresh human review decision (default false; iu-cut: SG_2).
    #[serde(default)]
    pub fresh_review_decision: bool,
}

fn default_quorum() -> u32 {
    1
}
fn default_true() -> bool {
    true
}
fn default_ttl() -> u64 {
    24 * 3600
}

impl ApprovalSpec {
    /// The approval gate named `name`.
    pub fn gate(&self, name: &str) -> Option<&ApprovalGate> {
        self.gates.iter().find(|g| g.name == name)
    }

    /// The approval gate that stands before phase `phase`.
    pub fn gate_before(&self, phase: &str) -> Option<&ApprovalGate> {
        self.gates.iter().find(|g| g.before == phase)
    }

    /// The gate names, in plan order, for messages (`sg1, sg2`, or `(none)`).
    pub fn names(&self) -> String {
        if self.gates.is_empty() {
            return "(none: the plan has no [[approvals.gates]])".into();
        }
        self.gates
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl ApprovalGate {
    /// The gate as signed statements name it (valid once the plan loaded).
    pub fn id(&self) -> phasehost_policy::approval::Gate {
        phasehost_policy::approval::Gate::new(&self.name)
            .expect("gate names are checked when the plan loads")
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
    /// Predicates of this plugin that the plan knowingly leaves unbound:
    /// each is bound to a phase this plan does not have (a gate plugin
    /// shared by several plans). Any other such predicate is refused at
    /// load; every name here must be a predicate of this plugin.
    #[serde(default)]
    pub allow_unbound: Vec<String>,
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
    /// What a capability call without a grant does (default: stop).
    #[serde(default)]
    pub on_denied: OnDenied,
}

/// Resource limits for one plugin run: what it may use (memory, time) and
/// what it may make the host do for it (bytes and rows crossing into the
/// host, log lines, evidence). Exceeding a limit stops the run with
/// `plugin-out-of-memory`, `plugin-deadline` or `plugin-output-too-large`,
/// naming the limit and the plan line to raise it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Linear memory limit in MiB (at most [`MAX_MEMORY_MIB`]).
    #[serde(default = "default_memory_mib")]
    pub memory_mib: u32,
    /// Wall-clock deadline in milliseconds. Host work done inside the
    /// plugin's calls counts against it.
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u64,
    /// Largest single argument of a capability call (a table or column
    /// name, a filter value, a row, a log line, an artifact), in bytes.
    #[serde(default = "default_max_arg_bytes")]
    pub max_arg_bytes: u64,
    /// Largest total of one call's arguments, in bytes.
    #[serde(default = "default_max_call_bytes")]
    pub max_call_bytes: u64,
    /// Most rows in one call.
    #[serde(default = "default_max_call_rows")]
    pub max_call_rows: u64,
    /// Largest total of all arguments of all calls of one run, in bytes.
    #[serde(default = "default_max_phase_bytes")]
    pub max_phase_bytes: u64,
    /// Largest evidence (JSON) a phase may return, or a gate's detail text.
    #[serde(default = "default_max_evidence_bytes")]
    pub max_evidence_bytes: u64,
    /// Most log lines of one run.
    #[serde(default = "default_max_log_lines")]
    pub max_log_lines: u64,
    /// Largest total of one run's log lines, in bytes (after each line is
    /// cut to 4 KiB).
    #[serde(default = "default_max_log_bytes")]
    pub max_log_bytes: u64,
}

/// The largest `memory_mib` a plan may give a plugin: the engine's slot.
pub const MAX_MEMORY_MIB: u32 = 1024;

fn default_memory_mib() -> u32 {
    64
}
fn default_deadline_ms() -> u64 {
    10_000
}
fn default_max_arg_bytes() -> u64 {
    1 << 20
}
fn default_max_call_bytes() -> u64 {
    32 << 20
}
fn default_max_call_rows() -> u64 {
    100_000
}
fn default_max_phase_bytes() -> u64 {
    128 << 20
}
fn default_max_evidence_bytes() -> u64 {
    256 << 10
}
fn default_max_log_lines() -> u64 {
    10_000
}
fn default_max_log_bytes() -> u64 {
    4 << 20
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_mib: default_memory_mib(),
            deadline_ms: default_deadline_ms(),
            max_arg_bytes: default_max_arg_bytes(),
            max_call_bytes: default_max_call_bytes(),
            max_call_rows: default_max_call_rows(),
            max_phase_bytes: default_max_phase_bytes(),
            max_evidence_bytes: default_max_evidence_bytes(),
            max_log_lines: default_max_log_lines(),
            max_log_bytes: default_max_log_bytes(),
        }
    }
}

/// What a denied capability call does to the phase.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum OnDenied {
    /// Stop the phase at once with `capability-denied` (the default).
    #[default]
    Stop,
    /// Answer `access-denied`, record the call in the evidence document and
    /// the log, and go on (for a plugin under development).
    Record,
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

    /// Where the rules of approval gate `gate` are in the plan file, for
    /// messages: `<plan> line N` of its `[[approvals.gates]]`, else of
    /// `[approvals]`, else the plan file.
    pub fn approval_location(&self, gate: &str) -> String {
        match self
            .approval_lines
            .get(gate)
            .or_else(|| self.approval_lines.get("approvals"))
        {
            Some(line) => format!("{} line {line}", self.source_path.display()),
            None => self.source_path.display().to_string(),
        }
    }

    /// Where gate plugin `name` (`[[gates]]`) or phase `name` is declared,
    /// for messages: `<plan> line N`, else the plan file.
    pub fn line_of(&self, role: &str, name: &str) -> String {
        let lines = if role == "gate" {
            &self.gate_lines
        } else {
            &self.phase_lines
        };
        match lines.get(name) {
            Some(line) => format!("{} line {line}", self.source_path.display()),
            None => self.source_path.display().to_string(),
        }
    }

    /// The line of the plan file where phase `name` is declared (1-based).
    pub fn phase_line(&self, name: &str) -> Option<usize> {
        self.phase_lines.get(name).copied()
    }
}
