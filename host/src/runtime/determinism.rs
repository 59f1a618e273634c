//! Frozen clocks and run-seeded random for the deny-all WASI context, so a
//! phase run twice on the same input gives the same output.
//!
//! Hand-written rather than the `deterministic-wasi-ctx` crate: that crate
//! builds a whole `WasiCtx` and tracks wasmtime releases with a lag; these
//! are the three small trait impls it would provide.

use rand::SeedableRng;
use rand::rngs::StdRng;
use sha2::{Digest, Sha256};
use std::time::Duration;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock};

/// The instant every plugin sees as "now": 2000-01-01T00:00:00Z.
pub const FROZEN_WALL_CLOCK: Duration = Duration::from_secs(946_684_800);

/// A wall clock that always says [`FROZEN_WALL_CLOCK`].
#[derive(Debug, Clone, Copy)]
pub struct FrozenWallClock;

impl HostWallClock for FrozenWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        FROZEN_WALL_CLOCK
    }
}

/// A monotonic clock that never advances.
#[derive(Debug, Clone, Copy)]
pub struct FrozenMonotonicClock;

impl HostMonotonicClock for FrozenMonotonicClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// 32 seed bytes derived from the run id and a purpose label.
pub fn seed_bytes(run_id: &str, purpose: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"phasehost-wasi-random\0");
    hasher.update(purpose.as_bytes());
    hasher.update([0]);
    hasher.update(run_id.as_bytes());
    hasher.finalize().into()
}

/// A random generator seeded from the run id.
pub fn seeded_rng(run_id: &str, purpose: &str) -> StdRng {
    StdRng::from_seed(seed_bytes(run_id, purpose))
}
