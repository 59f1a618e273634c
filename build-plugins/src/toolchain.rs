//! Making sure the toolchain cargo will use has a wasm target's standard
//! library, adding it with `rustup target add` when it is missing.

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

/// Whether `rustc` (run in `dir`, so `rust-toolchain.toml` applies) lacks
/// the standard library of `target`.
fn missing(dir: &Path, rustc: &str, target: &str) -> Result<bool> {
    let out = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", target])
        .current_dir(dir)
        .output()
        .with_context(|| format!("running `{rustc} --print target-libdir`"))?;
    let libdir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok(!out.status.success()
        || libdir.is_empty()
        || std::fs::read_dir(&libdir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(true))
}

/// Add every target of `targets` that the toolchain of `dir` lacks.
pub fn ensure_targets(dir: &Path, rustc: &str, targets: &[&str]) -> Result<()> {
    let mut absent = Vec::new();
    for target in targets {
        if missing(dir, rustc, target)? {
            absent.push(*target);
        }
    }
    if absent.is_empty() {
        return Ok(());
    }
    // Only the targets' standard libraries: `rustup toolchain install` here
    // would reinstall the toolchain under the compilers cargo may be running
    // in parallel, and inside cargo (RUSTUP_TOOLCHAIN set) it ignores the
    // file's targets anyway.
    let status = Command::new("rustup")
        .args(["target", "add"])
        .args(&absent)
        .current_dir(dir)
        .status()
        .context("running `rustup target add`")?;
    if !status.success() {
        bail!(
            "`rustup target add {}` failed; the wasm target is missing",
            absent.join(" ")
        );
    }
    Ok(())
}
