//! The run folder in the knowledge base: evidence documents, stop documents,
//! the log, artifacts and approvals. Writing a KB document is a green-light
//! gate: if it fails, the run does not go on.
//!
//! The KB may be writable by others than the host (see
//! docs/THREAT_MODEL.md), so nothing here follows a symlink: the run folder
//! and its subfolders must be real folders, files are opened with
//! `O_NOFOLLOW` (or created with `O_EXCL`), and reads are bounded and
//! refuse anything but a regular file.

use crate::fsutil::write_atomic;
use crate::runtime::state::LogLine;
use crate::stop::{Stop, StopCode};
use phasehost_policy::approval::Gate;
use phasehost_policy::safe_fs;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The stop document of a run: what, where, which phase, and the hint.
pub fn stop_document(state: &super::state::RunState, stop: &Stop) -> serde_json::Value {
    serde_json::json!({
        "run_id": state.run_id,
        "document_id": state.document_id,
        "mode": state.mode.as_str(),
        "phase": stop.phase,
        "code": stop.code,
        "exit_status": stop.code.exit_status(),
        "message": stop.message,
        "hint": stop.code.hint(),
        "stopped_at": super::ids::rfc3339_now(),
    })
}

/// The one stop writer: the stop document, then the state marked stopped.
/// If the stop document cannot be written the stop becomes
/// `kb-write-failed` (naming the stop it was writing).
pub fn write_stop(folder: &RunFolder, state: &mut super::state::RunState, stop: Stop) -> Stop {
    let stop = write_stop_document(folder, &stop_document(state, &stop), stop);
    state.status = super::state::Status::Stopped {
        code: stop.code,
        phase: stop.phase.clone(),
    };
    let _ = state.save(folder.root());
    stop
}

/// [`write_stop`] for a run whose state could not be read (`corrupt-state`):
/// the stop document only, naming the run by its folder; the state file is
/// left as it is (it is not this host's to overwrite with a guess).
pub fn write_stop_unreadable_state(folder: &RunFolder, stop: Stop) -> Stop {
    let run_id = folder
        .root()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let document = serde_json::json!({
        "run_id": run_id,
        "document_id": null,
        "mode": null,
        "phase": stop.phase,
        "code": stop.code,
        "exit_status": stop.code.exit_status(),
        "message": stop.message,
        "hint": stop.code.hint(),
    });
    write_stop_document(folder, &document, stop)
}

/// `stop.json`; a failure to write it turns `stop` into `kb-write-failed`.
fn write_stop_document(folder: &RunFolder, document: &serde_json::Value, stop: Stop) -> Stop {
    match folder.write_json("stop.json", document) {
        Ok(_) => stop,
        Err(kb) => Stop {
            code: StopCode::KbWriteFailed,
            message: format!(
                "{} (while stopping with {}: {})",
                kb.message, stop.code, stop.message
            ),
            phase: stop.phase,
        },
    }
}

/// One pause of a run at an approval gate, a line of `pauses.jsonl`: when
/// the run began to wait (host clock, RFC 3339), at which gate, before
/// which phase, for which digest. A record for people (`phasehost report`
/// computes approval wait times from it); nothing that opens a gate reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PauseRecord {
    /// When the run paused.
    pub at: String,
    /// The gate it waits at.
    pub gate: Gate,
    /// The phase the gate stands before.
    pub before_phase: String,
    /// The digest an approval must bind to.
    pub evidence_digest: String,
}

/// The largest `pauses.jsonl` read back.
pub const MAX_PAUSES_BYTES: u64 = 1 << 20;

/// A run's folder: `<kb>/runs/<run_id>/`.
#[derive(Debug, Clone)]
pub struct RunFolder {
    root: PathBuf,
}

fn kb_error(what: &str, path: &Path, e: std::io::Error) -> Stop {
    Stop::new(
        StopCode::KbWriteFailed,
        format!("cannot write {what} {}: {e}", path.display()),
    )
}

/// A run folder held by this process (see [`RunFolder::lock`]).
#[derive(Debug)]
pub struct RunLock {
    _file: std::fs::File,
}

/// The folders a run folder holds.
const SUBFOLDERS: [&str; 3] = ["evidence", "artifacts", "approvals"];

/// How many times (20 ms apart) a held run lock is tried again.
const LOCK_RETRIES: usize = 25;

/// The most approval files one gate may hold.
pub const MAX_APPROVERS: usize = 32;

/// The largest KB document the host reads back (evidence, stop documents).
pub const MAX_DOCUMENT_BYTES: u64 = 64 << 20;

fn corrupt(what: &str, path: &Path, e: impl std::fmt::Display) -> Stop {
    Stop::new(
        StopCode::CorruptState,
        format!("{what} {}: {e}", path.display()),
    )
}

impl RunFolder {
    /// Create the folder for a new run (it must not exist yet).
    pub fn create(kb: &Path, run_id: &str) -> Result<Self, Stop> {
        let runs = kb.join("runs");
        std::fs::create_dir_all(&runs).map_err(|e| kb_error("the runs folder", &runs, e))?;
        safe_fs::check_real_dir(&runs).map_err(|e| kb_error("the runs folder", &runs, e))?;
        let root = runs.join(run_id);
        std::fs::create_dir(&root).map_err(|e| kb_error("the run folder", &root, e))?;
        for dir in SUBFOLDERS {
            let dir = root.join(dir);
            std::fs::create_dir(&dir).map_err(|e| kb_error("the run folder", &dir, e))?;
        }
        Ok(Self { root })
    }

    /// An existing run folder the operator named: it and its subfolders
    /// must be real folders, never symlinks.
    pub fn open(root: &Path) -> Result<Self, Stop> {
        safe_fs::check_real_dir(root).map_err(|e| corrupt("run folder", root, e))?;
        for dir in SUBFOLDERS {
            let dir = root.join(dir);
            safe_fs::check_real_dir(&dir).map_err(|e| corrupt("run folder", &dir, e))?;
        }
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    /// The folder of run `run_id` in KB `kb`, for a run id read from
    /// somewhere untrusted (a queue row): it must match the run-id grammar,
    /// so it names exactly one folder under `<kb>/runs/`.
    pub fn open_in(kb: &Path, run_id: &str) -> Result<Self, Stop> {
        if !super::ids::is_run_id(run_id) {
            return Err(Stop::new(
                StopCode::QueueEntryRefused,
                format!(
                    "{run_id:?} is not a run id; nothing outside the KB's runs folder is opened"
                ),
            ));
        }
        let runs = kb.join("runs");
        safe_fs::check_real_dir(&runs).map_err(|e| corrupt("runs folder", &runs, e))?;
        Self::open(&runs.join(run_id))
    }

    /// The `evidence` value of evidence document `document`, if it hashes
    /// to `digest` and the document records that same digest; `None` when
    /// it does not (the file was edited). Unreadable is `corrupt-state`.
    pub fn evidence_with_digest(
        &self,
        document: &str,
        digest: &str,
    ) -> Result<Option<serde_json::Value>, Stop> {
        let doc = self.read_json(document)?;
        let value = doc
            .get("evidence")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        let holds = crate::runtime::cache::sha256_hex(value.to_string().as_bytes()) == digest
            && doc["evidence_digest"] == digest;
        Ok(holds.then_some(value))
    }

    /// Read a JSON document of the run folder (bounded, no symlink).
    pub fn read_json(&self, relative: &str) -> Result<serde_json::Value, Stop> {
        let path = self.root.join(relative);
        let bytes = safe_fs::read_regular(&path, MAX_DOCUMENT_BYTES)
            .map_err(|e| corrupt("cannot read", &path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| corrupt("damaged document", &path, e))
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The artifacts folder plugins write into.
    pub fn artifacts(&self) -> PathBuf {
        self.root.join("artifacts")
    }

    /// Hold the run folder for this process until the lock is dropped (the
    /// OS releases it when the process dies). A folder another process
    /// holds is refused: two processes must never drive one run.
    pub fn lock(&self) -> Result<RunLock, Stop> {
        let path = self.root.join(".lock");
        let file = safe_fs::open_or_create_regular(&path)
            .map_err(|e| kb_error("the run lock", &path, e))?;
        // A lock released a moment ago can still be held for an instant by
        // a child another thread of this process is forking (the child has
        // a copy of every descriptor until it execs): wait briefly before
        // calling the folder taken, so back-to-back approve/resume and
        // parallel tests do not see a lock nobody holds.
        let mut result = file.try_lock();
        for _ in 0..LOCK_RETRIES {
            if !matches!(result, Err(std::fs::TryLockError::WouldBlock)) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            result = file.try_lock();
        }
        match result {
            Ok(()) => Ok(RunLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Stop::new(
                StopCode::InvariantFailed,
                format!(
                    "run folder {} is in use by another phasehost process; nothing was done",
                    self.root.display()
                ),
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(kb_error("the run lock", &path, e)),
        }
    }

    /// The folder of `gate`'s approvals: one file per approver,
    /// `approvals/<gate>/<key id>.json`.
    pub fn approval_dir(&self, gate: &Gate) -> PathBuf {
        self.root.join("approvals").join(gate.as_str())
    }

    /// Where the approval of `gate` by key `key_id` is put.
    pub fn approval_file(&self, gate: &Gate, key_id: &str) -> PathBuf {
        self.approval_dir(gate).join(format!("{key_id}.json"))
    }

    /// The approval files of `gate` (sorted). The folder must be a real
    /// folder, and everything in it an approval file named by its key id:
    /// anything else fails closed.
    pub fn approval_files(&self, gate: &Gate) -> Result<Vec<PathBuf>, Stop> {
        let dir = self.approval_dir(gate);
        let refuse = |what: String| Stop::new(StopCode::ApprovalInvalid, what);
        match std::fs::symlink_metadata(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            _ => safe_fs::check_real_dir(&dir).map_err(|e| refuse(e.to_string()))?,
        }
        let mut files = Vec::new();
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| refuse(format!("cannot list {}: {e}", dir.display())))?;
        for entry in entries {
            let entry = entry.map_err(|e| refuse(format!("cannot list {}: {e}", dir.display())))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let key_ok = name
                .strip_suffix(".json")
                .is_some_and(|id| super::ids::is_lower_hex(id, 16));
            if !key_ok || files.len() >= MAX_APPROVERS {
                return Err(refuse(format!(
                    "{} holds {name:?}, which is not an approval file named <key id>.json (or there are more than {MAX_APPROVERS})",
                    dir.display()
                )));
            }
            files.push(entry.path());
        }
        files.sort();
        Ok(files)
    }

    /// The gates that have an `approvals/<gate>/` folder (sorted; entries
    /// that are not gate names are left out), for `status` without a plan.
    pub fn approval_gates(&self) -> Result<Vec<Gate>, Stop> {
        let dir = self.root.join("approvals");
        let entries = match std::fs::read_dir(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(kb_error("the approvals folder", &dir, e)),
            Ok(entries) => entries,
        };
        let mut gates: Vec<Gate> = entries
            .filter_map(Result::ok)
            .filter_map(|e| Gate::new(e.file_name().to_str()?).ok())
            .collect();
        gates.sort();
        Ok(gates)
    }

    /// Create `approvals/<gate>/` if missing (a real folder, never a symlink).
    pub fn ensure_approval_dir(&self, gate: &Gate) -> Result<PathBuf, Stop> {
        let dir = self.approval_dir(gate);
        std::fs::create_dir_all(&dir).map_err(|e| kb_error("the approvals folder", &dir, e))?;
        safe_fs::check_real_dir(&dir).map_err(|e| kb_error("the approvals folder", &dir, e))?;
        Ok(dir)
    }

    /// Write the review of `gate` to `review/<gate>.md` (replacing an
    /// earlier one: it is made from the evidence, so it is the same).
    pub fn write_review(&self, gate: &Gate, text: &str) -> Result<PathBuf, Stop> {
        let dir = self.root.join("review");
        std::fs::create_dir_all(&dir).map_err(|e| kb_error("the review folder", &dir, e))?;
        safe_fs::check_real_dir(&dir).map_err(|e| kb_error("the review folder", &dir, e))?;
        let path = dir.join(format!("{}.md", gate.as_str()));
        write_atomic(&path, text.as_bytes()).map_err(|e| kb_error("the review", &path, e))?;
        Ok(path)
    }

    /// The review of `gate` as `approve` last wrote it (`review/<gate>.md`),
    /// if there is one. Bounded, no symlink; unreadable is `corrupt-state`.
    pub fn read_review(&self, gate: &Gate) -> Result<Option<Vec<u8>>, Stop> {
        let path = self
            .root
            .join("review")
            .join(format!("{}.md", gate.as_str()));
        if let Err(e) = std::fs::symlink_metadata(&path)
            && e.kind() == std::io::ErrorKind::NotFound
        {
            return Ok(None);
        }
        safe_fs::read_regular(&path, MAX_DOCUMENT_BYTES)
            .map(Some)
            .map_err(|e| corrupt("cannot read", &path, e))
    }

    /// Whether the run folder holds `relative` (anything at all, a symlink
    /// included: readers then refuse it).
    pub fn holds(&self, relative: &str) -> bool {
        std::fs::symlink_metadata(self.root.join(relative)).is_ok()
    }

    /// The signed run start (`phasehost run --as`).
    pub fn start_file(&self) -> PathBuf {
        self.root.join("start.json")
    }

    /// The folder of signed resumes (`phasehost resume --as`).
    pub fn resumes_dir(&self) -> PathBuf {
        self.root.join("resumes")
    }

    /// Write a JSON document atomically under the run folder.
    pub fn write_json(&self, relative: &str, value: &impl Serialize) -> Result<PathBuf, Stop> {
        let path = self.root.join(relative);
        let json = serde_json::to_vec_pretty(value).expect("documents serialize");
        write_atomic(&path, &json).map_err(|e| kb_error("KB document", &path, e))?;
        Ok(path)
    }

    /// Append `pause` to `pauses.jsonl` (see [`PauseRecord`]).
    pub fn record_pause(&self, pause: &PauseRecord) -> Result<(), Stop> {
        let path = self.root.join("pauses.jsonl");
        let mut line = serde_json::to_string(pause).expect("a pause serializes");
        line.push('\n');
        let mut file = safe_fs::open_or_create_regular(&path)
            .map_err(|e| kb_error("the pause record", &path, e))?;
        use std::io::Seek;
        file.seek(std::io::SeekFrom::End(0))
            .and_then(|_| file.write_all(line.as_bytes()))
            .and_then(|()| file.sync_data())
            .map_err(|e| kb_error("the pause record", &path, e))
    }

    /// The run's pauses, oldest first (none when `pauses.jsonl` is missing:
    /// a run that never paused, or one recorded before pauses were). Bounded,
    /// no symlink; a line that is not a pause record is `corrupt-state`.
    pub fn pauses(&self) -> Result<Vec<PauseRecord>, Stop> {
        let path = self.root.join("pauses.jsonl");
        if let Err(e) = std::fs::symlink_metadata(&path)
            && e.kind() == std::io::ErrorKind::NotFound
        {
            return Ok(Vec::new());
        }
        let bytes = safe_fs::read_regular(&path, MAX_PAUSES_BYTES)
            .map_err(|e| corrupt("cannot read", &path, e))?;
        let text = std::str::from_utf8(&bytes).map_err(|e| corrupt("damaged", &path, e))?;
        text.lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(n, line)| {
                serde_json::from_str(line)
                    .map_err(|e| corrupt("damaged", &path, format!("line {}: {e}", n + 1)))
            })
            .collect()
    }

    /// Append log lines of `phase` to `log.jsonl`.
    pub fn append_log(&self, phase: &str, lines: &[LogLine]) -> Result<(), Stop> {
        if lines.is_empty() {
            return Ok(());
        }
        let path = self.root.join("log.jsonl");
        let mut text = String::new();
        for line in lines {
            let entry = serde_json::json!({"at": line.at, "phase": phase, "level": line.level, "message": line.message});
            text.push_str(&entry.to_string());
            text.push('\n');
        }
        let mut file = safe_fs::open_or_create_regular(&path)
            .map_err(|e| kb_error("the run log", &path, e))?;
        use std::io::Seek;
        file.seek(std::io::SeekFrom::End(0))
            .map_err(|e| kb_error("the run log", &path, e))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| kb_error("the run log", &path, e))
    }
}
