//! The kill-switch: a file whose presence stops every mutation.

use crate::runtime::state::MutationGuard;
use std::path::PathBuf;

/// Refuses every mutation while the kill file exists.
#[derive(Debug, Clone)]
pub struct KillSwitch {
    file: PathBuf,
}

impl KillSwitch {
    /// A kill-switch watching `file`.
    pub fn new(file: PathBuf) -> Self {
        Self { file }
    }

    /// Whether the kill file exists now.
    pub fn engaged(&self) -> bool {
        self.file.exists()
    }

    /// The watched file.
    pub fn file(&self) -> &std::path::Path {
        &self.file
    }
}

impl MutationGuard for KillSwitch {
    fn check(&self) -> Result<(), String> {
        if self.engaged() {
            Err(format!("kill file {} exists", self.file.display()))
        } else {
            Ok(())
        }
    }
}
