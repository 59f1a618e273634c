//! Project tasks.
//!
//! - `cargo xtask build-plugins`: build every plugin into `target/plugins/`.
//! - `cargo xtask demo`: the README's main job — build the plugins and the
//!   host, then cut the bundled Constitution on SQLite with the iu-cut plan:
//!   a dry run and a live run, each started by a demo operator (signed) and
//!   approved by two other demo approvers (SG_1, SG_2), to closeout.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is in the repo")
        .to_path_buf()
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn build_plugins(root: &Path) -> Result<PathBuf> {
    let out = root.join("target/plugins");
    let built = phasehost_build_plugins::build_all(
        root,
        &cargo(),
        "rustc",
        &root.join("target/plugins-build"),
        &out,
    )?;
    println!("built {} plugins into {}", built.len(), out.display());
    Ok(out)
}

fn build_host(root: &Path) -> Result<PathBuf> {
    let status = Command::new(cargo())
        .current_dir(root)
        .args(["build", "--quiet", "-p", "phasehost"])
        .status()?;
    if !status.success() {
        bail!("building phasehost failed");
    }
    Ok(root.join("target/debug/phasehost"))
}

/// Run phasehost; returns its exit status.
fn phasehost(bin: &Path, root: &Path, args: &[&str]) -> Result<i32> {
    println!("\n$ phasehost {}", args.join(" "));
    let status = Command::new(bin).current_dir(root).args(args).status()?;
    Ok(status.code().unwrap_or(-1))
}

fn expect(status: i32, want: i32, what: &str) -> Result<()> {
    if status != want {
        bail!("{what}: phasehost exited {status}, expected {want}");
    }
    Ok(())
}

/// The newest run folder in the KB.
fn latest_run(kb: &Path) -> Result<String> {
    let mut runs: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(kb.join("runs"))?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    runs.sort();
    let (_, path) = runs.pop().context("no run folder")?;
    Ok(path
        .strip_prefix(repo_root())
        .unwrap_or(&path)
        .display()
        .to_string())
}

/// One run through both approvals.
fn through_both_gates(bin: &Path, root: &Path, plan: &str, extra: &[&str]) -> Result<String> {
    // The operator starts the run (signed); approver A approves SG_1 and
    // approver B SG_2: the plan wants SG_2 from someone other than SG_1's
    // approver, and neither may be whoever started the run.
    let mut args = vec![
        "run",
        plan,
        "--source",
        "data/vlc/hien-phap.txt",
        "--as",
        "demo-run/keys/operator.key",
    ];
    args.extend_from_slice(extra);
    expect(
        phasehost(bin, root, &args)?,
        3,
        "the run should pause at SG_1",
    )?;
    let run = latest_run(&root.join("demo-run/kb"))?;
    let approve = |gate: &str| -> Result<i32> {
        let key = match gate {
            "sg1" => "demo-run/keys/approver-a.key",
            _ => "demo-run/keys/approver-b.key",
        };
        phasehost(
            bin,
            root,
            &[
                "approve", &run, "--gate", gate, "--plan", plan, "--key", key, "--yes",
            ],
        )
    };
    // Resume takes the plan and host config from the operator, as at start.
    // (`--live` belongs to `run`: a resumed run keeps its mode.)
    let mut resume = vec!["resume", run.as_str(), "--plan", plan];
    resume.extend(extra.iter().filter(|a| **a != "--live"));
    expect(approve("sg1")?, 0, "approve SG_1")?;
    expect(
        phasehost(bin, root, &resume)?,
        3,
        "the run should pause at SG_2",
    )?;
    expect(approve("sg2")?, 0, "approve SG_2")?;
    expect(phasehost(bin, root, &resume)?, 0, "the run should complete")?;
    Ok(run)
}

fn demo() -> Result<()> {
    let root = repo_root();
    build_plugins(&root)?;
    let bin = build_host(&root)?;
    let demo = root.join("demo-run");
    if demo.exists() {
        std::fs::remove_dir_all(&demo)?;
    }
    std::fs::create_dir_all(demo.join("keys"))?;
    // The operator's host config: live execution enabled for the demo only.
    std::fs::write(
        demo.join("host.toml"),
        "# Demo host config: enables live runs. Kill file: demo-run/kb/KILL.\n[execution]\nenabled = true\n",
    )?;
    std::fs::copy(root.join("plans/iu-cut.toml"), demo.join("iu-cut.toml"))?;
    let plan = "demo-run/iu-cut.toml";
    for (file, name) in [
        ("operator", "Demo Operator <operator@example.org>"),
        ("approver-a", "Demo Approver A <approver-a@example.org>"),
        ("approver-b", "Demo Approver B <approver-b@example.org>"),
    ] {
        expect(
            phasehost(
                &bin,
                &root,
                &[
                    "keygen",
                    "--out",
                    "demo-run/keys",
                    "--file",
                    file,
                    "--name",
                    name,
                ],
            )?,
            0,
            "keygen",
        )?;
    }
    expect(phasehost(&bin, &root, &["pin", plan])?, 0, "pin")?;
    expect(phasehost(&bin, &root, &["check", plan])?, 0, "check")?;
    println!("\n== dry run (store writes rolled back) ==");
    through_both_gates(&bin, &root, plan, &[])?;
    println!("\n== live run (execution enabled in demo-run/host.toml) ==");
    let run = through_both_gates(
        &bin,
        &root,
        plan,
        &["--live", "--host-config", "demo-run/host.toml"],
    )?;
    expect(
        phasehost(&bin, &root, &["status", &run, "--plan", plan])?,
        0,
        "status",
    )?;
    println!("\nThe demo cut the Constitution into the SQLite store demo-run/store.sqlite;");
    println!("evidence, approvals and the log are in {run}/.");
    Ok(())
}

fn main() -> Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "demo" => demo(),
        "build-plugins" => build_plugins(&repo_root()).map(|_| ()),
        _ => {
            eprintln!("usage: cargo xtask <demo | build-plugins>");
            std::process::exit(2);
        }
    }
}
