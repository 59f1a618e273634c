//! The operator's host config: whether live execution is enabled and where
//! the kill file is. It is a file of its own, never part of a plan, and live
//! execution is off unless it says otherwise.

use crate::stop::{Stop, StopCode};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// `[execution]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Execution {
    /// Live runs are allowed only when this is true.
    #[serde(default)]
    pub enabled: bool,
    /// The kill file; default `<kb>/KILL`.
    pub kill_file: Option<PathBuf>,
}

/// The host config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Execution switch and kill file.
    #[serde(default)]
    pub execution: Execution,
    /// Where the file was read from (paths in it are relative to its folder).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

impl HostConfig {
    /// Read the host config at `path`; no path means the defaults (execution off).
    pub fn load(path: Option<&Path>) -> Result<Self, Stop> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            Stop::new(
                StopCode::PlanInvalid,
                format!("cannot read host config {}: {e}", path.display()),
            )
        })?;
        let mut config: HostConfig = toml::from_str(&text).map_err(|e| {
            Stop::new(
                StopCode::PlanInvalid,
                format!("host config {}: {}", path.display(), e.message()),
            )
        })?;
        config.base_dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        Ok(config)
    }

    /// The kill file for a KB folder.
    pub fn kill_file(&self, kb: &Path) -> PathBuf {
        match &self.execution.kill_file {
            Some(p) if p.is_absolute() => p.clone(),
            Some(p) => self.base_dir.join(p),
            None => kb.join("KILL"),
        }
    }
}
