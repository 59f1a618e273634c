//! One file per command.

mod audit;
mod author;
mod batch;
mod check;
mod export;
mod gates;
mod index;
mod lifecycle;
mod migrate;
mod pin;
mod progress;
mod report;
mod runs;
mod worker;

use super::{Cli, Command};
use crate::plan::{Plan, load_plan};
use crate::run::host_config::HostConfig;
use crate::runtime::Runtime;
use crate::stop::{Stop, StopCode};
use anyhow::Result;
use std::path::Path;

/// Run the parsed command; returns the exit status.
pub fn dispatch(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Check {
            plan,
            host_config,
            json,
        } => check::run(&plan, host_config.as_deref(), json),
        Command::Audit {
            plan,
            json,
            host_config,
        } => audit::run(&plan, json, host_config.as_deref()),
        Command::Pin { plan, json } => pin::run(&plan, json),
        Command::Gates {
            plan,
            host_config,
            json,
        } => gates::run(&plan, host_config.as_deref(), json),
        Command::Run {
            plan,
            source,
            live,
            host_config,
            as_key,
            json,
        } => lifecycle::run(
            crate::run::StartRequest {
                plan,
                source,
                live,
                host_config,
                as_key,
            },
            json,
        ),
        Command::Worker {
            plan,
            live,
            host_config,
            lease_secs,
            poll_ms,
            until_idle,
            as_key,
            json,
        } => worker::run(
            crate::run::worker::WorkerOptions {
                plan,
                live,
                host_config,
                lease_secs,
                poll: std::time::Duration::from_millis(poll_ms),
                until_idle,
                as_key,
            },
            json,
        ),
        Command::Queue { plan, json } => worker::queue(&plan, json),
        Command::Resume {
            run_folder,
            plan,
            host_config,
            as_key,
            json,
        } => lifecycle::resume(
            crate::run::ResumeRequest {
                run_folder,
                plan,
                host_config,
                as_key,
            },
            json,
        ),
        Command::Review {
            run_folder,
            plan,
            gate,
            json,
        } => lifecycle::review(&run_folder, &plan, gate, json),
        Command::Batch {
            queue,
            live,
            host_config,
            as_key,
            jobs,
            json,
        } => batch::run(
            &queue,
            live,
            host_config.as_deref(),
            as_key.as_deref(),
            jobs.map(usize::from),
            json,
        ),
        Command::Approve {
            run_folder,
            gate,
            key,
            plan,
            yes,
            json,
        } => lifecycle::approve(run_folder, gate, key, plan, yes, json),
        Command::Status {
            run_folder,
            plan,
            json,
        } => lifecycle::status(&run_folder, plan.as_deref(), json),
        Command::Report {
            run_folder,
            out,
            force,
            json,
        } => report::run(&run_folder, out.as_deref(), force, json),
        Command::VerifyIndex { plan, json } => index::run(&plan, json),
        Command::Runs {
            target,
            waiting,
            json,
        } => runs::run(&target, waiting, json),
        Command::Migrate { plan } => migrate::run(&plan),
        Command::Export {
            plan,
            document,
            version,
            format,
            out,
            work_date,
            host_config,
            json,
        } => export::run(
            crate::export::ExportRequest {
                plan,
                host_config,
                document,
                version,
                work_date,
                format: match format {
                    super::args::ExportFormat::Akn => crate::export::Format::Akn,
                    super::args::ExportFormat::Json => crate::export::Format::Json,
                },
                out,
            },
            json,
        ),
        Command::Keygen {
            out,
            name,
            file,
            json,
        } => lifecycle::keygen(&out, name.as_deref(), file.as_deref(), json),
        Command::Wit { out, force, json } => author::wit(&out, force, json),
        Command::Component {
            module,
            out,
            force,
            json,
        } => author::component(&module, &out, force, json),
        Command::Build { dir, release, json } => author::build(&dir, release, json),
        Command::New {
            kind,
            name,
            dir,
            sdk_path,
            guards,
            json,
        } => author::new(kind, name, dir, sdk_path, guards, json),
    }
}

/// Load a plan, mapping failure to plan-invalid.
pub(crate) fn open_plan(path: &Path) -> Result<Plan> {
    load_plan(path).map_err(|e| anyhow::Error::new(Stop::new(StopCode::PlanInvalid, e.to_string())))
}

/// A runtime using the compile cache of the host config at `host_config`
/// (none: the default folder; see `HostConfig::cache_dir`).
pub(crate) fn open_runtime(host_config: Option<&Path>) -> Result<Runtime> {
    let cache_dir = HostConfig::load(host_config)?.cache_dir();
    Runtime::new(&cache_dir).map_err(|e| {
        anyhow::Error::new(Stop::new(
            StopCode::Internal,
            format!("cannot start the wasm engine: {e:#}"),
        ))
    })
}
