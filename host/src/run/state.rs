//! A run's saved state: enough to restore the run exactly after the process
//! ends (enums included) and to check for drift on resume. Saved atomically
//! after every step; a state file that does not parse is `corrupt-state`.

use crate::fsutil::write_atomic;
use crate::stop::{Stop, StopCode};
use phasehost_policy::approval::Gate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The state file's format version.
pub const STATE_FORMAT: u32 = 1;

/// Dry or live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Store writes are rolled back.
    Dry,
    /// Store writes are committed phase by phase.
    Live,
}

impl Mode {
    /// `dry` or `live`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Dry => "dry",
            Mode::Live => "live",
        }
    }
}

/// Where a run is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Status {
    /// Running (or interrupted while running).
    Running,
    /// Waiting for an approval.
    Paused {
        /// The gate.
        gate: Gate,
        /// The evidence digest the approval must bind to.
        evidence_digest: String,
        /// The phase the gate stands before.
        before_phase: String,
    },
    /// Stopped with a stop code.
    Stopped {
        /// Why.
        code: StopCode,
        /// The phase, if any.
        phase: Option<String>,
    },
    /// Through closeout.
    Completed,
}

/// What the drift check compares on resume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// sha256 of the source's raw bytes.
    pub source_sha256: String,
    /// sha256 of the plan file.
    pub plan_sha256: String,
    /// sha256 of each plugin component, by name.
    pub plugins: BTreeMap<String, String>,
    /// The store's digest of the document's rows (set when the run pauses).
    pub store_digest: Option<String>,
}

/// A consumed approval, as recorded in the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumedGate {
    /// The approval's id.
    pub approval_id: String,
    /// The digest it bound to.
    pub evidence_digest: String,
    /// Who signed (key id).
    pub key_id: String,
    /// Its review decision id.
    pub review_decision_id: String,
}

/// One phase that completed, with its evidence digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseRecord {
    /// Phase name.
    pub phase: String,
    /// sha256 of its evidence JSON.
    pub evidence_digest: String,
    /// The evidence document in the run folder.
    pub document: String,
}

/// The state of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunState {
    /// Format version.
    pub format: u32,
    /// The run id.
    pub run_id: String,
    /// The plan file.
    pub plan_path: PathBuf,
    /// The source file.
    pub source_path: PathBuf,
    /// The host config file, if one was given.
    pub host_config: Option<PathBuf>,
    /// The document id.
    pub document_id: String,
    /// The version label.
    pub version: String,
    /// Dry or live.
    pub mode: Mode,
    /// Where the run is.
    pub status: Status,
    /// Index of the next phase to run.
    pub next_phase: usize,
    /// Completed phases.
    pub phases: Vec<PhaseRecord>,
    /// Approvals consumed, by gate.
    pub approvals: BTreeMap<String, ConsumedGate>,
    /// What must not change while paused.
    pub fingerprint: Fingerprint,
    /// Unix time the run started.
    pub started_at: u64,
}

impl RunState {
    /// The state file of a run folder.
    pub fn path(run_folder: &Path) -> PathBuf {
        run_folder.join("state.json")
    }

    /// Save atomically (temp file, fsync, rename).
    pub fn save(&self, run_folder: &Path) -> Result<(), Stop> {
        let json = serde_json::to_vec_pretty(self).expect("state serializes");
        write_atomic(&Self::path(run_folder), &json).map_err(|e| {
            Stop::new(
                StopCode::KbWriteFailed,
                format!("cannot save the run state in {}: {e}", run_folder.display()),
            )
        })
    }

    /// Load a run folder's state; a missing or unreadable file is
    /// `corrupt-state` with a clear message.
    pub fn load(run_folder: &Path) -> Result<Self, Stop> {
        let path = Self::path(run_folder);
        let bytes = std::fs::read(&path).map_err(|e| {
            Stop::new(
                StopCode::CorruptState,
                format!("cannot read {}: {e}; is this a run folder?", path.display()),
            )
        })?;
        let state: RunState = serde_json::from_slice(&bytes).map_err(|e| {
            Stop::new(
                StopCode::CorruptState,
                format!("{} is damaged: {e}", path.display()),
            )
        })?;
        if state.format != STATE_FORMAT {
            return Err(Stop::new(
                StopCode::CorruptState,
                format!(
                    "{} has format {}, this phasehost reads {STATE_FORMAT}",
                    path.display(),
                    state.format
                ),
            ));
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RunState {
        RunState {
            format: STATE_FORMAT,
            run_id: "r".into(),
            plan_path: "p.toml".into(),
            source_path: "s.txt".into(),
            host_config: None,
            document_id: "d".into(),
            version: "v-1".into(),
            mode: Mode::Live,
            status: Status::Paused {
                gate: Gate::Sg2,
                evidence_digest: "ab".into(),
                before_phase: "x".into(),
            },
            next_phase: 3,
            phases: vec![],
            approvals: BTreeMap::new(),
            fingerprint: Fingerprint {
                source_sha256: "s".into(),
                plan_sha256: "p".into(),
                plugins: BTreeMap::new(),
                store_digest: Some("d".into()),
            },
            started_at: 1,
        }
    }

    #[test]
    fn restores_exactly_enums_included() {
        let dir = tempfile::tempdir().unwrap();
        let state = sample();
        state.save(dir.path()).unwrap();
        assert_eq!(RunState::load(dir.path()).unwrap(), state);
        let mut stopped = state;
        stopped.status = Status::Stopped {
            code: StopCode::Drift,
            phase: Some("mark".into()),
        };
        stopped.save(dir.path()).unwrap();
        assert_eq!(RunState::load(dir.path()).unwrap(), stopped);
    }

    #[test]
    fn a_corrupt_state_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        sample().save(dir.path()).unwrap();
        let path = RunState::path(dir.path());
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, &text[..text.len() / 2]).unwrap();
        let err = RunState::load(dir.path()).unwrap_err();
        assert_eq!(err.code, StopCode::CorruptState);
        std::fs::write(&path, text.replace("\"sg2\"", "\"sg9\"")).unwrap();
        assert_eq!(
            RunState::load(dir.path()).unwrap_err().code,
            StopCode::CorruptState
        );
    }
}
