//! The wasmtime runtime: one engine per process, compiled components cached
//! on disk, an `InstancePre` per plugin, a fresh `Store` per run.

pub mod budget;
pub mod cache;
mod determinism;
pub mod engine;
pub mod imports;
mod invoke;
mod limiter;
mod load;
mod loaded;
pub mod plugin_text;
pub mod state;

pub use cache::{CacheDirError, CacheOutcome, CompileCache, RejectedEntry};
pub use imports::{GrantDiff, Import};
pub use invoke::{PhaseInput, PhaseRun};
pub use load::LoadError;
pub use loaded::{Described, LoadedGate, LoadedPhase, PluginInfo, Predicate, Verdict};

use crate::bindings;
use engine::EpochTicker;
use state::{GateState, PhaseState};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use wasmtime::Engine;
use wasmtime::component::{HasSelf, Linker};

/// The engine, linkers and compile cache of this process.
pub struct Runtime {
    engine: Engine,
    phase_linker: Linker<PhaseState>,
    gate_linker: Linker<GateState>,
    cache: CompileCache,
    allocation: engine::Allocation,
    _ticker: EpochTicker,
}

impl Runtime {
    /// A runtime whose compiled components are cached in `cache_dir` (the
    /// host config's, never a plan's). The folder is created if missing and
    /// refused unless it is safe to load native code from
    /// ([`cache::check_dir`]).
    pub fn new(cache_dir: &Path) -> wasmtime::Result<Self> {
        let (engine, allocation) = engine::build_engine()?;
        let mut phase_linker = Linker::new(&engine);
        bindings::phase::PhasePlugin::add_to_linker::<PhaseState, HasSelf<PhaseState>>(
            &mut phase_linker,
            |state| state,
        )?;
        // For plugins built for wasm32-wasip2: WASI with nothing granted
        // (see `state::deny_all_wasi`).
        wasmtime_wasi::p2::add_to_linker_sync(&mut phase_linker)?;
        let gate_linker = Linker::new(&engine);
        let cache = CompileCache::new(cache_dir, &engine)?;
        let ticker = EpochTicker::start(&engine);
        Ok(Self {
            engine,
            phase_linker,
            gate_linker,
            cache,
            allocation,
            _ticker: ticker,
        })
    }

    /// The runtime of this process for `cache_dir`, made on first use: a
    /// worker or a batch running run after run pays for the engine and
    /// each component's deserialization once, not per start and resume.
    pub fn shared(cache_dir: &Path) -> wasmtime::Result<Arc<Self>> {
        static SHARED: OnceLock<Mutex<HashMap<PathBuf, Arc<Runtime>>>> = OnceLock::new();
        let mut shared = SHARED
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(runtime) = shared.get(cache_dir) {
            return Ok(runtime.clone());
        }
        let runtime = Arc::new(Self::new(cache_dir)?);
        shared.insert(cache_dir.to_path_buf(), runtime.clone());
        Ok(runtime)
    }

    /// How instances get their memory (pooling, or on demand when the
    /// pool's reservation was refused).
    pub fn allocation(&self) -> engine::Allocation {
        self.allocation
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The compile cache.
    pub fn cache(&self) -> &CompileCache {
        &self.cache
    }
}
