//! On-disk cache of compiled components, keyed by (component sha256,
//! wasmtime version, engine configuration), so a second start does not
//! recompile.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where compiled components live.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: PathBuf,
    engine_key: String,
    /// Components already loaded by this process, by sha256.
    loaded: Arc<Mutex<HashMap<String, Component>>>,
}

/// Whether a component came from the cache or was compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheOutcome {
    /// Deserialized from the cache.
    Hit,
    /// Compiled (and written to the cache).
    Compiled,
}

impl CompileCache {
    /// A cache in `dir` for `engine`.
    pub fn new(dir: impl Into<PathBuf>, engine: &Engine) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = format!("wasmtime{}-{:016x}", wasmtime_version(), hasher.finish());
        Self {
            dir: dir.into(),
            engine_key,
            loaded: Arc::default(),
        }
    }

    /// The cache folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_for(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}-{}.cwasm", self.engine_key))
    }

    /// Load the component with bytes `bytes` (whose sha256 is `sha256`,
    /// computed by the caller from those bytes): from this process's memory,
    /// else from the cache folder. A cache entry that fails to deserialize
    /// is recompiled and replaced.
    pub fn load(
        &self,
        engine: &Engine,
        sha256: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let mut loaded = self
            .loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(component) = loaded.get(sha256) {
            return Ok((component.clone(), CacheOutcome::Hit));
        }
        let (component, outcome) = self.load_from_disk(engine, sha256, bytes)?;
        loaded.insert(sha256.to_string(), component.clone());
        Ok((component, outcome))
    }

    fn load_from_disk(
        &self,
        engine: &Engine,
        sha256: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let path = self.path_for(sha256);
        if path.is_file() {
            // SAFETY: the file is written only by `store` below from
            // `Component::serialize` of this engine configuration, in a folder
            // the operator owns; the file name carries the engine key, and
            // wasmtime re-checks the version and configuration on load.
            if let Ok(component) = unsafe { Component::deserialize_file(engine, &path) } {
                return Ok((component, CacheOutcome::Hit));
            }
        }
        let component = Component::new(engine, bytes)?;
        self.store(&path, &component);
        Ok((component, CacheOutcome::Compiled))
    }

    /// Best effort: a cache that cannot be written only costs a recompile.
    fn store(&self, path: &Path, component: &Component) {
        let Ok(serialized) = component.serialize() else {
            return;
        };
        if std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, &serialized).is_ok() {
            let _ = std::fs::rename(&tmp, path);
        }
        let _ = std::fs::remove_file(&tmp);
    }
}

fn wasmtime_version() -> &'static str {
    // The wasmtime crate's version is part of the engine's compatibility
    // hash as well; this only makes file names readable.
    "48"
}

/// sha256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
