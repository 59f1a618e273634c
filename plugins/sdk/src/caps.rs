//! The phase side of the host boundary as plain Rust: what the host tells a
//! phase ([`Input`]), how it refuses ([`Refusal`]), the capabilities it may
//! be granted ([`Caps`]) and what a capability call returns on failure
//! ([`CapError`]). These mirror the WIT types one to one.

use std::fmt;

/// A phase entry point, monomorphized for one [`Caps`] implementation.
pub type PhaseFn<C> = fn(&Input, &mut C) -> Result<String, Refusal>;

/// What the host tells a phase (the WIT `phase-input`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    /// The run id.
    pub run_id: String,
    /// The document being processed (scopes every store call).
    pub document_id: String,
    /// The version label (`v-<first 16 hex of the raw sha256>`).
    pub version: String,
    /// True when store writes will be rolled back.
    pub dry_run: bool,
    /// The phase's `[phases.config]`, as a JSON object.
    pub config: String,
    /// `(phase, json)` of every phase that already ran, in order, plus the
    /// host's pseudo-evidence (`@host`, `@sg1`, `@sg2`, `@<phase>-rerun`).
    pub evidence: Vec<(String, String)>,
}

/// Why a phase refused (maps 1:1 to the WIT `refusal-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// → stop code `empty-source`.
    EmptyInput,
    /// → `bad-encoding`.
    BadEncoding,
    /// → `unknown-document`.
    UnknownDocument,
    /// → `duplicate-document`.
    DuplicateDocument,
    /// → `cap-exceeded`.
    CapExceeded,
    /// → `invariant-failed`.
    InvariantFailed,
    /// → `grant-mismatch`.
    GrantMismatch,
    /// → `capability-failed`.
    CapabilityFailed,
}

/// A refusal: kind and operator message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The kind.
    pub kind: RefusalKind,
    /// A human-readable explanation.
    pub message: String,
}

impl Refusal {
    /// A refusal of `kind`.
    pub fn new(kind: RefusalKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// `invariant-failed`.
    pub fn invariant(message: impl Into<String>) -> Self {
        Self::new(RefusalKind::InvariantFailed, message)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

/// The error a capability call returns (the WIT `types.error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapError {
    /// Not granted.
    AccessDenied(String),
    /// The row / artifact / table does not exist.
    NotFound(String),
    /// Refused by policy (kill-switch, secret, cap, conflict …).
    Refused(String),
    /// Malformed arguments.
    Invalid(String),
}

impl fmt::Display for CapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapError::AccessDenied(s) => write!(f, "access denied: {s}"),
            CapError::NotFound(s) => write!(f, "not found: {s}"),
            CapError::Refused(s) => write!(f, "refused: {s}"),
            CapError::Invalid(s) => write!(f, "invalid: {s}"),
        }
    }
}

/// Log levels (the WIT `log.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Diagnostic detail.
    Debug,
    /// Normal progress.
    Info,
    /// Something unusual that did not stop the phase.
    Warn,
}

/// The capabilities a phase may be granted. Every store call is scoped by
/// the host to the run's document; rows are JSON objects (text).
pub trait Caps {
    /// `source.read`: the raw bytes of the pinned source.
    fn read_source(&mut self) -> Result<Vec<u8>, CapError>;
    /// `store-read.select`: rows matching every equality filter, ordered by
    /// primary key (units: by `seq`).
    fn select(&mut self, table: &str, filters: &[(&str, &str)]) -> Result<Vec<String>, CapError>;
    /// `store-read.count`.
    fn count(&mut self, table: &str, filters: &[(&str, &str)]) -> Result<u64, CapError>;
    /// `store-write.insert`: idempotent on the primary key; rows inserted.
    fn insert(&mut self, table: &str, rows: &[String]) -> Result<u64, CapError>;
    /// `store-write.update`: set the columns of `set` (a JSON object); rows changed.
    fn update(&mut self, table: &str, filters: &[(&str, &str)], set: &str)
    -> Result<u64, CapError>;
    /// `store-write.delete`: rows deleted.
    fn delete(&mut self, table: &str, filters: &[(&str, &str)]) -> Result<u64, CapError>;
    /// `artifacts.put`: the sha256 (hex) of what was stored.
    fn put_artifact(&mut self, name: &str, bytes: &[u8]) -> Result<String, CapError>;
    /// `artifacts.get`.
    fn get_artifact(&mut self, name: &str) -> Result<Vec<u8>, CapError>;
    /// `log.emit`.
    fn log(&mut self, level: Level, message: &str);
}
