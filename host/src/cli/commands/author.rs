//! The authoring commands: `wit`, `component`, `build`, `new` (the work is
//! in `crate::author`).

use crate::author::{build as build_crate, component as encode, scaffold, wit as wit_files};
use crate::cli::args::PluginKind;
use crate::cli::json;
use anyhow::Result;
use serde_json::json;
use std::path::{Path, PathBuf};

pub(super) fn wit(out: &Path, force: bool, as_json: bool) -> Result<i32> {
    let done = wit_files::write(out, force)?;
    if as_json {
        let files: Vec<_> = done
            .iter()
            .map(|(path, outcome)| json!({ "path": path, "outcome": outcome }))
            .collect();
        json::print(&json!({
            "package": format!("{}@{}", crate::plan::PACKAGE, crate::plan::PACKAGE_VERSION),
            "files": files,
        }))?;
    } else {
        for (path, outcome) in &done {
            let what = match outcome {
                wit_files::Outcome::Written => "wrote",
                wit_files::Outcome::Unchanged => "unchanged",
                wit_files::Outcome::Replaced => "replaced",
            };
            println!("{what:>9} {}", path.display());
        }
        println!(
            "the WIT package {}@{} is in {}",
            crate::plan::PACKAGE,
            crate::plan::PACKAGE_VERSION,
            out.display()
        );
    }
    Ok(0)
}

fn print_written(written: &[encode::Written], as_json: bool) -> Result<()> {
    if as_json {
        json::print(&json!({ "components": written }))?;
    } else {
        for w in written {
            println!(
                "{} ({} bytes)\n  sha256 {}",
                w.path.display(),
                w.bytes,
                w.sha256
            );
        }
        println!("review it (`phasehost audit <plan>`), then `phasehost pin <plan>`");
    }
    Ok(())
}

pub(super) fn component(module: &Path, out: &Path, force: bool, as_json: bool) -> Result<i32> {
    let written = encode::run(module, out, force)?;
    print_written(&[written], as_json)?;
    Ok(0)
}

pub(super) fn build(dir: &Path, release: bool, as_json: bool) -> Result<i32> {
    let written = build_crate::run(dir, release)?;
    print_written(&written, as_json)?;
    Ok(0)
}

pub(super) fn new(
    kind: PluginKind,
    name: String,
    dir: Option<PathBuf>,
    sdk_path: Option<PathBuf>,
    guards: Option<String>,
    as_json: bool,
) -> Result<i32> {
    let req = scaffold::Request {
        kind: match kind {
            PluginKind::Phase => scaffold::Kind::Phase,
            PluginKind::Gate => scaffold::Kind::Gate,
        },
        dir: dir.unwrap_or_else(|| PathBuf::from(&name)),
        name,
        sdk_path: sdk_path.unwrap_or_else(scaffold::default_sdk_path),
        guards,
    };
    let written = scaffold::create(&req)?;
    if as_json {
        json::print(&json!({ "dir": req.dir, "files": written }))?;
    } else {
        for path in &written {
            println!("wrote {}", path.display());
        }
        println!(
            "next: cd {} && cargo test && phasehost build . --release (see README.md there)",
            req.dir.display()
        );
    }
    Ok(0)
}
