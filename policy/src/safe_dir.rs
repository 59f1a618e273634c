//! A folder of the KB held as a `cap_std::fs::Dir` handle: nothing outside
//! it is reached, whatever happens to the paths around it. Only the KB root
//! is opened by path (the operator names it); every folder under it is
//! opened *from its parent's handle*, one component at a time, never
//! through a symlink (`open_dir_nofollow`, even one pointing inside the
//! KB), and a name is one or more plain components (no `..`, no absolute
//! path, no empty or `.` part). A folder swapped for a symlink after it was
//! checked is refused at the open itself, not by an earlier check.
//!
//! Files in these folders are never read or written through a symlink at
//! the file, only regular files are opened (a FIFO is refused without
//! blocking), reads are bounded, and new files are created with `O_EXCL`.
//! (Files the operator names by path are [`crate::safe_fs`]'s job.)

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A KB folder handle, with the path it was reached by (for messages only).
#[derive(Debug, Clone)]
pub struct SafeDir {
    dir: Arc<Dir>,
    shown: PathBuf,
}

fn refuse(path: &Path, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{} {what}", path.display()),
    )
}

/// The plain components of `relative`, or an error naming it.
fn components(shown: &Path, relative: &str) -> io::Result<Vec<String>> {
    let parts: Vec<String> = relative.split('/').map(str::to_owned).collect();
    let plain = !relative.starts_with('/')
        && parts
            .iter()
            .all(|p| !p.is_empty() && p != "." && p != ".." && !p.contains('\0'));
    if !plain {
        return Err(refuse(
            &shown.join(relative),
            "is not a plain name inside its folder; nothing outside it is opened",
        ));
    }
    Ok(parts)
}

impl SafeDir {
    /// Open the folder the operator named (the KB root or a run folder
    /// given on the command line). Following a symlink here is fine: the
    /// operator is trusted for this path, nothing under it is.
    pub fn open_trusted(path: &Path) -> io::Result<Self> {
        let dir = Dir::open_ambient_dir(path, cap_std::ambient_authority())?;
        Ok(Self {
            dir: Arc::new(dir),
            shown: path.to_path_buf(),
        })
    }

    /// The folder holding `path` (opened by path: the operator names it)
    /// and the file's name in it.
    pub fn open_parent(path: &Path) -> io::Result<(Self, String)> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| refuse(path, "names no file"))?;
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        Ok((Self::open_trusted(parent)?, name.to_owned()))
    }

    /// The path this folder was reached by, for messages only.
    pub fn path(&self) -> &Path {
        &self.shown
    }

    /// This handle, shown as `path` in messages (the path the operator
    /// named it by).
    pub fn with_path(self, path: &Path) -> Self {
        Self {
            dir: self.dir,
            shown: path.to_path_buf(),
        }
    }

    /// `relative` under this folder's path, for messages only.
    pub fn shown(&self, relative: &str) -> PathBuf {
        self.shown.join(relative)
    }

    /// The handle itself.
    pub fn handle(&self) -> &Dir {
        &self.dir
    }

    /// Open the folder `relative` (one or more components) from this
    /// handle, never through a symlink at any component.
    pub fn subdir(&self, relative: &str) -> io::Result<Self> {
        let mut at = self.clone();
        for part in components(&self.shown, relative)? {
            at = at.child(&part)?;
        }
        Ok(at)
    }

    fn child(&self, name: &str) -> io::Result<Self> {
        let shown = self.shown.join(name);
        match self.dir.open_dir_nofollow(name) {
            Ok(dir) => Ok(Self {
                dir: Arc::new(dir),
                shown,
            }),
            Err(e) => Err(match self.dir.symlink_metadata(name) {
                Ok(meta) if meta.file_type().is_symlink() => refuse(
                    &shown,
                    "is a symlink; KB folders are never entered through one",
                ),
                Ok(meta) if !meta.is_dir() => refuse(&shown, "is not a folder"),
                _ => io::Error::new(e.kind(), format!("{}: {e}", shown.display())),
            }),
        }
    }

    /// Create the folder `name` (one component) if it is missing, then open
    /// it as [`SafeDir::subdir`] does (a symlink there is refused).
    pub fn ensure_subdir(&self, name: &str) -> io::Result<Self> {
        components(&self.shown, name)?;
        match self.dir.create_dir(name) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
        self.subdir(name)
    }

    /// Create the folder `name` (one component); it must not exist.
    pub fn create_subdir(&self, name: &str) -> io::Result<Self> {
        components(&self.shown, name)?;
        self.dir.create_dir(name).map_err(|e| {
            io::Error::new(e.kind(), format!("{}: {e}", self.shown(name).display()))
        })?;
        self.subdir(name)
    }

    /// The folder holding `relative` and the file's name in it.
    pub fn parent_of(&self, relative: &str) -> io::Result<(Self, String)> {
        let mut parts = components(&self.shown, relative)?;
        let name = parts.pop().expect("split yields one part at least");
        let mut at = self.clone();
        for part in parts {
            at = at.child(&part)?;
        }
        Ok((at, name))
    }

    /// Open `relative` with `options` plus no-follow and `O_NONBLOCK`, and
    /// refuse anything but a regular file.
    fn open_file(&self, relative: &str, options: &mut OpenOptions, verb: &str) -> io::Result<File> {
        let (parent, name) = self.parent_of(relative)?;
        let shown = self.shown(relative);
        let options = options
            .follow(FollowSymlinks::No)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC);
        let file = parent
            .dir
            .open_with(&name, options)
            .map_err(|e| match parent.dir.symlink_metadata(&name) {
                Ok(meta) if meta.file_type().is_symlink() => refuse(
                    &shown,
                    &format!("is a symlink; files in the KB are never {verb} through one"),
                ),
                _ => e,
            })?
            .into_std();
        if !file.metadata()?.is_file() {
            return Err(refuse(&shown, "is not a regular file"));
        }
        Ok(file)
    }

    /// Open `relative` for reading: a regular file, not reached through a
    /// symlink.
    pub fn open_regular(&self, relative: &str) -> io::Result<File> {
        self.open_file(relative, OpenOptions::new().read(true), "read")
    }

    /// Read the whole regular file `relative`, refusing one larger than
    /// `max` bytes.
    pub fn read_regular(&self, relative: &str, max: u64) -> io::Result<Vec<u8>> {
        let file = self.open_regular(relative)?;
        let mut bytes = Vec::new();
        file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > max {
            return Err(refuse(
                &self.shown(relative),
                &format!("is larger than {max} bytes"),
            ));
        }
        Ok(bytes)
    }

    /// Open (creating it if missing) `relative` for writing without
    /// following a symlink at it and without truncating it.
    pub fn open_or_create_regular(&self, relative: &str) -> io::Result<File> {
        self.open_file(
            relative,
            OpenOptions::new().write(true).create(true).truncate(false),
            "written",
        )
    }

    /// Create `relative` new for writing (`O_EXCL`: an existing file or
    /// symlink there is an error, never followed) with permission bits `mode`.
    pub fn create_new_mode(&self, relative: &str, mode: u32) -> io::Result<File> {
        let (parent, name) = self.parent_of(relative)?;
        let mut options = OpenOptions::new();
        options
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_CLOEXEC)
            .mode(mode);
        Ok(parent.dir.open_with(&name, &options)?.into_std())
    }

    /// Whether anything (a symlink included: readers then refuse it) is at
    /// `relative`; a folder on the way that is a symlink counts as nothing.
    pub fn holds(&self, relative: &str) -> bool {
        self.parent_of(relative)
            .is_ok_and(|(parent, name)| parent.dir.symlink_metadata(name).is_ok())
    }

    /// The names in this folder (unsorted).
    pub fn names(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in self.dir.entries()? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }

    /// This folder opened for reading, as a file whose `sync_all` flushes
    /// its entries. The handle itself will not do: cap-std may hold a
    /// folder as an `O_PATH` descriptor, on which fsync fails (`EBADF`).
    pub fn open_self(&self) -> io::Result<File> {
        let mut options = OpenOptions::new();
        options.read(true);
        Ok(self.dir.open_with(".", &options)?.into_std())
    }

    /// Flush this folder's entries to disk (after a rename in it).
    pub fn sync(&self) -> io::Result<()> {
        self.open_self()?.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn kb() -> (tempfile::TempDir, SafeDir) {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("kb/run/evidence")).unwrap();
        std::fs::create_dir_all(tmp.path().join("outside")).unwrap();
        std::fs::write(tmp.path().join("outside/secret.json"), "secret").unwrap();
        let kb = SafeDir::open_trusted(&tmp.path().join("kb")).unwrap();
        (tmp, kb)
    }

    #[test]
    fn a_folder_symlink_is_refused_even_pointing_inside() {
        let (tmp, kb) = kb();
        symlink(
            tmp.path().join("outside"),
            tmp.path().join("kb/run/artifacts"),
        )
        .unwrap();
        symlink("evidence", tmp.path().join("kb/run/approvals")).unwrap();
        for sub in ["run/artifacts", "run/approvals"] {
            let err = kb.subdir(sub).unwrap_err();
            assert!(err.to_string().contains("symlink"), "{err}");
        }
        assert!(kb.read_regular("run/artifacts/secret.json", 100).is_err());
        assert!(kb.create_new_mode("run/artifacts/new", 0o644).is_err());
        assert!(!tmp.path().join("outside/new").exists());
        assert!(kb.subdir("run/evidence").is_ok());
    }

    #[test]
    fn a_file_where_a_folder_is_expected_is_refused() {
        let (tmp, kb) = kb();
        std::fs::write(tmp.path().join("kb/run/notes"), "text").unwrap();
        let err = kb.subdir("run/notes").unwrap_err();
        assert!(err.to_string().contains("is not a folder"), "{err}");
        let err = kb.read_regular("run/notes/x", 100).unwrap_err();
        assert!(err.to_string().contains("is not a folder"), "{err}");
    }

    #[test]
    fn a_folder_reached_by_handle_can_be_synced() {
        // cap-std holds a subfolder as an O_PATH descriptor; an fsync of
        // that descriptor fails with EBADF, so sync opens the folder itself.
        let (_tmp, kb) = kb();
        kb.sync().unwrap();
        kb.subdir("run/evidence").unwrap().sync().unwrap();
    }

    #[test]
    fn names_that_leave_the_folder_are_refused() {
        let (tmp, kb) = kb();
        let run = kb.subdir("run").unwrap();
        let escape = tmp.path().join("outside/secret.json");
        for bad in [
            "../outside/secret.json",
            escape.to_str().unwrap(),
            "",
            "./x",
            "a//b",
        ] {
            let err = run.read_regular(bad, 100).unwrap_err();
            assert!(err.to_string().contains("not a plain name"), "{bad}: {err}");
            assert!(run.create_new_mode(bad, 0o644).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_symlink_at_the_file_is_never_followed() {
        let (tmp, kb) = kb();
        symlink(
            tmp.path().join("outside/secret.json"),
            tmp.path().join("kb/run/evidence/doc.json"),
        )
        .unwrap();
        let err = kb.read_regular("run/evidence/doc.json", 100).unwrap_err();
        assert!(err.to_string().contains("is a symlink"), "{err}");
        assert!(kb.open_or_create_regular("run/evidence/doc.json").is_err());
        assert!(kb.create_new_mode("run/evidence/doc.json", 0o644).is_err());
        assert_eq!(
            std::fs::read(tmp.path().join("outside/secret.json")).unwrap(),
            b"secret"
        );
    }

    #[test]
    fn a_fifo_is_refused_without_blocking_and_reads_are_bounded() {
        let (tmp, kb) = kb();
        let fifo = tmp.path().join("kb/run/fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let err = kb.read_regular("run/fifo", 100).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        std::fs::write(tmp.path().join("kb/run/big"), vec![b'x'; 101]).unwrap();
        assert!(kb.read_regular("run/big", 100).is_err());
        assert_eq!(kb.read_regular("run/big", 101).unwrap().len(), 101);
    }
}
