//! A run's saved state: a record of progress, never an authority. It says
//! where the run is and what its inputs were, so `resume` knows where to go
//! on and what to compare; everything that opens a gate or feeds one is
//! checked again from elsewhere (signed approval files, the evidence files
//! against the store's checkpoints, the plan and host config the operator
//! names). Saved atomically after every step; a state file that does not
//! parse, or whose fields do not have their shape, is `corrupt-state`.

use crate::fsutil::write_atomic_in;
use crate::stop::{Stop, StopCode};
use phasehost_policy::approval::Gate;
use phasehost_policy::safe_dir::SafeDir;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The state file's format version.
pub const STATE_FORMAT: u32 = 2;

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
#[serde(deny_unknown_fields)]
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

/// One phase that completed, with its evidence digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseRecord {
    /// Phase name.
    pub phase: String,
    /// sha256 of its evidence JSON.
    pub evidence_digest: String,
    /// The evidence document in the run folder.
    pub document: String,
    /// How long the phase took, gates included (host clock), in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// The state of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunState {
    /// Format version.
    pub format: u32,
    /// The run id.
    pub run_id: String,
    /// The plan file as given at start: shown to the operator, never read
    /// by `resume` (which takes the plan from its command line).
    pub plan_path: PathBuf,
    /// The source file (its bytes are checked against the recorded sha256,
    /// and on a live run against the store's checkpoints).
    pub source_path: PathBuf,
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
    /// What must not change while paused.
    pub fingerprint: Fingerprint,
    /// Unix time the run started.
    pub started_at: u64,
}

impl RunState {
    /// The state file of a run folder, relative to it.
    pub const FILE: &'static str = "state.json";

    /// The state file of the run folder at `run_folder` (tests, messages).
    pub fn path(run_folder: &Path) -> PathBuf {
        run_folder.join(Self::FILE)
    }

    /// [`RunState::save_in`] the run folder at `run_folder` (a path the
    /// operator or a test names).
    pub fn save(&self, run_folder: &Path) -> Result<(), Stop> {
        let dir = SafeDir::open_trusted(run_folder).map_err(|e| {
            Stop::new(
                StopCode::KbWriteFailed,
                format!("cannot save the run state in {}: {e}", run_folder.display()),
            )
        })?;
        self.save_in(&dir)
    }

    /// [`RunState::load_in`] the run folder at `run_folder`.
    pub fn load(run_folder: &Path) -> Result<Self, Stop> {
        let dir = SafeDir::open_trusted(run_folder).map_err(|e| {
            Stop::new(
                StopCode::CorruptState,
                format!(
                    "cannot read {}: {e}; is this a run folder?",
                    run_folder.display()
                ),
            )
        })?;
        Self::load_in(&dir)
    }

    /// Save atomically in the run folder `dir` (temp file, fsync, rename).
    pub fn save_in(&self, dir: &SafeDir) -> Result<(), Stop> {
        self.save_with(dir, |dir, name, json| {
            write_atomic_in(dir, name, json, 0o644)
        })
    }

    /// Save in the run folder `dir` through `write` (folder, file name,
    /// bytes), which decides how the write is made durable (a run's own
    /// saves are deferred to its barrier: `RunFolder::save_state`).
    pub(super) fn save_with(
        &self,
        dir: &SafeDir,
        write: impl FnOnce(&SafeDir, &str, &[u8]) -> std::io::Result<()>,
    ) -> Result<(), Stop> {
        let json = serde_json::to_vec_pretty(self).expect("state serializes");
        write(dir, Self::FILE, &json).map_err(|e| {
            Stop::new(
                StopCode::KbWriteFailed,
                format!("cannot save the run state in {}: {e}", dir.path().display()),
            )
        })
    }

    /// Load the state of run folder `dir`; a missing or unreadable file is
    /// `corrupt-state` with a clear message.
    pub fn load_in(dir: &SafeDir) -> Result<Self, Stop> {
        let path = dir.shown(Self::FILE);
        let bytes = dir.read_regular(Self::FILE, MAX_STATE_BYTES).map_err(|e| {
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
        state.check_shape().map_err(|what| {
            Stop::new(
                StopCode::CorruptState,
                format!("{} is damaged: {what}", path.display()),
            )
        })?;
        Ok(state)
    }

    /// Every field has the shape the host writes: ids by their grammar,
    /// digests as 64 lowercase hex, evidence documents where the host puts
    /// them. Nothing else reads a field before this holds.
    fn check_shape(&self) -> Result<(), String> {
        if !super::ids::is_run_id(&self.run_id) {
            return Err(format!("run id {:?} is not a run id", self.run_id));
        }
        if !super::ids::is_document_id(&self.document_id) {
            return Err(format!(
                "document id {:?} is not a document id",
                self.document_id
            ));
        }
        let sha = &self.fingerprint.source_sha256;
        if !is_digest(sha) || self.version != super::ids::version_label(sha) {
            return Err("the source digest or version label is malformed".into());
        }
        if !is_digest(&self.fingerprint.plan_sha256) {
            return Err("the plan digest is malformed".into());
        }
        for (name, sha) in &self.fingerprint.plugins {
            if !is_digest(sha) {
                return Err(format!("the digest of plugin {name:?} is malformed"));
            }
        }
        if let Some(d) = &self.fingerprint.store_digest
            && !is_digest(d)
        {
            return Err("the store digest is malformed".into());
        }
        if self.next_phase > self.phases.len() + 1 || self.phases.len() > MAX_PHASES {
            return Err("the phase count does not add up".into());
        }
        for (index, record) in self.phases.iter().enumerate() {
            if !is_digest(&record.evidence_digest)
                || record.document != super::documents::evidence_document(index, &record.phase)
                || !super::ids::is_plain_name(&record.phase)
            {
                return Err(format!("phase record {} is malformed", index + 1));
            }
        }
        if let Status::Paused {
            evidence_digest,
            before_phase,
            ..
        } = &self.status
            && (!is_digest(evidence_digest) || !super::ids::is_plain_name(before_phase))
        {
            return Err("the paused gate's digest or phase is malformed".into());
        }
        Ok(())
    }
}

/// The largest state file read.
const MAX_STATE_BYTES: u64 = 4 << 20;

/// The most phases a run may record.
const MAX_PHASES: usize = 1024;

/// 64 lowercase hex characters.
pub fn is_digest(s: &str) -> bool {
    super::ids::is_lower_hex(s, 64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RunState {
        let sha = "a".repeat(64);
        RunState {
            format: STATE_FORMAT,
            run_id: "d.20261202T000000Z.0123abcd".into(),
            plan_path: "p.toml".into(),
            source_path: "s.txt".into(),
            document_id: "d".into(),
            version: super::super::ids::version_label(&sha),
            mode: Mode::Live,
            status: Status::Paused {
                gate: Gate::new("sg2").unwrap(),
                evidence_digest: "b".repeat(64),
                before_phase: "x".into(),
            },
            next_phase: 0,
            phases: vec![],
            fingerprint: Fingerprint {
                source_sha256: sha.clone(),
                plan_sha256: "c".repeat(64),
                plugins: BTreeMap::new(),
                store_digest: Some("d".repeat(64)),
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
        std::fs::write(&path, text.replace("\"sg2\"", "\"SG 9\"")).unwrap();
        assert_eq!(
            RunState::load(dir.path()).unwrap_err().code,
            StopCode::CorruptState
        );
    }

    #[test]
    fn a_short_digest_or_a_foreign_field_is_corrupt_state() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = sample();
        state.status = Status::Paused {
            gate: Gate::new("sg1").unwrap(),
            evidence_digest: "ab".into(),
            before_phase: "x".into(),
        };
        state.save(dir.path()).unwrap();
        assert_eq!(
            RunState::load(dir.path()).unwrap_err().code,
            StopCode::CorruptState
        );
        let mut state = sample();
        state.phases.push(PhaseRecord {
            phase: "mark".into(),
            evidence_digest: "ab".into(),
            document: "evidence/01-mark.json".into(),
            duration_ms: None,
        });
        state.save(dir.path()).unwrap();
        assert_eq!(
            RunState::load(dir.path()).unwrap_err().code,
            StopCode::CorruptState
        );
        // A state file that tries to carry approvals (the old format) is refused.
        sample().save(dir.path()).unwrap();
        let path = RunState::path(dir.path());
        let text = std::fs::read_to_string(&path).unwrap();
        let forged = text.replacen('{', "{\"approvals\": {\"sg1\": {}},", 1);
        std::fs::write(&path, forged).unwrap();
        assert_eq!(
            RunState::load(dir.path()).unwrap_err().code,
            StopCode::CorruptState
        );
    }
}
