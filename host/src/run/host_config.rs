//! The operator's host config: whether live execution is enabled, where
//! the kill file is, and where compiled components are cached. It is a file
//! of its own, never part of a plan, and live execution is off unless it says
//! otherwise.

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

/// `[runtime]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// The compile-cache folder (compiled components are native code the
    /// host runs, so a plan never chooses it); see [`HostConfig::cache_dir`].
    pub cache_dir: Option<PathBuf>,
}

/// The host config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Execution switch and kill file.
    #[serde(default)]
    pub execution: Execution,
    /// Engine settings: the compile-cache folder.
    #[serde(default)]
    pub runtime: RuntimeConfig,
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

    /// The compile-cache folder: `[runtime] cache_dir` (relative to this
    /// file's folder), else `$PHASEHOST_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/phasehost`, else `$HOME/.cache/phasehost`.
    pub fn cache_dir(&self) -> PathBuf {
        cache_dir_from(self.runtime.cache_dir.as_deref(), &self.base_dir, |name| {
            std::env::var_os(name)
        })
    }
}

fn cache_dir_from(
    explicit: Option<&Path>,
    base_dir: &Path,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> PathBuf {
    if let Some(dir) = explicit {
        return if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            base_dir.join(dir)
        };
    }
    let set = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set("PHASEHOST_CACHE_DIR") {
        return dir;
    }
    // The XDG base-directory spec ignores a relative XDG_CACHE_HOME.
    if let Some(dir) = set("XDG_CACHE_HOME").filter(|d| d.is_absolute()) {
        return dir.join("phasehost");
    }
    if let Some(home) = set("HOME") {
        return home.join(".cache/phasehost");
    }
    // No home: a per-user folder in the temp folder (refused at use if
    // someone else made it first).
    std::env::temp_dir().join(format!(
        "phasehost-cache-{}",
        crate::runtime::cache::effective_uid()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::ffi::OsString;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn the_cache_dir_is_explicit_then_env_then_xdg_then_home() {
        let all = env(&[
            ("PHASEHOST_CACHE_DIR", "/env/cache"),
            ("XDG_CACHE_HOME", "/xdg"),
            ("HOME", "/home/op"),
        ]);
        let base = Path::new("/etc/phasehost");
        assert_eq!(
            cache_dir_from(Some(Path::new("cache")), base, &all),
            Path::new("/etc/phasehost/cache")
        );
        assert_eq!(
            cache_dir_from(Some(Path::new("/var/cache/ph")), base, &all),
            Path::new("/var/cache/ph")
        );
        assert_eq!(cache_dir_from(None, base, &all), Path::new("/env/cache"));
        let no_env = env(&[("XDG_CACHE_HOME", "/xdg"), ("HOME", "/home/op")]);
        assert_eq!(
            cache_dir_from(None, base, &no_env),
            Path::new("/xdg/phasehost")
        );
        let relative_xdg = env(&[("XDG_CACHE_HOME", "xdg"), ("HOME", "/home/op")]);
        assert_eq!(
            cache_dir_from(None, base, &relative_xdg),
            Path::new("/home/op/.cache/phasehost")
        );
    }

    #[test]
    fn a_host_config_names_its_cache_dir_under_runtime() {
        let dir = std::env::temp_dir().join(format!("phasehost-hc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("host.toml");
        std::fs::write(&path, "[runtime]\ncache_dir = \"cc\"\n").unwrap();
        let config = HostConfig::load(Some(&path)).unwrap();
        assert_eq!(config.cache_dir(), dir.join("cc"));
        std::fs::write(&path, "[runtime]\ncache = \"cc\"\n").unwrap();
        assert!(
            HostConfig::load(Some(&path)).is_err(),
            "unknown keys refused"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
