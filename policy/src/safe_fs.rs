//! Files the operator names by path (a source document, an export's
//! `--out`, a host config written atomically): a read follows a symlink
//! (the operator is trusted for the path) but takes only a regular file (a
//! FIFO or device is refused without blocking: `O_NONBLOCK` at open, then
//! `fstat`) and is bounded; a file is created only if nothing is there
//! (`O_EXCL`, which never follows a symlink).
//!
//! Folders others may write (the KB and its run folders) are never reached
//! by path: see [`crate::safe_dir`].

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

fn refuse(path: &Path, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{} {what}", path.display()),
    )
}

/// Read the whole regular file at `path`, following symlinks (for files
/// the operator names, such as a source document that may be a symlink
/// into a data folder), refusing a FIFO, device or folder without blocking
/// and a file larger than `max` bytes.
pub fn read_regular_following(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(refuse(path, "is not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(refuse(path, &format!("is larger than {max} bytes")));
    }
    Ok(bytes)
}

/// Create `path` new, for writing (`O_EXCL`: an existing file or symlink
/// there is an error, never followed), mode 0644.
pub fn create_new(path: &Path) -> io::Result<File> {
    create_new_mode(path, 0o644)
}

/// [`create_new`] with the file's permission bits.
pub fn create_new_mode(path: &Path, mode: u32) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_CLOEXEC)
        .mode(mode)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn create_new_never_writes_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("real"), "secret").unwrap();
        symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
        assert!(create_new(&dir.path().join("link")).is_err());
        assert!(create_new(&dir.path().join("real")).is_err());
        assert_eq!(std::fs::read(dir.path().join("real")).unwrap(), b"secret");
    }

    #[test]
    fn an_operator_named_symlink_is_followed_to_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("real"), "text").unwrap();
        symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
        assert_eq!(
            read_regular_following(&dir.path().join("link"), 100).unwrap(),
            b"text"
        );
    }

    #[test]
    fn a_fifo_or_folder_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let err = read_regular_following(&fifo, 100).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let err = read_regular_following(dir.path(), 100).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[test]
    fn reads_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; 101]).unwrap();
        let err = read_regular_following(&big, 100).unwrap_err();
        assert!(err.to_string().contains("larger than 100 bytes"), "{err}");
        assert_eq!(read_regular_following(&big, 101).unwrap().len(), 101);
    }
}
