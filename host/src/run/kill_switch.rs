//! The kill-switch: a file whose presence stops every mutation, and, for a
//! queue worker, the loss of its lease on the document it is running.
//!
//! It fails closed: anything at the kill file's path (a file, a folder, a
//! dangling symlink) engages it, and so does any error other than "not
//! found" while looking (permissions, a path component that is a file, a
//! symlink loop): a switch whose state cannot be read is treated as on.

use crate::runtime::state::MutationGuard;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Refuses every mutation while the kill file exists or the lease is lost.
#[derive(Debug, Clone)]
pub struct KillSwitch {
    file: PathBuf,
    lease_lost: Option<Arc<AtomicBool>>,
}

impl KillSwitch {
    /// A kill-switch watching `file`.
    pub fn new(file: PathBuf) -> Self {
        Self {
            file,
            lease_lost: None,
        }
    }

    /// Also engage once `lease_lost` is set (by a worker's lease keeper).
    pub fn with_lease(mut self, lease_lost: Option<Arc<AtomicBool>>) -> Self {
        self.lease_lost = lease_lost;
        self
    }

    /// Why mutations are refused now, or `None` when they are allowed.
    pub fn reason(&self) -> Option<String> {
        match std::fs::symlink_metadata(&self.file) {
            Ok(_) => return Some(format!("kill file {} exists", self.file.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Some(format!(
                    "cannot tell whether kill file {} exists ({e}); a kill-switch that cannot be read counts as engaged",
                    self.file.display()
                ));
            }
        }
        if self
            .lease_lost
            .as_ref()
            .is_some_and(|lost| lost.load(Ordering::SeqCst))
        {
            return Some(
                "this worker lost its lease on the document; another worker may hold it now".into(),
            );
        }
        None
    }

    /// Whether mutations are refused now.
    pub fn engaged(&self) -> bool {
        self.reason().is_some()
    }

    /// The watched file.
    pub fn file(&self) -> &std::path::Path {
        &self.file
    }
}

impl MutationGuard for KillSwitch {
    fn check(&self) -> Result<(), String> {
        match self.reason() {
            Some(reason) => Err(reason),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_lease_engages_the_switch_and_refuses_mutations() {
        let dir = tempfile::tempdir().unwrap();
        let lost = Arc::new(AtomicBool::new(false));
        let kill = KillSwitch::new(dir.path().join("KILL")).with_lease(Some(lost.clone()));
        assert!(kill.check().is_ok());
        lost.store(true, Ordering::SeqCst);
        let refusal = kill.check().unwrap_err();
        assert!(refusal.contains("lost its lease"), "{refusal}");
    }

    #[test]
    fn the_kill_file_engages_the_switch() {
        let dir = tempfile::tempdir().unwrap();
        let kill = KillSwitch::new(dir.path().join("KILL"));
        assert!(!kill.engaged());
        std::fs::write(dir.path().join("KILL"), "").unwrap();
        assert!(kill.check().unwrap_err().contains("kill file"));
    }

    #[test]
    fn a_kill_file_whose_state_cannot_be_read_engages_the_switch() {
        let dir = tempfile::tempdir().unwrap();
        // A path through a regular file: looking it up fails with ENOTDIR,
        // not "not found" (root ignores permissions, so this is the error
        // every user can provoke).
        std::fs::write(dir.path().join("not-a-folder"), "").unwrap();
        let kill = KillSwitch::new(dir.path().join("not-a-folder").join("KILL"));
        let reason = kill.check().unwrap_err();
        assert!(reason.contains("cannot tell"), "{reason}");
    }

    #[test]
    fn a_dangling_symlink_as_kill_file_engages_the_switch() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(dir.path().join("nowhere"), dir.path().join("KILL")).unwrap();
        assert!(KillSwitch::new(dir.path().join("KILL")).engaged());
    }
}
