//! Deferred durability for the KB documents of a run. Inside a run a few KB
//! files change per phase (evidence, the state, log lines, artifacts); an
//! fsync of each file and its folder per write cost about a sixth of a
//! batch's wall time. A [`SyncLedger`] keeps the writes atomic (temp file
//! and rename, so a reader or a killed process never sees half a file) but
//! only *records* what each made dirty — the file and the folder it was
//! renamed in — and makes all of it durable at one [`SyncLedger::barrier`],
//! which the run engine calls where a result is reported (pause, stop,
//! completion, a batch or worker reporting a document).
//!
//! Until the barrier, a power loss may leave any of these files older than
//! the store, or empty: the run engine detects that on resume (digests of
//! the evidence in the state and in the store's checkpoints) and stops with
//! `corrupt-state` or `drift`; it never uses such a file.
//!
//! The barrier's order: every [`SyncOrder::Content`] file, then the folders
//! they were renamed in, then the [`SyncOrder::Record`] files (the run
//! state), then their folders: the state is never made durable before what
//! it claims is.

use super::replace_in;
use phasehost_policy::safe_dir::SafeDir;
use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// Where a write stands in the barrier's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SyncOrder {
    /// Evidence, logs, artifacts, stop documents: what a record points at.
    Content,
    /// The run state, which claims the content: synced after all of it.
    Record,
}

/// How a KB write is made durable: at once, or at a ledger's barrier. The
/// choice is the caller's, in the type it holds, never a global switch.
#[derive(Debug, Clone)]
pub enum Durability {
    /// fsync of the file and its folder before the write returns.
    Immediate,
    /// Recorded in the ledger; durable at its barrier.
    Deferred(SyncLedger),
}

impl Durability {
    /// Write `bytes` atomically to `relative` under `dir` (a
    /// [`SyncOrder::Content`] file when deferred).
    pub fn write_atomic_in(
        &self,
        dir: &SafeDir,
        relative: &str,
        bytes: &[u8],
        mode: u32,
    ) -> io::Result<()> {
        match self {
            Self::Immediate => super::write_atomic_in(dir, relative, bytes, mode),
            Self::Deferred(ledger) => {
                ledger.write_atomic_in(dir, relative, bytes, mode, SyncOrder::Content)
            }
        }
    }
}

/// What a barrier synced (or what is waiting for one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCounts {
    /// Files.
    pub files: usize,
    /// Folders.
    pub folders: usize,
}

impl SyncCounts {
    /// Nothing.
    pub fn is_empty(&self) -> bool {
        self.files == 0 && self.folders == 0
    }
}

/// The dirty set of one run folder: shared by every clone (the run folder
/// is cloned into the runner and the artifacts capability).
#[derive(Debug, Clone, Default)]
pub struct SyncLedger {
    dirty: Arc<Mutex<Dirty>>,
}

/// Dirty files (by the path shown: the folder handle and the name in it)
/// and folders, each with its place in the barrier's order.
#[derive(Debug, Default)]
struct Dirty {
    files: BTreeMap<PathBuf, (SyncOrder, SafeDir, String)>,
    folders: BTreeMap<PathBuf, (SyncOrder, SafeDir)>,
}

impl Dirty {
    fn counts(&self) -> SyncCounts {
        SyncCounts {
            files: self.files.len(),
            folders: self.folders.len(),
        }
    }
}

fn context(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("cannot make {} durable: {e}", path.display()),
    )
}

impl SyncLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Dirty> {
        self.dirty.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Write `bytes` atomically to `relative` under `dir` (temp file created
    /// new, renamed over it) without an fsync, and record the file and its
    /// folder as dirty with `order`.
    pub fn write_atomic_in(
        &self,
        dir: &SafeDir,
        relative: &str,
        bytes: &[u8],
        mode: u32,
        order: SyncOrder,
    ) -> io::Result<()> {
        let (parent, name) = replace_in(dir, relative, bytes, mode, false)?;
        self.record_file(&parent, &name, order);
        Ok(())
    }

    /// Record file `name` of folder `parent` (written, appended to, or
    /// created) and that folder as dirty.
    pub fn record_file(&self, parent: &SafeDir, name: &str, order: SyncOrder) {
        let mut dirty = self.lock();
        let file = dirty
            .files
            .entry(parent.shown(name))
            .or_insert_with(|| (order, parent.clone(), name.to_owned()));
        file.0 = file.0.max(order);
        let folder = dirty
            .folders
            .entry(parent.path().to_path_buf())
            .or_insert_with(|| (order, parent.clone()));
        folder.0 = folder.0.max(order);
    }

    /// Record folder `dir` as dirty (an entry was created in it).
    pub fn record_folder(&self, dir: &SafeDir) {
        self.lock()
            .folders
            .entry(dir.path().to_path_buf())
            .or_insert_with(|| (SyncOrder::Content, dir.clone()));
    }

    /// What waits for the next barrier.
    pub fn pending(&self) -> SyncCounts {
        self.lock().counts()
    }

    /// Make everything recorded durable, in the order of [`SyncOrder`]:
    /// each file re-opened read-only through its folder's handle (never
    /// through a symlink) and fsynced (Linux syncs an inode, whichever
    /// descriptor asks), each folder fsynced. The first error ends the
    /// barrier (nothing after it is synced, so the state is never made
    /// durable ahead of content that failed) and is returned, naming the
    /// file: the caller stops the run. Either way the ledger is emptied: a
    /// second fsync after a failed one proves nothing (Linux may have
    /// dropped the dirty pages and then reports success), so a failure is
    /// never retried into a success.
    pub fn barrier(&self) -> io::Result<SyncCounts> {
        self.barrier_with(&|file: &File| file.sync_all())
    }

    /// [`SyncLedger::barrier`] with the sync call given (tests fail it).
    fn barrier_with(&self, sync: &dyn Fn(&File) -> io::Result<()>) -> io::Result<SyncCounts> {
        let taken = std::mem::take(&mut *self.lock());
        (|| {
            for order in [SyncOrder::Content, SyncOrder::Record] {
                for (shown, (_, parent, name)) in taken.files.iter().filter(|f| f.1.0 == order) {
                    let file = parent.open_regular(name).map_err(|e| context(shown, e))?;
                    sync(&file).map_err(|e| context(shown, e))?;
                }
                for (shown, (_, dir)) in taken.folders.iter().filter(|f| f.1.0 == order) {
                    let file = dir.open_self().map_err(|e| context(shown, e))?;
                    sync(&file).map_err(|e| context(shown, e))?;
                }
            }
            Ok(taken.counts())
        })()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder() -> (tempfile::TempDir, SafeDir) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = SafeDir::open_trusted(tmp.path()).unwrap();
        dir.create_subdir("evidence").unwrap();
        (tmp, dir)
    }

    #[test]
    fn writes_are_atomic_and_recorded_with_their_folders() {
        let (_tmp, dir) = folder();
        let ledger = SyncLedger::new();
        ledger
            .write_atomic_in(&dir, "evidence/01.json", b"one", 0o644, SyncOrder::Content)
            .unwrap();
        ledger
            .write_atomic_in(&dir, "evidence/01.json", b"two", 0o644, SyncOrder::Content)
            .unwrap();
        ledger
            .write_atomic_in(&dir, "state.json", b"{}", 0o644, SyncOrder::Record)
            .unwrap();
        assert_eq!(dir.read_regular("evidence/01.json", 10).unwrap(), b"two");
        assert_eq!(
            dir.subdir("evidence").unwrap().names().unwrap().len(),
            1,
            "no temp file left"
        );
        // One entry per file however often it was written; the two folders.
        assert_eq!(
            ledger.pending(),
            SyncCounts {
                files: 2,
                folders: 2
            }
        );
    }

    #[test]
    fn the_barrier_syncs_content_before_the_record_and_empties_the_ledger() {
        let (_tmp, dir) = folder();
        let ledger = SyncLedger::new();
        ledger
            .write_atomic_in(&dir, "state.json", b"{}", 0o644, SyncOrder::Record)
            .unwrap();
        ledger
            .write_atomic_in(&dir, "evidence/01.json", b"e", 0o644, SyncOrder::Content)
            .unwrap();
        let seen = Mutex::new(Vec::new());
        let counts = ledger
            .barrier_with(&|file: &File| {
                seen.lock().unwrap().push(file.metadata()?.is_dir());
                Ok(())
            })
            .unwrap();
        assert_eq!(
            counts,
            SyncCounts {
                files: 2,
                folders: 2
            }
        );
        // evidence file, evidence folder, state file, run folder.
        assert_eq!(*seen.lock().unwrap(), [false, true, false, true]);
        assert!(ledger.pending().is_empty());
        assert!(ledger.barrier().unwrap().is_empty(), "nothing left to sync");
    }

    #[test]
    fn an_fsync_error_at_the_barrier_is_returned_and_ends_it() {
        let (_tmp, dir) = folder();
        let ledger = SyncLedger::new();
        ledger
            .write_atomic_in(&dir, "evidence/01.json", b"e", 0o644, SyncOrder::Content)
            .unwrap();
        ledger
            .write_atomic_in(&dir, "state.json", b"{}", 0o644, SyncOrder::Record)
            .unwrap();
        let calls = Mutex::new(0);
        let err = ledger
            .barrier_with(&|_| {
                *calls.lock().unwrap() += 1;
                Err(io::Error::other("EIO"))
            })
            .unwrap_err();
        assert!(err.to_string().contains("01.json"), "{err}");
        assert!(err.to_string().contains("EIO"), "{err}");
        assert_eq!(
            *calls.lock().unwrap(),
            1,
            "nothing synced after the failure"
        );
        // Not retried into a success; what is written next has its own barrier.
        assert!(ledger.pending().is_empty());
    }

    #[test]
    fn a_dirty_file_gone_or_swapped_for_a_symlink_fails_the_barrier() {
        let (tmp, dir) = folder();
        let ledger = SyncLedger::new();
        ledger
            .write_atomic_in(&dir, "evidence/01.json", b"e", 0o644, SyncOrder::Content)
            .unwrap();
        let path = tmp.path().join("evidence/01.json");
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", &path).unwrap();
        assert!(ledger.barrier().is_err(), "a symlink is never synced");
        std::fs::remove_file(&path).unwrap();
        ledger
            .write_atomic_in(&dir, "evidence/01.json", b"e", 0o644, SyncOrder::Content)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(ledger.barrier().is_err(), "a missing file is no success");
    }

    #[test]
    fn the_real_barrier_syncs_files_and_folders() {
        let (_tmp, dir) = folder();
        let ledger = SyncLedger::new();
        ledger
            .write_atomic_in(&dir, "evidence/01.json", b"e", 0o644, SyncOrder::Content)
            .unwrap();
        ledger.record_folder(&dir);
        let counts = ledger.barrier().unwrap();
        assert_eq!(
            counts,
            SyncCounts {
                files: 1,
                folders: 2
            }
        );
    }

    #[test]
    fn immediate_durability_writes_without_recording() {
        let (_tmp, dir) = folder();
        Durability::Immediate
            .write_atomic_in(&dir, "evidence/x", b"x", 0o644)
            .unwrap();
        let ledger = SyncLedger::new();
        Durability::Deferred(ledger.clone())
            .write_atomic_in(&dir, "evidence/y", b"y", 0o644)
            .unwrap();
        assert_eq!(ledger.pending().files, 1);
        assert_eq!(dir.read_regular("evidence/x", 1).unwrap(), b"x");
    }
}
