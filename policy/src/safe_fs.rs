//! Opening files in folders that someone other than the host may write
//! (the KB and its run folders): the last path component is never followed
//! if it is a symlink (`O_NOFOLLOW`), only regular files are read (a FIFO
//! or device is refused without blocking: `O_NONBLOCK` at open, then
//! `fstat`), reads are bounded, and files are created only if they do not
//! exist (`O_EXCL`, which never follows a symlink either).

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

/// Open `path` with `options` plus `O_NOFOLLOW` (a symlink there is refused
/// with a clear error) and `O_NONBLOCK` (a FIFO never blocks the open), and
/// refuse anything but a regular file.
fn open_nofollow(path: &Path, options: &mut OpenOptions, verb: &str) -> io::Result<File> {
    let file = options
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                refuse(
                    path,
                    &format!("is a symlink; files in the KB are never {verb} through one"),
                )
            } else {
                e
            }
        })?;
    if !file.metadata()?.is_file() {
        return Err(refuse(path, "is not a regular file"));
    }
    Ok(file)
}

/// Open `path` for reading: a regular file, not reached through a symlink.
pub fn open_regular(path: &Path) -> io::Result<File> {
    open_nofollow(path, OpenOptions::new().read(true), "read")
}

/// Read the whole regular file at `path` (see [`open_regular`]), refusing
/// one larger than `max` bytes.
pub fn read_regular(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(refuse(path, &format!("is larger than {max} bytes")));
    }
    Ok(bytes)
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

/// Open (creating it if missing) `path` for writing without following a
/// symlink at it and without truncating it; refuse anything but a regular file.
pub fn open_or_create_regular(path: &Path) -> io::Result<File> {
    open_nofollow(
        path,
        OpenOptions::new().write(true).create(true).truncate(false),
        "written",
    )
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

/// Check that `dir` is a real folder, not a symlink to one.
pub fn check_real_dir(dir: &Path) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(dir)?;
    if meta.file_type().is_symlink() {
        return Err(refuse(
            dir,
            "is a symlink; KB folders are never entered through one",
        ));
    }
    if !meta.is_dir() {
        return Err(refuse(dir, "is not a folder"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_symlink_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("real"), "secret").unwrap();
        symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
        let err = read_regular(&dir.path().join("link"), 100).unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
        assert!(open_or_create_regular(&dir.path().join("link")).is_err());
        assert!(create_new(&dir.path().join("link")).is_err());
        assert_eq!(std::fs::read(dir.path().join("real")).unwrap(), b"secret");
        symlink(dir.path(), dir.path().join("dirlink")).unwrap();
        assert!(check_real_dir(&dir.path().join("dirlink")).is_err());
        assert!(check_real_dir(dir.path()).is_ok());
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let err = read_regular(&fifo, 100).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[test]
    fn reads_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big"), vec![b'x'; 101]).unwrap();
        assert!(read_regular(&dir.path().join("big"), 100).is_err());
        assert_eq!(
            read_regular(&dir.path().join("big"), 101).unwrap().len(),
            101
        );
    }
}
