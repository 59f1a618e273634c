//! Builds every plugin of `plugins/` into a WebAssembly component.
//!
//! - Plugins whose Cargo.toml says `[package.metadata.phasehost] target =
//!   "wasm32-wasip2"` are built for that target; rustc's linker makes them
//!   components that import WASI.
//! - All others are built for `wasm32-unknown-unknown` and encoded as
//!   components with `wit-component` (no adapter), so they import only the
//!   phasehost interfaces they really call — gates import nothing at all.
//!
//! - A crate may also hold several components as `[[example]]` targets with
//!   `crate-type = ["cdylib"]` (iu-cut's phases, one per phase): each is
//!   built with `--example` and lands as `<example name>.wasm`, its plugin
//!   name the example name with `-` for `_`.
//!
//! Before building, the SDK's copy of the WIT package must equal `wit/`
//! ([`check_wit_copy`]): the plugins' bindings come from the copy, the
//! host's from `wit/`.
//!
//! The pinned toolchain (rust-toolchain.toml) names both targets, but rustup
//! does not add them to a toolchain that is already installed; so this crate
//! runs `rustup target add` for both when a target's standard library is
//! missing (the toolchain itself is the one compiling us).

mod encode;
mod toolchain;

pub use encode::{WasmKind, encode_component, has_component_type, wasm_kind};
pub use toolchain::ensure_targets as ensure_wasm_targets;

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

mod wit_copy;
pub use wit_copy::{SDK_WIT_DIR, WIT_DIR, check_wit_copy};

/// The target plain plugins are built for.
pub const PLAIN_TARGET: &str = "wasm32-unknown-unknown";
/// The target WASI plugins are built for.
pub const WASI_TARGET: &str = "wasm32-wasip2";

/// One built plugin.
#[derive(Debug, Clone)]
pub struct BuiltPlugin {
    /// The plugin name: the crate name (e.g. `iu-gates`), or for a component
    /// built from an example target, the example name with `-` for `_`
    /// (e.g. `source-pin`).
    pub crate_name: String,
    /// The component file.
    pub path: PathBuf,
    /// The target it was built for.
    pub target: &'static str,
}

/// One component to build from the plugins workspace.
#[derive(Debug, Clone)]
struct PluginCrate {
    /// The plugin name (see [`BuiltPlugin::crate_name`]).
    name: String,
    /// The package it is built from.
    package: String,
    /// `Some(example)` for a cdylib example target, `None` for the library.
    example: Option<String>,
    dir: PathBuf,
    target: &'static str,
}

fn is_cdylib(target: &toml::Value) -> bool {
    target
        .get("crate-type")
        .and_then(|t| t.as_array())
        .is_some_and(|types| types.iter().any(|t| t.as_str() == Some("cdylib")))
}

/// The example plugin sets' folder, relative to the repository; each set's
/// crate is `examples/<set>/plugin`, a member of the plugins workspace
/// (`plugins/Cargo.toml`), built and tested with the other plugins.
pub const EXAMPLES_DIR: &str = "examples";

/// The folders that may hold a plugin crate: every folder of `plugins/`,
/// and `examples/<set>/plugin` for every example set.
fn crate_dirs(repo_root: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(repo_root.join("plugins"))? {
        dirs.push(entry?.path());
    }
    let examples = repo_root.join(EXAMPLES_DIR);
    if examples.is_dir() {
        for entry in std::fs::read_dir(&examples)? {
            dirs.push(entry?.path().join("plugin"));
        }
    }
    Ok(dirs)
}

fn plugin_crates(dirs: &[PathBuf]) -> Result<Vec<PluginCrate>> {
    let mut crates = Vec::new();
    for dir in dirs {
        let dir = dir.clone();
        let manifest = dir.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest)?;
        let doc: toml::Table = text
            .parse()
            .with_context(|| format!("parsing {}", manifest.display()))?;
        let package = doc.get("package").context("no [package]")?;
        let name = package
            .get("name")
            .and_then(|n| n.as_str())
            .context("no package name")?
            .to_string();
        let wasi = package
            .get("metadata")
            .and_then(|m| m.get("phasehost"))
            .and_then(|m| m.get("target"))
            .and_then(|t| t.as_str())
            == Some(WASI_TARGET);
        let target = if wasi { WASI_TARGET } else { PLAIN_TARGET };
        if doc.get("lib").is_some_and(is_cdylib) {
            crates.push(PluginCrate {
                name: name.clone(),
                package: name.clone(),
                example: None,
                dir: dir.clone(),
                target,
            });
        }
        let examples = doc.get("example").and_then(|e| e.as_array());
        for example in examples.into_iter().flatten().filter(|e| is_cdylib(e)) {
            let example_name = example
                .get("name")
                .and_then(|n| n.as_str())
                .with_context(|| format!("an [[example]] of {} has no name", manifest.display()))?;
            crates.push(PluginCrate {
                name: example_name.replace('_', "-"),
                package: name.clone(),
                example: Some(example_name.to_string()),
                dir: dir.clone(),
                target,
            });
        }
    }
    crates.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(crates)
}

/// Every file a plugin build depends on (for `cargo:rerun-if-changed`).
pub fn inputs(repo_root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = vec![
        repo_root.join("rust-toolchain.toml"),
        repo_root.join("plugins/Cargo.toml"),
    ];
    let lock = repo_root.join("plugins/Cargo.lock");
    if lock.is_file() {
        files.push(lock);
    }
    let mut stack = vec![repo_root.join("wit"), repo_root.join("plugins")];
    if repo_root.join(EXAMPLES_DIR).is_dir() {
        stack.push(repo_root.join(EXAMPLES_DIR));
    }
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    stack.push(path);
                }
            } else if name.ends_with(".rs") || name.ends_with(".wit") || name == "Cargo.toml" {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Make sure the pinned toolchain has both wasm targets.
pub fn ensure_targets(repo_root: &Path, rustc: &str) -> Result<()> {
    toolchain::ensure_targets(repo_root, rustc, &[PLAIN_TARGET, WASI_TARGET])
}

fn cargo_build(
    cargo: &str,
    plugins_dir: &Path,
    target_dir: &Path,
    target: &str,
    crates: &[&PluginCrate],
) -> Result<()> {
    // Libraries in one cargo run, example targets in another: target
    // selection flags (`--example`) apply to every package of a run.
    let libs: Vec<&&PluginCrate> = crates.iter().filter(|c| c.example.is_none()).collect();
    let examples: Vec<&&PluginCrate> = crates.iter().filter(|c| c.example.is_some()).collect();
    if !libs.is_empty() {
        let mut args = Vec::new();
        for c in libs {
            args.extend(["-p".to_string(), c.package.clone()]);
        }
        run_cargo(cargo, plugins_dir, target_dir, target, &args)?;
    }
    if !examples.is_empty() {
        let mut args = Vec::new();
        let mut packages: Vec<&str> = examples.iter().map(|c| c.package.as_str()).collect();
        packages.sort_unstable();
        packages.dedup();
        for p in packages {
            args.extend(["-p".to_string(), p.to_string()]);
        }
        for c in examples {
            args.extend([
                "--example".to_string(),
                c.example.clone().unwrap_or_default(),
            ]);
        }
        run_cargo(cargo, plugins_dir, target_dir, target, &args)?;
    }
    Ok(())
}

fn run_cargo(
    cargo: &str,
    plugins_dir: &Path,
    target_dir: &Path,
    target: &str,
    args: &[String],
) -> Result<()> {
    let mut cmd = Command::new(cargo);
    cmd.current_dir(plugins_dir)
        .args(["build", "--release", "--target", target])
        .arg("--target-dir")
        .arg(target_dir)
        .args(args);
    // The outer build's flags are for the host, not for wasm.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .with_context(|| format!("running cargo build for {target}"))?;
    if !status.success() {
        bail!("building the plugins for {target} failed");
    }
    Ok(())
}

/// Build every plugin of `repo_root/plugins` into `out_dir`, using
/// `target_dir` for cargo's intermediate files.
pub fn build_all(
    repo_root: &Path,
    cargo: &str,
    rustc: &str,
    target_dir: &Path,
    out_dir: &Path,
) -> Result<Vec<BuiltPlugin>> {
    let plugins_dir = repo_root.join("plugins");
    check_wit_copy(repo_root)?;
    ensure_targets(repo_root, rustc)?;
    let crates = plugin_crates(&crate_dirs(repo_root)?)?;
    let plain: Vec<&PluginCrate> = crates.iter().filter(|c| c.target == PLAIN_TARGET).collect();
    let wasi: Vec<&PluginCrate> = crates.iter().filter(|c| c.target == WASI_TARGET).collect();
    cargo_build(cargo, &plugins_dir, target_dir, PLAIN_TARGET, &plain)?;
    cargo_build(cargo, &plugins_dir, target_dir, WASI_TARGET, &wasi)?;
    std::fs::create_dir_all(out_dir)?;
    let mut built = Vec::new();
    for c in &crates {
        let file = format!("{}.wasm", c.name.replace('-', "_"));
        let release = target_dir.join(c.target).join("release");
        let produced = match &c.example {
            Some(example) => release.join("examples").join(format!("{example}.wasm")),
            None => release.join(&file),
        };
        let bytes = std::fs::read(&produced)
            .with_context(|| format!("reading {} ({})", produced.display(), c.dir.display()))?;
        let component = if c.target == PLAIN_TARGET {
            encode_component(&bytes)
                .with_context(|| format!("encoding {} as a component", c.name))?
        } else {
            bytes
        };
        let path = out_dir.join(&file);
        std::fs::write(&path, component)?;
        built.push(BuiltPlugin {
            crate_name: c.name.clone(),
            path,
            target: c.target,
        });
    }
    Ok(built)
}
