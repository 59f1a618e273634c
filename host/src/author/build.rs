//! `phasehost build [DIR] [--release]`: build the plugin crate (or
//! workspace) in DIR zero-WASI — cargo for wasm32-unknown-unknown, then each
//! cdylib encoded as a component with wit-component (no adapter) into
//! `DIR/target/phasehost/<name>.wasm`. The result imports only the
//! phasehost capabilities its code calls; a gate imports nothing.

use super::component::{Written, encode_to};
use super::refused;
use crate::stop::Stop;
use phasehost_build_plugins::PLAIN_TARGET;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One cdylib cargo built: its target name and the core module.
#[derive(Debug)]
struct Artifact {
    name: String,
    module: PathBuf,
}

/// The cdylib `.wasm` files of cargo's `--message-format json` lines.
fn cdylibs(stdout: impl BufRead) -> Result<Vec<Artifact>, Stop> {
    let mut found = Vec::new();
    for line in stdout.lines() {
        let line = line.map_err(|e| refused(format!("reading cargo's output: {e}")))?;
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let is_cdylib = msg["target"]["kind"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k == "cdylib"));
        if !is_cdylib {
            continue;
        }
        let name = msg["target"]["name"]
            .as_str()
            .unwrap_or("plugin")
            .replace('-', "_");
        for file in msg["filenames"].as_array().into_iter().flatten() {
            if let Some(f) = file.as_str().filter(|f| f.ends_with(".wasm")) {
                found.push(Artifact {
                    name: name.clone(),
                    module: PathBuf::from(f),
                });
            }
        }
    }
    Ok(found)
}

/// Build the crate in `dir`; returns each component written.
pub fn run(dir: &Path, release: bool) -> Result<Vec<Written>, Stop> {
    if !dir.join("Cargo.toml").is_file() {
        return Err(refused(format!(
            "{} has no Cargo.toml: give the folder of the plugin crate (`phasehost new` makes one)",
            dir.display()
        )));
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    phasehost_build_plugins::ensure_wasm_targets(dir, &rustc, &[PLAIN_TARGET])
        .map_err(|e| refused(format!("{e:#}")))?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(dir)
        .args(["build", "--lib", "--target", PLAIN_TARGET])
        .args(["--message-format", "json-render-diagnostics"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if release {
        cmd.arg("--release");
    }
    // A target set for the host in the environment is not the plugin's.
    cmd.env_remove("CARGO_BUILD_TARGET");
    let mut child = cmd
        .spawn()
        .map_err(|e| refused(format!("cannot run {cargo}: {e}")))?;
    let stdout = child.stdout.take().expect("piped");
    let artifacts = cdylibs(std::io::BufReader::new(stdout))?;
    let status = child
        .wait()
        .map_err(|e| refused(format!("waiting for cargo: {e}")))?;
    if !status.success() {
        return Err(refused(format!(
            "`cargo build --target {PLAIN_TARGET}` failed in {} ({status}); its errors are above",
            dir.display()
        )));
    }
    if artifacts.is_empty() {
        return Err(refused(format!(
            "cargo built no cdylib in {}: a plugin crate needs `[lib] crate-type = [\"cdylib\"]`",
            dir.display()
        )));
    }
    let out_dir = dir.join("target").join("phasehost");
    let mut written = Vec::new();
    for a in artifacts {
        let bytes = std::fs::read(&a.module)
            .map_err(|e| refused(format!("cannot read {}: {e}", a.module.display())))?;
        let out = out_dir.join(format!("{}.wasm", a.name));
        written.push(encode_to(&bytes, &a.module, &out, true)?);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cdylib_wasm_files_are_taken() {
        let lines = [
            r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"serde"},"filenames":["/t/libserde.rlib"]}"#,
            r#"{"reason":"compiler-artifact","target":{"kind":["cdylib"],"name":"my-gate"},"filenames":["/t/my_gate.wasm"]}"#,
            r#"{"reason":"build-finished","success":true}"#,
            "not json",
        ]
        .join("\n");
        let found = cdylibs(lines.as_bytes()).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "my_gate");
        assert_eq!(found[0].module, PathBuf::from("/t/my_gate.wasm"));
    }

    #[test]
    fn a_folder_without_a_crate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = run(dir.path(), true).unwrap_err();
        assert!(err.message.contains("no Cargo.toml"), "{}", err.message);
    }
}
