//! One file per command.

mod audit;
mod batch;
mod check;
mod gates;
mod lifecycle;
mod pin;
mod progress;
mod worker;

use super::{Cli, Command};
use crate::plan::{Plan, load_plan};
use crate::runtime::Runtime;
use crate::stop::{Stop, StopCode};
use anyhow::Result;
use std::path::Path;

/// Run the parsed command; returns the exit status.
pub fn dispatch(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Check { plan } => check::run(&plan),
        Command::Audit { plan, json } => audit::run(&plan, json),
        Command::Pin { plan } => pin::run(&plan),
        Command::Gates { plan } => gates::run(&plan),
        Command::Run {
            plan,
            source,
            live,
            host_config,
        } => lifecycle::run(plan, source, live, host_config),
        Command::Worker {
            plan,
            live,
            host_config,
            lease_secs,
            poll_ms,
            until_idle,
            json,
        } => worker::run(
            crate::run::worker::WorkerOptions {
                plan,
                live,
                host_config,
                lease_secs,
                poll: std::time::Duration::from_millis(poll_ms),
                until_idle,
            },
            json,
        ),
        Command::Queue { plan, json } => worker::queue(&plan, json),
        Command::Resume { run_folder } => lifecycle::resume(&run_folder),
        Command::Batch {
            queue,
            live,
            host_config,
            json,
        } => batch::run(&queue, live, host_config.as_deref(), json),
        Command::Approve {
            run_folder,
            gate,
            key,
        } => lifecycle::approve(&run_folder, gate, &key),
        Command::Status { run_folder } => lifecycle::status(&run_folder),
        Command::Keygen { out, name } => lifecycle::keygen(&out, &name),
    }
}

/// Load a plan, mapping failure to plan-invalid.
pub(crate) fn open_plan(path: &Path) -> Result<Plan> {
    load_plan(path).map_err(|e| anyhow::Error::new(Stop::new(StopCode::PlanInvalid, e.to_string())))
}

/// A runtime using the plan's compile cache.
pub(crate) fn open_runtime(plan: &Plan) -> Result<Runtime> {
    Runtime::new(&plan.resolve(&plan.runtime.cache_dir)).map_err(|e| {
        anyhow::Error::new(Stop::new(
            StopCode::Internal,
            format!("cannot start the wasm engine: {e:#}"),
        ))
    })
}
