//! `run`, `resume`, `approve`, `status`, `keygen`: the life of a run.

use crate::cli::args::GateArg;
use crate::run::state::RunState;
use crate::run::{
    self, ApproveRequest, EXIT_PAUSED, Outcome, ResumeRequest, RunReport, StartRequest,
};
use crate::stop::Stop;
use anyhow::Result;
use phasehost_policy::approval::Gate;
use std::path::{Path, PathBuf};

fn report(report: RunReport) -> Result<i32> {
    let folder = report
        .folder
        .as_deref()
        .map(|f| f.display().to_string())
        .unwrap_or_default();
    match report.outcome {
        Outcome::Completed => {
            println!("completed: run folder {folder}");
            if let Some(root) = &report.folder {
                print_summary(root);
            }
            Ok(0)
        }
        Outcome::Paused {
            gate,
            evidence_digest,
            before_phase,
        } => {
            let label = gate.as_str();
            println!("paused at {gate} before phase {before_phase}: waiting for an approval");
            println!("  run folder:  {folder}");
            println!("  review:      {folder}/evidence/ (digest to approve: {evidence_digest})");
            println!(
                "  approve:     phasehost approve {folder} --gate {label} --plan <plan> --key <your-key-file>"
            );
            println!(
                "  then:        phasehost resume {folder} --plan <plan> [--host-config <host.toml>]"
            );
            Ok(EXIT_PAUSED)
        }
        Outcome::Stopped(stop) => {
            eprintln!(
                "phasehost: stopped: {}{}: {}",
                stop.code,
                stop.phase
                    .as_deref()
                    .map(|p| format!(" in {p}"))
                    .unwrap_or_default(),
                stop.message
            );
            eprintln!("  stop document: {folder}/stop.json");
            eprintln!("hint: {}", stop.code.hint());
            Ok(stop.code.exit_status())
        }
    }
}

/// A few lines for people: counts from the evidence, where it is.
fn print_summary(root: &Path) {
    let Ok(state) = RunState::load(root) else {
        return;
    };
    println!(
        "  document {} version {} ({} run)",
        state.document_id,
        state.version,
        state.mode.as_str()
    );
    for record in &state.phases {
        let Ok(doc) = run::RunFolder::open(root).and_then(|f| f.read_json(&record.document)) else {
            continue;
        };
        let ev = &doc["evidence"];
        if let Some(counts) = ev.get("unit_counts").or_else(|| ev.get("counts")) {
            println!("  {:<18} {}", record.phase, counts);
        }
        if let Some(counts) = ev.get("index_entry").and_then(|e| e.get("counts")) {
            println!("  {:<18} {}", "runs index entry", counts);
        }
    }
    println!("  evidence: {}/evidence/", root.display());
}

fn stop_err(stop: Stop) -> anyhow::Error {
    anyhow::Error::new(stop)
}

pub(super) fn run(
    plan: PathBuf,
    source: PathBuf,
    live: bool,
    host_config: Option<PathBuf>,
) -> Result<i32> {
    let request = StartRequest {
        plan,
        source,
        live,
        host_config,
    };
    report(run::start(&request).map_err(stop_err)?)
}

pub(super) fn resume(request: ResumeRequest) -> Result<i32> {
    report(run::resume(&request).map_err(stop_err)?)
}

pub(super) fn approve(
    run_folder: PathBuf,
    gate: GateArg,
    key: PathBuf,
    plan: PathBuf,
) -> Result<i32> {
    let gate = match gate {
        GateArg::Sg1 => Gate::Sg1,
        GateArg::Sg2 => Gate::Sg2,
    };
    let request = ApproveRequest {
        run_folder,
        gate,
        key_file: key,
        plan,
    };
    let approved = run::approve(&request).map_err(stop_err)?;
    println!("approval written: {}", approved.file.display());
    if approved.requeued {
        println!("the document is queued again: a `phasehost worker` resumes it");
    } else {
        println!(
            "next: phasehost resume {} --plan {}",
            request.run_folder.display(),
            request.plan.display()
        );
    }
    Ok(0)
}

pub(super) fn status(run_folder: &Path, plan: Option<&Path>) -> Result<i32> {
    print!("{}", run::status(run_folder, plan).map_err(stop_err)?);
    Ok(0)
}

pub(super) fn keygen(out: &Path, name: &str) -> Result<i32> {
    std::fs::create_dir_all(out)?;
    let paths = phasehost_policy::approval::write_key_files(out, name)?;
    println!(
        "signing key (keep private): {}",
        paths.signing_key.display()
    );
    println!(
        "public key (add to the plan's [approvals] trusted_keys): {}",
        paths.public_key.display()
    );
    println!("key id: {}", paths.key_id);
    Ok(0)
}
