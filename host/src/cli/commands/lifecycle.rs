//! `run`, `resume`, `approve`, `status`, `keygen`: the life of a run.

use crate::cli::args::GateArg;
use crate::run::state::RunState;
use crate::run::{
    self, ApproveRequest, EXIT_PAUSED, Outcome, ResumeRequest, RunReport, StartRequest,
};
use crate::stop::Stop;
use anyhow::Result;
use phasehost_policy::approval::Gate;
use std::io::{IsTerminal, Write};
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

pub(super) fn run(request: StartRequest) -> Result<i32> {
    report(run::start(&request).map_err(stop_err)?)
}

fn gate_of(gate: GateArg) -> Gate {
    match gate {
        GateArg::Sg1 => Gate::Sg1,
        GateArg::Sg2 => Gate::Sg2,
    }
}

pub(super) fn review(
    run_folder: &Path,
    plan: &Path,
    gate: Option<GateArg>,
    json: bool,
) -> Result<i32> {
    let review = run::review(run_folder, plan, gate.map(gate_of)).map_err(stop_err)?;
    if json {
        println!("{}", serde_json::to_string(&review)?);
    } else {
        print!("{}", review.text);
        println!(
            "\n(written to {}; sha256 {})",
            review.file.display(),
            review.sha256
        );
    }
    Ok(0)
}

pub(super) fn resume(request: ResumeRequest) -> Result<i32> {
    report(run::resume(&request).map_err(stop_err)?)
}

pub(super) fn approve(
    run_folder: PathBuf,
    gate: GateArg,
    key: PathBuf,
    plan: PathBuf,
    yes: bool,
) -> Result<i32> {
    let request = ApproveRequest {
        run_folder,
        gate: gate_of(gate),
        key_file: key,
        plan,
    };
    // The approver reads what they approve before signing; on a terminal
    // they confirm it (unless --yes).
    let ask = !yes && std::io::stdin().is_terminal();
    let mut confirm = |review: &str| {
        print!("{review}");
        if !ask {
            return true;
        }
        print!("\nSign this approval? [y/N] ");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).is_ok()
            && matches!(answer.trim(), "y" | "Y" | "yes")
    };
    let approved = run::approve_with(&request, &mut confirm).map_err(stop_err)?;
    println!(
        "\napproval written: {} (signed by {}; review {})",
        approved.file.display(),
        approved.signer,
        approved.review.display()
    );
    println!(
        "{} of {} approval(s) for {}",
        approved.approvals, approved.quorum, request.gate
    );
    if approved.approvals < approved.quorum as usize {
        println!(
            "the gate opens when {} distinct approvers have signed",
            approved.quorum
        );
    } else if approved.requeued {
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

/// A file stem from a holder name: `Ana Lê <ana@x>` → `ana-l`.
fn stem_of(name: &str) -> String {
    let before_email = name.split('<').next().unwrap_or_default();
    let words: Vec<String> = before_email
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let stem = words.join("-");
    if stem.is_empty() {
        "approver".into()
    } else {
        stem.chars().take(64).collect()
    }
}

pub(super) fn keygen(out: &Path, name: Option<&str>, file: Option<&str>) -> Result<i32> {
    std::fs::create_dir_all(out)?;
    let stem = match (file, name) {
        (Some(file), _) => file.to_string(),
        (None, Some(name)) => stem_of(name),
        (None, None) => "approver".into(),
    };
    let paths = phasehost_policy::approval::write_held_key_files(out, &stem, name)?;
    println!(
        "signing key (keep private): {}",
        paths.signing_key.display()
    );
    println!(
        "public key (add to the plan's [approvals] trusted_keys): {}",
        paths.public_key.display()
    );
    println!("key id: {}", paths.key_id);
    if let Some(name) = name {
        println!("holder: {name}");
    }
    Ok(0)
}
