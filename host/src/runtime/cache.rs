//! On-disk cache of compiled components, keyed by (component sha256,
//! wasmtime version, engine configuration), so a second start does not
//! recompile.
//!
//! A compiled entry (`.cwasm`) is native code the host runs without further
//! checks, so the cache is guarded in two layers:
//!
//! 1. **The folder** comes from the operator's host config (never a plan),
//!    is created with mode 0700, and is refused when it is a symlink, is not
//!    owned by the process's effective user, or is writable by group or
//!    others ([`check_dir`]). Only this user (and root) can put files in it.
//! 2. **Each entry** has a sidecar record `<entry>.record`, written by this
//!    host after it wrote the entry, naming the component sha256 and engine
//!    key the entry was compiled for and the BLAKE3 digest of the entry's
//!    own bytes.
//!    Before an entry is deserialized its bytes are read once, hashed and
//!    compared with the record; those same bytes are deserialized. An entry
//!    without a matching record is never loaded: the component is
//!    recompiled from its (pinned) bytes and the entry replaced, and the
//!    outcome says why ([`CacheOutcome::Recompiled`]).
//!
//! One sidecar per entry rather than one shared manifest: every record is
//! written whole by one atomic rename, so processes sharing the folder (tests
//! in parallel, queue workers) never read-modify-write a common file and
//! cannot lose each other's records; no lock file is needed. Two processes
//! racing to write the same entry can at worst leave an entry and a record
//! from different writers; that reads as a mismatch, which costs one
//! recompile and is never loaded.
//!
//! What the records do not do: someone who can write the folder can also
//! write a record that matches a foreign entry. Layer 2 catches entries that
//! were replaced, copied between names, truncated or corrupted; layer 1 is
//! what keeps an attacker out of the folder.

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
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
    /// Deserialized from a verified cache entry (or already loaded by this
    /// process).
    Hit,
    /// Compiled: there was no cache entry (and one was written).
    Compiled,
    /// There was a cache entry but it was not used: compiled from the
    /// component's bytes instead, and the entry replaced.
    Recompiled {
        /// Why the entry was not used.
        reason: RejectedEntry,
    },
}

/// Why a cache entry was not loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RejectedEntry {
    /// The entry has no record (`<entry>.record`) next to it.
    NoRecord,
    /// The record does not parse, is not a plain file owned by this user and
    /// writable only by it, or names another component or engine.
    BadRecord,
    /// The entry's bytes do not have the sha256 the record names.
    DigestMismatch,
    /// The entry could not be read.
    Unreadable,
    /// The entry matched its record but wasmtime refused to deserialize it.
    Undeserializable,
    /// The cache folder no longer passes [`check_dir`] (its mode or owner
    /// changed since the runtime started): nothing is read from it or
    /// written to it.
    UntrustedFolder,
}

impl fmt::Display for RejectedEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoRecord => "it has no record written by this host",
            Self::BadRecord => "its record is malformed, untrusted or for another component",
            Self::DigestMismatch => "its bytes differ from those the host recorded",
            Self::Unreadable => "it cannot be read",
            Self::Undeserializable => "wasmtime refused to deserialize it",
            Self::UntrustedFolder => "the cache folder is no longer safe (see `phasehost check`)",
        })
    }
}

/// Why a cache folder is refused.
#[derive(Debug, thiserror::Error)]
pub enum CacheDirError {
    /// The folder could not be created or inspected.
    #[error("compile cache folder {path}: {source}")]
    Io {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The folder is a symlink.
    #[error(
        "compile cache folder {path} is a symlink; refused (whoever can repoint it chooses the native code this host runs): name the real folder in the host config's [runtime] cache_dir"
    )]
    Symlink {
        /// The folder.
        path: PathBuf,
    },
    /// The path is not a folder.
    #[error("compile cache folder {path} is not a folder")]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// Group or others may write the folder.
    #[error(
        "compile cache folder {path} has mode {mode:04o}, writable by group or others; refused (a compiled entry is native code this host runs): `chmod 700` it, or name another folder in the host config's [runtime] cache_dir"
    )]
    Writable {
        /// The folder.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Another user owns the folder.
    #[error(
        "compile cache folder {path} is owned by uid {owner}, not by this process's user (uid {euid}); refused (a compiled entry is native code this host runs): name a folder of your own in the host config's [runtime] cache_dir"
    )]
    Owner {
        /// The folder.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// This process's effective uid.
        euid: u32,
    },
}

/// Create `dir` (mode 0700) if it is missing, and refuse it unless it is a
/// real folder (not a symlink) owned by this process's effective user and
/// writable by nobody else.
pub fn check_dir(dir: &Path) -> Result<(), CacheDirError> {
    let io_err = |source| CacheDirError::Io {
        path: dir.to_path_buf(),
        source,
    };
    match fs::symlink_metadata(dir) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err)?,
        Err(e) => return Err(io_err(e)),
    }
    let meta = fs::symlink_metadata(dir).map_err(io_err)?;
    let path = dir.to_path_buf();
    if meta.file_type().is_symlink() {
        return Err(CacheDirError::Symlink { path });
    }
    if !meta.is_dir() {
        return Err(CacheDirError::NotADirectory { path });
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(CacheDirError::Writable { path, mode });
    }
    let euid = effective_uid();
    if meta.uid() != euid {
        return Err(CacheDirError::Owner {
            path,
            owner: meta.uid(),
            euid,
        });
    }
    Ok(())
}

/// The effective uid of this process.
pub fn effective_uid() -> u32 {
    unsafe extern "C" {
        // POSIX: always succeeds, touches no memory of ours; `uid_t` is a
        // 32-bit unsigned integer on every unix Rust supports.
        safe fn geteuid() -> u32;
    }
    geteuid()
}

/// The record next to an entry (JSON).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryRecord {
    /// Record format.
    format: u32,
    /// sha256 of the component the entry was compiled from.
    component: String,
    /// The engine key the entry was compiled for.
    engine: String,
    /// BLAKE3 (hex) of the entry file's bytes.
    cwasm_blake3: String,
}

/// Format 2: the entry's own digest is BLAKE3 (format 1 recorded its
/// sha256). Every command that loads components verifies every entry it
/// loads, several MiB per plan, and BLAKE3 hashes them about three times as
/// fast here (`BENCHMARKS.md`); a format-1 record reads as a bad record and
/// costs one recompile.
const RECORD_FORMAT: u32 = 2;

/// BLAKE3 of `bytes`, lowercase hex.
fn entry_digest(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

impl CompileCache {
    /// A cache in `dir` for `engine`; `dir` is created (mode 0700) if missing
    /// and refused if it is not safe to load native code from (see
    /// [`check_dir`]).
    pub fn new(dir: impl Into<PathBuf>, engine: &Engine) -> Result<Self, CacheDirError> {
        let dir = dir.into();
        check_dir(&dir)?;
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = format!("wasmtime{}-{:016x}", wasmtime_version(), hasher.finish());
        Ok(Self {
            dir,
            engine_key,
            loaded: Arc::default(),
        })
    }

    /// The cache folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry file of the component whose sha256 is `sha256`.
    pub fn entry_path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}-{}.cwasm", self.engine_key))
    }

    /// The record file of that entry.
    pub fn record_path(&self, sha256: &str) -> PathBuf {
        self.dir
            .join(format!("{sha256}-{}.cwasm.record", self.engine_key))
    }

    /// Load the component with bytes `bytes` (whose sha256 is `sha256`,
    /// computed by the caller from those bytes): from this process's memory,
    /// else from a verified cache entry, else compiled (and cached). An entry
    /// that is not used is reported on stderr and in the outcome.
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
        if let CacheOutcome::Recompiled { reason } = outcome {
            eprintln!(
                "phasehost: compile cache entry {} not used ({reason}); recompiled component {sha256} from its bytes",
                self.entry_path(sha256).display()
            );
        }
        loaded.insert(sha256.to_string(), component.clone());
        Ok((component, outcome))
    }

    fn load_from_disk(
        &self,
        engine: &Engine,
        sha256: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        // The folder was checked when the runtime started; a long-lived
        // process (a queue worker) checks again, since one lstat is cheap.
        if check_dir(&self.dir).is_err() {
            let component = Component::new(engine, bytes)?;
            let reason = RejectedEntry::UntrustedFolder;
            return Ok((component, CacheOutcome::Recompiled { reason }));
        }
        let outcome = match self.read_verified(sha256) {
            Verified::Missing => CacheOutcome::Compiled,
            Verified::Rejected(reason) => CacheOutcome::Recompiled { reason },
            Verified::Bytes(entry) => {
                // SAFETY: `Component::deserialize` maps these bytes as native
                // code, so it is sound only for bytes `Component::serialize`
                // produced. `entry` is one read of the entry file whose
                // BLAKE3 digest equals the one recorded in `<entry>.record` by
                // `store` below, right after it wrote the output of
                // `Component::serialize` for this component sha256 and this
                // engine key; the record is a plain file owned by this user
                // and writable only by it, in a folder `check_dir` accepted
                // (not a symlink, owned by this user, not writable by group or
                // others), so only this user or root could have written
                // either file. The bytes are held in memory: the file cannot
                // change between the check and the use. wasmtime re-checks
                // the version and engine configuration in the bytes' header.
                match unsafe { Component::deserialize(engine, &entry) } {
                    Ok(component) => return Ok((component, CacheOutcome::Hit)),
                    Err(_) => CacheOutcome::Recompiled {
                        reason: RejectedEntry::Undeserializable,
                    },
                }
            }
        };
        let component = Component::new(engine, bytes)?;
        self.store(sha256, &component);
        Ok((component, outcome))
    }

    /// The entry's bytes, if it exists and matches its record.
    fn read_verified(&self, sha256: &str) -> Verified {
        let entry = match fs::read(self.entry_path(sha256)) {
            Ok(entry) => entry,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Verified::Missing,
            Err(_) => return Verified::Rejected(RejectedEntry::Unreadable),
        };
        let record = match self.read_record(sha256) {
            Ok(record) => record,
            Err(reason) => return Verified::Rejected(reason),
        };
        if record.format != RECORD_FORMAT
            || record.component != sha256
            || record.engine != self.engine_key
        {
            return Verified::Rejected(RejectedEntry::BadRecord);
        }
        if entry_digest(&entry) != record.cwasm_blake3 {
            return Verified::Rejected(RejectedEntry::DigestMismatch);
        }
        Verified::Bytes(entry)
    }

    fn read_record(&self, sha256: &str) -> Result<EntryRecord, RejectedEntry> {
        let mut file = match File::open(self.record_path(sha256)) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(RejectedEntry::NoRecord),
            Err(_) => return Err(RejectedEntry::BadRecord),
        };
        let meta = file.metadata().map_err(|_| RejectedEntry::BadRecord)?;
        if !meta.is_file() || meta.uid() != effective_uid() || meta.mode() & 0o022 != 0 {
            return Err(RejectedEntry::BadRecord);
        }
        let mut text = String::new();
        (&mut file)
            .take(4096)
            .read_to_string(&mut text)
            .map_err(|_| RejectedEntry::BadRecord)?;
        serde_json::from_str(&text).map_err(|_| RejectedEntry::BadRecord)
    }

    /// Best effort: a cache that cannot be written only costs a recompile.
    /// The entry is written first and its record second, each atomically, so
    /// a reader never sees a record for bytes that are not (yet) the entry's.
    fn store(&self, sha256: &str, component: &Component) {
        let Ok(serialized) = component.serialize() else {
            return;
        };
        let record = EntryRecord {
            format: RECORD_FORMAT,
            component: sha256.to_string(),
            engine: self.engine_key.clone(),
            cwasm_blake3: entry_digest(&serialized),
        };
        let Ok(record) = serde_json::to_vec(&record) else {
            return;
        };
        if crate::fsutil::write_atomic_mode(&self.entry_path(sha256), &serialized, 0o600).is_ok() {
            let _ = crate::fsutil::write_atomic_mode(&self.record_path(sha256), &record, 0o600);
        }
    }
}

enum Verified {
    Missing,
    Rejected(RejectedEntry),
    Bytes(Vec<u8>),
}

fn wasmtime_version() -> &'static str {
    // The wasmtime crate's version is part of the engine's compatibility
    // hash as well; this only makes file names readable.
    "48"
}
