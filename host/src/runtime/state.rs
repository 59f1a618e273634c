//! The per-run context a phase's `Store` holds: its grants, the run's
//! services (source, store, artifacts, kill-switch), a deny-all WASI context
//! and the resource limiter.

use super::budget::Budget;
use super::determinism::{FrozenMonotonicClock, FrozenWallClock, seeded_rng};
use super::limiter::RunLimiter;
use crate::plan::{Grants, Limits, OnDenied};
use crate::store::{Scope, StoreBackend};
use std::sync::Arc;
use std::sync::Mutex;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// The store of a run, shared by its phases (inside the run's transaction).
pub type SharedStore = Arc<Mutex<Box<dyn StoreBackend>>>;

/// Decides whether a mutating call may go ahead (the kill-switch).
pub trait MutationGuard: Send + Sync {
    /// `Err(reason)` stops the mutation.
    fn check(&self) -> Result<(), String>;
}

/// A guard that always allows (used where nothing mutates, e.g. `check`).
#[derive(Debug, Default)]
pub struct AllowAll;

impl MutationGuard for AllowAll {
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Inspects everything a plugin sends out (log lines, rows, blobs, evidence).
pub trait OutboundScanner: Send + Sync {
    /// `Err(description)` when `text` carries a secret; the description must
    /// not contain the secret.
    fn scan(&self, text: &str) -> Result<(), String>;

    /// Scan `chunk` as the next piece of a stream (consecutive log lines,
    /// consecutive rows) whose window `stream` keeps: every secret
    /// [`scan`](Self::scan) finds in `chunk` alone, and a secret split
    /// across two chunks. Callers rely on the first part (rows are scanned
    /// with this alone), so the default is [`scan`](Self::scan) of the
    /// chunk; a scanner that can find split secrets overrides it.
    fn scan_stream(&self, stream: &mut StreamScanner, chunk: &str) -> Result<(), String> {
        let _ = stream;
        self.scan(chunk)
    }
}

pub use phasehost_policy::secrets::StreamScanner;

/// The services of one run, shared by all its phases.
#[derive(Clone)]
pub struct RunServices {
    /// The run id (seeds WASI random).
    pub run_id: String,
    /// The pinned source bytes.
    pub source: Option<Arc<[u8]>>,
    /// The store, inside the run's transaction.
    pub store: Option<SharedStore>,
    /// The scope every store call is limited to.
    pub scope: Scope,
    /// The run folder's artifacts directory.
    pub artifacts_dir: Option<phasehost_policy::safe_dir::SafeDir>,
    /// How an artifact put is made durable: at the run folder's barrier in
    /// a run, at once elsewhere.
    pub artifacts_durability: crate::fsutil::Durability,
    /// Checked before every mutating call.
    pub guard: Arc<dyn MutationGuard>,
    /// Checks everything a plugin emits.
    pub scanner: Arc<dyn OutboundScanner>,
}

/// One log line a plugin emitted (already scanned).
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogLine {
    /// When the host received it (RFC 3339, host clock).
    pub at: String,
    /// debug / info / warn
    pub level: &'static str,
    /// The text.
    pub message: String,
}

/// Something the host refused during a phase run, remembered so the run's
/// stop code can say why the plugin failed. Descriptions are bounded and
/// never carry a plugin-provided value longer than [`MAX_NAME_IN_INCIDENT`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incident {
    /// A capability call without the grant.
    Denied(String),
    /// The kill-switch stopped a mutation.
    Killed(String),
    /// A secret-shaped value was refused (description has no secret).
    Secret(String),
    /// The plugin exceeded a limit of its budget.
    OverBudget(super::budget::Exceeded),
}

/// The longest piece of a plugin-provided name (a table, an artifact)
/// kept in an incident.
pub const MAX_NAME_IN_INCIDENT: usize = 64;

/// The most denied calls remembered one by one (more are only counted).
pub const MAX_DENIED_KEPT: usize = 16;

/// The data of one phase run's `wasmtime::Store`.
pub struct PhaseState {
    pub(crate) phase: String,
    pub(crate) grants: Grants,
    pub(crate) services: RunServices,
    pub(crate) log: Vec<LogLine>,
    pub(crate) incidents: Vec<Incident>,
    pub(crate) limiter: RunLimiter,
    pub(crate) budget: Budget,
    pub(crate) on_denied: OnDenied,
    /// Denied calls in this run (the first [`MAX_DENIED_KEPT`] are also
    /// incidents).
    pub(crate) denied: u64,
    /// Set when the host ended the phase: every further call traps.
    pub(crate) halted: bool,
    /// The window over this run's log lines (split secrets).
    pub(crate) log_stream: StreamScanner,
    /// The window over this run's rows, in call order (split secrets).
    pub(crate) row_stream: StreamScanner,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl PhaseState {
    /// State for one run of `phase`.
    pub fn new(
        phase: &str,
        grants: Grants,
        limits: Limits,
        on_denied: OnDenied,
        services: RunServices,
    ) -> Self {
        let wasi = deny_all_wasi(&services.run_id);
        Self {
            phase: phase.to_string(),
            grants,
            services,
            log: Vec::new(),
            incidents: Vec::new(),
            limiter: RunLimiter::new(limits.memory_mib as usize * (1 << 20)),
            budget: Budget::new(limits),
            on_denied,
            denied: 0,
            halted: false,
            log_stream: StreamScanner::new(),
            row_stream: StreamScanner::new(),
            wasi,
            table: ResourceTable::new(),
        }
    }

    /// How many capability calls were denied in this run.
    pub fn denied_calls(&self) -> u64 {
        self.denied
    }

    /// What the host refused during this run.
    pub fn incidents(&self) -> &[Incident] {
        &self.incidents
    }

    /// The log lines the plugin emitted.
    pub fn log(&self) -> &[LogLine] {
        &self.log
    }
}

/// WASI with nothing granted: no preopened dirs, env, args, sockets or
/// inherited stdio; frozen clocks; random seeded from the run id.
fn deny_all_wasi(run_id: &str) -> WasiCtx {
    let mut builder = WasiCtxBuilder::new();
    builder
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(|_, _| Box::pin(async { false }))
        .wall_clock(FrozenWallClock)
        .monotonic_clock(FrozenMonotonicClock)
        .secure_random(seeded_rng(run_id, "secure"))
        .insecure_random(seeded_rng(run_id, "insecure"))
        .insecure_random_seed(u128::from_le_bytes(
            super::determinism::seed_bytes(run_id, "seed")[..16]
                .try_into()
                .expect("16 bytes"),
        ));
    builder.build()
}

impl WasiView for PhaseState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The data of one gate evaluation's `wasmtime::Store`: only a limiter.
pub struct GateState {
    pub(crate) limiter: RunLimiter,
}
