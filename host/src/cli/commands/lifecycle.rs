//! `run`, `resume`, `approve`, `status`, `keygen`: the life of a run.

use crate::cli::args::GateArg;
use crate::cli::json;
use crate::plan::load_plan;
use crate::run::state::RunState;
use crate::run::{
    self, ApproveRequest, EXIT_PAUSED, Outcome, ResumeRequest, RunReport, StartRequest,
};
use crate::stop::{Stop, StopCode};
use anyhow::Result;
use phasehost_policy::approval;
use serde_json::{Value, json};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// The `--json` object of `run` and `resume`.
fn run_value(folder: Option<&Path>, outcome: &Outcome) -> Value {
    let folder = folder.map(|f| f.display().to_string());
    match outcome {
        Outcome::Completed => json!({
            "outcome": "completed", "run_folder": folder, "gate": null,
            "evidence_digest": null, "before_phase": null, "stop": null,
        }),
        Outcome::Paused {
            gate,
            evidence_digest,
            before_phase,
        } => json!({
            "outcome": "paused", "run_folder": folder, "gate": gate.as_str(),
            "evidence_digest": evidence_digest, "before_phase": before_phase, "stop": null,
        }),
        Outcome::Stopped(stop) => json!({
            "outcome": "stopped", "run_folder": folder, "gate": null,
            "evidence_digest": null, "before_phase": null, "stop": json::stop_value(stop),
        }),
    }
}

/// The exit status of an outcome.
fn exit_of(outcome: &Outcome) -> i32 {
    match outcome {
        Outcome::Completed => 0,
        Outcome::Paused { .. } => EXIT_PAUSED,
        Outcome::Stopped(stop) => stop.code.exit_status(),
    }
}

/// A run or resume: its report, or a refusal before it had one (as a
/// `stopped` outcome with `--json`).
fn finish(result: Result<RunReport, Stop>, folder: Option<&Path>, as_json: bool) -> Result<i32> {
    match (result, as_json) {
        (Ok(r), true) => {
            json::print(&run_value(r.folder.as_deref(), &r.outcome))?;
            Ok(exit_of(&r.outcome))
        }
        (Ok(r), false) => report(r),
        (Err(stop), true) => {
            let outcome = Outcome::Stopped(stop);
            json::print(&run_value(folder, &outcome))?;
            Ok(exit_of(&outcome))
        }
        (Err(stop), false) => Err(stop_err(stop)),
    }
}

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
    let Ok(state) = crate::run::RunFolder::open(root).and_then(|f| RunState::load_in(f.dir()))
    else {
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

pub(super) fn run(request: StartRequest, as_json: bool) -> Result<i32> {
    finish(run::start(&request), None, as_json)
}

pub(super) fn review(
    run_folder: &Path,
    plan: &Path,
    gate: Option<GateArg>,
    json: bool,
) -> Result<i32> {
    let review = run::review(run_folder, plan, gate).map_err(stop_err)?;
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

pub(super) fn resume(request: ResumeRequest, as_json: bool) -> Result<i32> {
    let result = run::resume(&request);
    finish(result, Some(&request.run_folder), as_json)
}

pub(super) fn approve(
    run_folder: PathBuf,
    gate: GateArg,
    key: PathBuf,
    plan: PathBuf,
    yes: bool,
    as_json: bool,
) -> Result<i32> {
    let request = ApproveRequest {
        run_folder,
        gate,
        key_file: key,
        plan,
    };
    // The approver reads what they approve before signing; on a terminal
    // they confirm it (unless --yes).
    let ask = !yes && std::io::stdin().is_terminal();
    // With --json, stdout carries only the JSON object: the review and the
    // question go to stderr.
    let mut confirm = |review: &str| {
        let mut out: Box<dyn Write> = if as_json {
            Box::new(std::io::stderr())
        } else {
            Box::new(std::io::stdout())
        };
        let _ = write!(out, "{review}");
        if !ask {
            return true;
        }
        let _ = write!(out, "\nSign this approval? [y/N] ");
        let _ = out.flush();
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).is_ok()
            && matches!(answer.trim(), "y" | "Y" | "yes")
    };
    let approved = run::approve_with(&request, &mut confirm).map_err(stop_err)?;
    if as_json {
        json::print(&json!({
            "run_folder": request.run_folder,
            "gate": request.gate.as_str(),
            "file": approved.file,
            "signer": approved.signer,
            "approvals": approved.approvals,
            "quorum": approved.quorum,
            "gate_open": approved.approvals >= approved.quorum as usize,
            "review": approved.review,
            "requeued": approved.requeued,
        }))?;
        return Ok(0);
    }
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

pub(super) fn status(run_folder: &Path, plan: Option<&Path>, as_json: bool) -> Result<i32> {
    if as_json {
        json::print(&status_value(run_folder, plan).map_err(stop_err)?)?;
    } else {
        print!("{}", run::status(run_folder, plan).map_err(stop_err)?);
    }
    Ok(0)
}

/// The `--json` object of `status`: the run's state, its signed start and
/// its approvals (each checked against the plan's trusted keys when
/// `plan` is given; `valid` is null otherwise).
fn status_value(run_folder: &Path, plan: Option<&Path>) -> Result<Value, Stop> {
    let folder = run::RunFolder::open(run_folder)?;
    let state = RunState::load_in(folder.dir())?;
    let trust = match plan {
        Some(plan) => {
            Some(run::trust(&load_plan(plan).map_err(|e| {
                Stop::new(StopCode::PlanInvalid, e.to_string())
            })?)?)
        }
        None => None,
    };
    let mut value =
        serde_json::to_value(&state).map_err(|e| Stop::new(StopCode::Internal, e.to_string()))?;
    value["run_folder"] = json!(run_folder);
    value["checked"] = json!(trust.is_some());
    value["started_by"] = match folder.load_start() {
        Err(_) => Value::Null,
        Ok(signed) => {
            let key = &signed.statement.key_id;
            let (valid, error) = match &trust {
                None => (None, None),
                Some(trust) => match approval::verify_start(&signed, trust) {
                    Ok(st) if st.run_id == state.run_id => (Some(true), None),
                    Ok(_) => (Some(false), Some("signed for another run".to_string())),
                    Err(e) => (Some(false), Some(e.to_string())),
                },
            };
            json!({
                "key_id": key,
                "signer": trust.as_ref().map(|t| t.describe(key)),
                "valid": valid,
                "error": error,
            })
        }
    };
    let mut approvals = Vec::new();
    for gate in folder.approval_gates().unwrap_or_default() {
        for path in folder.approval_files(&gate).unwrap_or_default() {
            let entry = match folder.load_approval(&path) {
                Err(e) => json!({
                    "gate": gate.as_str(), "file": path, "key_id": null,
                    "signer": null, "valid": false, "error": e.to_string(),
                }),
                Ok(signed) => {
                    let key = &signed.statement.key_id;
                    let (valid, error) = match &trust {
                        None => (None, None),
                        Some(trust) => match approval::check_signature(&signed, trust) {
                            Ok(()) if signed.statement.run_id == state.run_id => (Some(true), None),
                            Ok(()) => (Some(false), Some("signed for another run".to_string())),
                            Err(e) => (Some(false), Some(e.to_string())),
                        },
                    };
                    json!({
                        "gate": gate.as_str(), "file": path, "key_id": key,
                        "signer": trust.as_ref().map(|t| t.describe(key)),
                        "valid": valid, "error": error,
                    })
                }
            };
            approvals.push(entry);
        }
    }
    value["approvals"] = Value::Array(approvals);
    Ok(value)
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

pub(super) fn keygen(
    out: &Path,
    name: Option<&str>,
    file: Option<&str>,
    as_json: bool,
) -> Result<i32> {
    std::fs::create_dir_all(out)?;
    let stem = match (file, name) {
        (Some(file), _) => file.to_string(),
        (None, Some(name)) => stem_of(name),
        (None, None) => "approver".into(),
    };
    let paths = phasehost_policy::approval::write_held_key_files(out, &stem, name)?;
    if as_json {
        json::print(&json!({
            "signing_key": paths.signing_key,
            "public_key": paths.public_key,
            "key_id": paths.key_id,
            "holder": name,
        }))?;
        return Ok(0);
    }
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
