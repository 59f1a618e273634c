//! The per-run resource limiter: caps linear memory and remembers that a
//! growth was refused, so a resulting trap is reported as out-of-memory.

use wasmtime::ResourceLimiter;

/// Memory and table limits for one plugin run.
#[derive(Debug)]
pub struct RunLimiter {
    memory_bytes: usize,
    /// Set when a memory growth past the limit was refused.
    pub memory_refused: bool,
}

impl RunLimiter {
    /// A limiter allowing `memory_bytes` of linear memory per memory.
    pub fn new(memory_bytes: usize) -> Self {
        Self {
            memory_bytes,
            memory_refused: false,
        }
    }
}

impl ResourceLimiter for RunLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.memory_refused = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }

    fn instances(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        16
    }

    fn tables(&self) -> usize {
        16
    }
}
