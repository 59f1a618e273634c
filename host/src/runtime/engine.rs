//! The process-wide wasmtime engine: component model, pooling allocator,
//! epoch interruption, and a ticker thread that advances the epoch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; deadlines are rounded up to this.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The largest linear memory any plugin may have, whatever its plan says.
pub const MAX_MEMORY_BYTES: usize = 1 << 30;

/// Bytes of a pooled instance's memory reset in place (not unmapped).
const KEEP_RESIDENT_BYTES: usize = 8 << 20;

/// How instances get their memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Allocation {
    /// The pooling allocator: address space reserved up front, fast
    /// instantiation.
    Pooling,
    /// Memory mapped per instance: used when the pool's reservation is
    /// refused (an address-space limit such as `ulimit -v`, a small VM).
    OnDemand,
}

fn config(allocation: Allocation) -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .cranelift_opt_level(wasmtime::OptLevel::Speed);
    // For `perf`: name the compiled wasm functions in /tmp/perf-<pid>.map.
    // Profiling only; it does not change the compiled code or the cache.
    if std::env::var_os("PHASEHOST_PERF_MAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    if allocation == Allocation::Pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(64)
            .total_core_instances(256)
            .total_memories(128)
            .total_tables(128)
            .total_stacks(64)
            .max_memory_size(MAX_MEMORY_BYTES)
            // Reset a returned instance's memory by zeroing its first pages
            // instead of unmapping them: the next instance does not fault
            // them in again (the zeroing keeps instances from seeing each
            // other's data either way).
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(KEEP_RESIDENT_BYTES / 64);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    } else {
        config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
    }
    config
}

/// Build the engine every plugin of this process runs on: pooling, or on
/// demand when the pool's address-space reservation is refused (said once,
/// on stderr). The per-plugin memory limit holds either way: it is the
/// store's limiter, not the allocator, that enforces it.
pub fn build_engine() -> wasmtime::Result<(Engine, Allocation)> {
    if std::env::var_os("PHASEHOST_ON_DEMAND_ALLOCATOR").is_none() {
        match Engine::new(&config(Allocation::Pooling)) {
            Ok(engine) => return Ok((engine, Allocation::Pooling)),
            Err(e) => eprintln!(
                "phasehost: the pooling allocator could not reserve its address space ({e}); \
                 using on-demand allocation"
            ),
        }
    }
    Ok((
        Engine::new(&config(Allocation::OnDemand))?,
        Allocation::OnDemand,
    ))
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    /// Start ticking `engine`.
    pub fn start(engine: &Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.clone();
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("phasehost-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawning the epoch thread");
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Epoch ticks for a deadline of `ms` milliseconds (at least one).
pub fn deadline_ticks(ms: u64) -> u64 {
    let tick = EPOCH_TICK.as_millis() as u64;
    ms.div_ceil(tick).max(1)
}
