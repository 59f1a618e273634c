//! phasehost: a host for fail-closed, gated pipelines whose phase bodies are
//! sandboxed WebAssembly components.
//!
//! The host owns everything dangerous — the store connection, the file
//! system, the clock, credentials, the kill-switch, approvals and the secrets
//! policy — and hands each plugin only the capabilities its plan grants.

pub mod audit;
pub mod author;
mod bindings;
mod caps;
pub mod cli;
pub mod digest;
pub mod export;
pub mod fsutil;
pub mod plan;
pub mod run;
pub mod runtime;
pub mod stop;
pub use phasehost_store as store;

pub use stop::{Stop, StopCode};
