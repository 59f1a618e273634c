//! The run folder in the knowledge base: evidence documents, stop documents,
//! the log, artifacts and approvals. Writing a KB document is a green-light
//! gate: if it fails, the run does not go on.
//!
//! The KB may be writable by others than the host (see
//! docs/THREAT_MODEL.md), so a run folder is a `cap_std` directory handle
//! ([`SafeDir`]) opened from the KB root's handle through `runs/`, and every
//! file and subfolder is reached from it one component at a time, never
//! through a symlink (not even one pointing inside the KB): files are opened
//! no-follow (or created with `O_EXCL`), reads are bounded and refuse
//! anything but a regular file. Paths are kept for messages only.

use crate::fsutil::{Durability, SyncCounts, SyncLedger, SyncOrder, write_atomic_in};
use crate::runtime::state::LogLine;
use crate::stop::{Stop, StopCode};
use phasehost_policy::approval::Gate;
use phasehost_policy::approval::{self, ApprovalError, SignedApproval, SignedStart};
use phasehost_policy::safe_dir::SafeDir;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The signed run start (`phasehost run --as`), in the run folder.
pub const START_FILE: &str = "start.json";

/// The folder of signed resumes (`phasehost resume --as`).
pub const RESUMES_DIR: &str = "resumes";

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
    let _ = folder.save_state(state);
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

/// A run's folder: `<kb>/runs/<run_id>/`, held as a directory handle, with
/// the ledger of what the run wrote into it and has not made durable yet
/// (shared by every clone; see [`RunFolder::make_durable`]).
#[derive(Debug, Clone)]
pub struct RunFolder {
    dir: SafeDir,
    ledger: SyncLedger,
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
    /// Create the folder for a new run (it must not exist yet): the KB root
    /// by its path (the operator names it), then `runs/`, the run folder
    /// and its subfolders each from its parent's handle.
    pub fn create(kb: &Path, run_id: &str) -> Result<Self, Stop> {
        let runs = kb.join("runs");
        std::fs::create_dir_all(kb).map_err(|e| kb_error("the runs folder", &runs, e))?;
        let runs = SafeDir::open_trusted(kb)
            .and_then(|kb| kb.ensure_subdir("runs"))
            .map_err(|e| kb_error("the runs folder", &runs, e))?;
        let dir = runs
            .create_subdir(run_id)
            .map_err(|e| kb_error("the run folder", &runs.shown(run_id), e))?;
        for sub in SUBFOLDERS {
            dir.create_subdir(sub)
                .map_err(|e| kb_error("the run folder", &dir.shown(sub), e))?;
        }
        // The new folders' names become durable at the run's first barrier.
        let ledger = SyncLedger::new();
        ledger.record_folder(&runs);
        ledger.record_folder(&dir);
        Ok(Self { dir, ledger })
    }

    /// An existing run folder the operator named. In a KB
    /// (`<kb>/runs/<run>`) only the KB root is opened by path, `runs/` and
    /// the run folder each from its parent's handle (a symlink at either is
    /// refused); a run folder elsewhere (copied out of its KB) has its
    /// parent opened by path instead. Its subfolders must be real folders,
    /// never symlinks.
    pub fn open(root: &Path) -> Result<Self, Stop> {
        let dir = Self::open_named(root).map_err(|e| corrupt("run folder", root, e))?;
        Self::checked(dir.with_path(root))
    }

    /// The handle of `root`, reached from the nearest folder above it the
    /// operator is trusted for (see [`RunFolder::open`]).
    fn open_named(root: &Path) -> std::io::Result<SafeDir> {
        fn or_here(path: Option<&Path>) -> &Path {
            match path {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            }
        }
        let Some(name) = root.file_name().and_then(|n| n.to_str()) else {
            return SafeDir::open_trusted(root);
        };
        let parent = or_here(root.parent());
        let (trusted, relative) = match parent.file_name() {
            Some(runs) if runs == "runs" => (or_here(parent.parent()), format!("runs/{name}")),
            _ => (parent, name.to_owned()),
        };
        SafeDir::open_trusted(trusted).and_then(|dir| dir.subdir(&relative))
    }

    /// The run folder `dir`, once its subfolders are checked to be real folders.
    fn checked(dir: SafeDir) -> Result<Self, Stop> {
        for sub in SUBFOLDERS {
            dir.subdir(sub)
                .map_err(|e| corrupt("run folder", &dir.shown(sub), e))?;
        }
        Ok(Self {
            dir,
            ledger: SyncLedger::new(),
        })
    }

    /// The folder of run `run_id` in KB `kb`, for a run id read from
    /// somewhere untrusted (a queue row): it must match the run-id grammar,
    /// so it names exactly one folder under `<kb>/runs/`, and it is opened
    /// from the handle of `runs/`, itself opened from the KB root's.
    pub fn open_in(kb: &Path, run_id: &str) -> Result<Self, Stop> {
        if !super::ids::is_run_id(run_id) {
            return Err(Stop::new(
                StopCode::QueueEntryRefused,
                format!(
                    "{run_id:?} is not a run id; nothing outside the KB's runs folder is opened"
                ),
            ));
        }
        let runs_path = kb.join("runs");
        let runs = SafeDir::open_trusted(kb)
            .and_then(|kb| kb.subdir("runs"))
            .map_err(|e| corrupt("runs folder", &runs_path, e))?;
        Self::open_listed(&runs, run_id)
    }

    /// The run folder `name` (one entry of `runs`, as `runs` lists them),
    /// opened from the handle of `runs/` without following a symlink, so a
    /// listing never reaches a folder outside the one it listed.
    pub fn open_listed(runs: &SafeDir, name: &str) -> Result<Self, Stop> {
        let dir = runs
            .subdir(name)
            .map_err(|e| corrupt("run folder", &runs.shown(name), e))?;
        Self::checked(dir)
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
        let holds = crate::digest::sha256_hex(value.to_string().as_bytes()) == digest
            && doc["evidence_digest"] == digest;
        Ok(holds.then_some(value))
    }

    /// Read `relative` of the run folder (bounded to `max` bytes, no
    /// symlink); unreadable is `corrupt-state`.
    pub fn read_bytes(&self, relative: &str, max: u64) -> Result<Vec<u8>, Stop> {
        self.dir
            .read_regular(relative, max)
            .map_err(|e| corrupt("cannot read", &self.dir.shown(relative), e))
    }

    /// Read a JSON document of the run folder (bounded, no symlink).
    pub fn read_json(&self, relative: &str) -> Result<serde_json::Value, Stop> {
        let bytes = self.read_bytes(relative, MAX_DOCUMENT_BYTES)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| corrupt("damaged document", &self.dir.shown(relative), e))
    }

    /// The folder's path, for messages and for the operator only: every
    /// access goes through [`RunFolder::dir`].
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The folder's handle.
    pub fn dir(&self) -> &SafeDir {
        &self.dir
    }

    /// How the artifacts plugins put are made durable: at this run folder's
    /// barrier.
    pub fn artifacts_durability(&self) -> Durability {
        Durability::Deferred(self.ledger.clone())
    }

    /// Save the run state (`state.json`) atomically; durable at the next
    /// barrier, after everything else the run wrote (it claims that).
    pub fn save_state(&self, state: &super::state::RunState) -> Result<(), Stop> {
        state.save_with(&self.dir, |dir, name, json| {
            self.ledger
                .write_atomic_in(dir, name, json, 0o644, SyncOrder::Record)
        })
    }

    /// The barrier of the run folder: make every file and folder the run
    /// wrote durable (content first, the state last). A failure is
    /// `kb-write-failed`: what cannot be made durable is never reported.
    pub fn make_durable(&self) -> Result<SyncCounts, Stop> {
        self.ledger.barrier().map_err(|e| {
            Stop::new(
                StopCode::KbWriteFailed,
                format!("cannot make the run folder durable: {e}"),
            )
        })
    }

    /// Make the whole run folder durable: every regular file and folder in
    /// it (a few levels deep, never through a symlink), the state last. For
    /// a run another process finished, which may have died before its own
    /// barrier, before its result is reported again (`worker`).
    pub fn make_all_durable(&self) -> Result<SyncCounts, Stop> {
        fn walk(ledger: &SyncLedger, dir: &SafeDir, depth: usize) -> std::io::Result<()> {
            ledger.record_folder(dir);
            for name in dir.names()? {
                let meta = dir.handle().symlink_metadata(&name)?;
                if meta.is_file() {
                    let order = if depth == 0 && name == super::state::RunState::FILE {
                        SyncOrder::Record
                    } else {
                        SyncOrder::Content
                    };
                    ledger.record_file(dir, &name, order);
                } else if meta.is_dir() && depth < 3 {
                    walk(ledger, &dir.subdir(&name)?, depth + 1)?;
                }
            }
            Ok(())
        }
        walk(&self.ledger, &self.dir, 0).map_err(|e| kb_error("the run folder", self.root(), e))?;
        self.make_durable()
    }

    /// What the run wrote and the next barrier has to make durable.
    pub fn unsynced(&self) -> SyncCounts {
        self.ledger.pending()
    }

    /// The handle of the artifacts folder plugins write into.
    pub fn artifacts(&self) -> Result<SafeDir, Stop> {
        self.dir
            .subdir("artifacts")
            .map_err(|e| corrupt("run folder", &self.dir.shown("artifacts"), e))
    }

    /// Hold the run folder for this process until the lock is dropped (the
    /// OS releases it when the process dies). A folder another process
    /// holds is refused: two processes must never drive one run.
    pub fn lock(&self) -> Result<RunLock, Stop> {
        let path = self.dir.shown(".lock");
        let file = self
            .dir
            .open_or_create_regular(".lock")
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
                    self.root().display()
                ),
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(kb_error("the run lock", &path, e)),
        }
    }

    /// `approvals/<gate>`, relative to the run folder.
    fn approval_dir(gate: &Gate) -> String {
        format!("approvals/{}", gate.as_str())
    }

    /// Where the approval of `gate` by key `key_id` is put, relative to the
    /// run folder: `approvals/<gate>/<key id>.json`.
    pub fn approval_file(gate: &Gate, key_id: &str) -> String {
        format!("{}/{key_id}.json", Self::approval_dir(gate))
    }

    /// The approval files of `gate` (sorted, relative to the run folder).
    /// The folder must be a real folder, and everything in it an approval
    /// file named by its key id: anything else fails closed.
    pub fn approval_files(&self, gate: &Gate) -> Result<Vec<String>, Stop> {
        let relative = Self::approval_dir(gate);
        let shown = self.dir.shown(&relative);
        let refuse = |what: String| Stop::new(StopCode::ApprovalInvalid, what);
        let dir = match self.dir.subdir(&relative) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(refuse(e.to_string())),
            Ok(dir) => dir,
        };
        let names = dir
            .names()
            .map_err(|e| refuse(format!("cannot list {}: {e}", shown.display())))?;
        let mut files = Vec::new();
        for name in names {
            let key_ok = name
                .strip_suffix(".json")
                .is_some_and(|id| super::ids::is_lower_hex(id, 16));
            if !key_ok || files.len() >= MAX_APPROVERS {
                return Err(refuse(format!(
                    "{} holds {name:?}, which is not an approval file named <key id>.json (or there are more than {MAX_APPROVERS})",
                    shown.display()
                )));
            }
            files.push(format!("{relative}/{name}"));
        }
        files.sort();
        Ok(files)
    }

    /// Read the approval file `relative` (see [`RunFolder::approval_files`]).
    pub fn load_approval(&self, relative: &str) -> Result<SignedApproval, ApprovalError> {
        approval::load_approval_in(&self.dir, relative)
    }

    /// Read the signed run start ([`START_FILE`]).
    pub fn load_start(&self) -> Result<SignedStart, ApprovalError> {
        approval::load_start_in(&self.dir, START_FILE)
    }

    /// The gates that have an `approvals/<gate>/` folder (sorted; entries
    /// that are not gate names are left out), for `status` without a plan.
    pub fn approval_gates(&self) -> Result<Vec<Gate>, Stop> {
        let names = match self.dir.subdir("approvals").and_then(|d| d.names()) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(kb_error(
                    "the approvals folder",
                    &self.dir.shown("approvals"),
                    e,
                ));
            }
            Ok(names) => names,
        };
        let mut gates: Vec<Gate> = names.iter().filter_map(|n| Gate::new(n).ok()).collect();
        gates.sort();
        Ok(gates)
    }

    /// Create `approvals/<gate>/` if missing (a real folder, never a symlink).
    pub fn ensure_approval_dir(&self, gate: &Gate) -> Result<(), Stop> {
        self.ensure_subdir("approvals", "the approvals folder")?
            .ensure_subdir(gate.as_str())
            .map_err(|e| {
                kb_error(
                    "the approvals folder",
                    &self.dir.shown(&Self::approval_dir(gate)),
                    e,
                )
            })?;
        Ok(())
    }

    /// Create the subfolder `name` if missing and open it (never a symlink).
    pub fn ensure_subdir(&self, name: &str, what: &str) -> Result<SafeDir, Stop> {
        let dir = self
            .dir
            .ensure_subdir(name)
            .map_err(|e| kb_error(what, &self.dir.shown(name), e))?;
        self.ledger.record_folder(&self.dir);
        Ok(dir)
    }

    /// Write the review of `gate` to `review/<gate>.md` (replacing an
    /// earlier one: it is made from the evidence, so it is the same).
    pub fn write_review(&self, gate: &Gate, text: &str) -> Result<PathBuf, Stop> {
        let dir = self.ensure_subdir("review", "the review folder")?;
        let name = format!("{}.md", gate.as_str());
        let path = dir.shown(&name);
        write_atomic_in(&dir, &name, text.as_bytes(), 0o644)
            .map_err(|e| kb_error("the review", &path, e))?;
        Ok(path)
    }

    /// The review of `gate` as `approve` last wrote it (`review/<gate>.md`),
    /// if there is one. Bounded, no symlink; unreadable is `corrupt-state`.
    pub fn read_review(&self, gate: &Gate) -> Result<Option<Vec<u8>>, Stop> {
        let relative = format!("review/{}.md", gate.as_str());
        if !self.holds(&relative) {
            return Ok(None);
        }
        self.read_bytes(&relative, MAX_DOCUMENT_BYTES).map(Some)
    }

    /// Whether the run folder holds `relative` (anything at all, a symlink
    /// included: readers then refuse it).
    pub fn holds(&self, relative: &str) -> bool {
        self.dir.holds(relative)
    }

    /// Write a JSON document atomically under the run folder.
    pub fn write_json(&self, relative: &str, value: &impl Serialize) -> Result<PathBuf, Stop> {
        let json = serde_json::to_vec_pretty(value).expect("documents serialize");
        self.write_bytes(relative, &json, "KB document")
    }

    /// Write `bytes` atomically to `relative` of the run folder (durable at
    /// the next barrier); `what` names it in the `kb-write-failed` message.
    pub fn write_bytes(&self, relative: &str, bytes: &[u8], what: &str) -> Result<PathBuf, Stop> {
        let path = self.dir.shown(relative);
        self.ledger
            .write_atomic_in(&self.dir, relative, bytes, 0o644, SyncOrder::Content)
            .map_err(|e| kb_error(what, &path, e))?;
        Ok(path)
    }

    /// Append `text` to `relative` (created if missing, never through a
    /// symlink; durable at the next barrier); `what` names it in the
    /// `kb-write-failed` message.
    fn append(&self, relative: &str, text: &str, what: &str) -> Result<(), Stop> {
        use std::io::Seek;
        let path = self.dir.shown(relative);
        let (parent, name) = self
            .dir
            .parent_of(relative)
            .map_err(|e| kb_error(what, &path, e))?;
        let mut file = parent
            .open_or_create_regular(&name)
            .map_err(|e| kb_error(what, &path, e))?;
        self.ledger.record_file(&parent, &name, SyncOrder::Content);
        file.seek(std::io::SeekFrom::End(0))
            .and_then(|_| file.write_all(text.as_bytes()))
            .map_err(|e| kb_error(what, &path, e))
    }

    /// Append `pause` to `pauses.jsonl` (see [`PauseRecord`]).
    pub fn record_pause(&self, pause: &PauseRecord) -> Result<(), Stop> {
        let mut line = serde_json::to_string(pause).expect("a pause serializes");
        line.push('\n');
        self.append("pauses.jsonl", &line, "the pause record")
    }

    /// The run's pauses, oldest first (none when `pauses.jsonl` is missing:
    /// a run that never paused, or one recorded before pauses were). Bounded,
    /// no symlink; a line that is not a pause record is `corrupt-state`.
    pub fn pauses(&self) -> Result<Vec<PauseRecord>, Stop> {
        if !self.holds("pauses.jsonl") {
            return Ok(Vec::new());
        }
        let path = self.dir.shown("pauses.jsonl");
        let bytes = self.read_bytes("pauses.jsonl", MAX_PAUSES_BYTES)?;
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
        let mut text = String::new();
        for line in lines {
            let entry = serde_json::json!({"at": line.at, "phase": phase, "level": line.level, "message": line.message});
            text.push_str(&entry.to_string());
            text.push('\n');
        }
        self.append("log.jsonl", &text, "the run log")
    }
}
