//! Atomic file writes: write a temp file, rename it over the target. The
//! temp file is created new (`O_EXCL`, with a random name), so a symlink
//! planted at a predictable temp name in a KB folder someone else can write
//! is never followed; the rename replaces a symlink at the target itself,
//! never what it points to.
//!
//! [`write_atomic`] and [`write_atomic_in`] are durable at once (fsync of
//! the file before the rename, of the folder after): for files that are
//! reported the moment they are written (approvals, keys, signed starts,
//! operator-named outputs). Inside a run, KB documents are written through
//! a [`SyncLedger`] instead ([`Durability::Deferred`]): just as atomic, but
//! made durable together at the run's barrier.

mod sync_ledger;

pub use sync_ledger::{Durability, SyncCounts, SyncLedger, SyncOrder};

use phasehost_policy::safe_dir::SafeDir;
use std::io::{self, Write};
use std::path::Path;

/// Write `bytes` to `path` atomically: readers see the old file or the new
/// one, never a half-written one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_mode(path, bytes, 0o644)
}

/// [`write_atomic`] with the new file's permission bits (e.g. 0o600 for
/// files only this user may read). The folder is opened by path (the
/// operator names it), then written as [`write_atomic_in`] does.
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let (dir, name) = SafeDir::open_parent(path)?;
    write_atomic_in(&dir, &name, bytes, mode)
}

/// [`write_atomic_mode`] inside a KB folder handle: the temp file is created
/// new in the folder holding `relative` (reached from `dir` without following
/// a symlink), fsynced, renamed over `relative` inside that same folder, and
/// the folder fsynced (an error of either fsync is the write's error: the
/// caller reports the file written only when it is on disk). Nothing
/// outside `dir` is touched.
pub fn write_atomic_in(dir: &SafeDir, relative: &str, bytes: &[u8], mode: u32) -> io::Result<()> {
    let (parent, _) = replace_in(dir, relative, bytes, mode, true)?;
    parent.sync()
}

/// Write `bytes` to a new temp file next to `relative` (fsynced when
/// `sync`) and rename it over `relative`; the folder it was renamed in and
/// the file's name there. The folder itself is not synced.
fn replace_in(
    dir: &SafeDir,
    relative: &str,
    bytes: &[u8],
    mode: u32,
    sync: bool,
) -> io::Result<(SafeDir, String)> {
    let (parent, name) = dir.parent_of(relative)?;
    let tmp = temp_name(&name);
    let mut created = false;
    let result = (|| {
        let mut file = parent.create_new_mode(&tmp, mode)?;
        created = true;
        file.write_all(bytes)?;
        if sync {
            file.sync_all()?;
        }
        parent.handle().rename(&tmp, parent.handle(), &name)?;
        Ok(())
    })();
    if result.is_err() && created {
        let _ = parent.handle().remove_file(&tmp);
    }
    result.map(|()| (parent, name))
}

/// A fresh, unpredictable temp name next to `file_name`.
fn temp_name(file_name: &str) -> String {
    format!(
        ".{file_name}.tmp{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn replaces_the_file_whole() {
        let dir = std::env::temp_dir().join(format!("phasehost-fsutil-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "no temp file left");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn never_writes_through_a_symlink_at_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("state.json")).unwrap();
        write_atomic(&dir.path().join("state.json"), b"new").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        let meta = fs::symlink_metadata(dir.path().join("state.json")).unwrap();
        assert!(meta.is_file(), "the symlink itself was replaced");
    }

    #[test]
    fn fails_in_a_missing_folder() {
        assert!(write_atomic(Path::new("/nonexistent-dir/x/state.json"), b"x").is_err());
    }
}
