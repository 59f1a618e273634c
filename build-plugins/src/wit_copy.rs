//! The plugin SDK embeds its own copy of the WIT package (so a plugin crate
//! anywhere on disk needs only `phasehost-sdk`); the host is generated from
//! `wit/`. The two must be the same files, byte for byte, or a plugin would
//! be built against another interface than the host loads it with.

use anyhow::{Result, bail};
use std::collections::BTreeMap;
use std::path::Path;

/// The WIT package the host is generated from, relative to the repository.
pub const WIT_DIR: &str = "wit";
/// The SDK's copy, relative to the repository.
pub const SDK_WIT_DIR: &str = "plugins/sdk/wit";

fn wit_files(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| anyhow::anyhow!("reading {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if path.is_dir() || !name.ends_with(".wit") {
            bail!(
                "{} holds {name}, which is not a .wit file: the package must be flat .wit files",
                dir.display()
            );
        }
        files.insert(name, std::fs::read(&path)?);
    }
    Ok(files)
}

/// Refuse unless `repo_root/plugins/sdk/wit` holds exactly the files of
/// `repo_root/wit`, with the same bytes; the error names every file that
/// differs, is missing or is extra, and how to fix it.
pub fn check_wit_copy(repo_root: &Path) -> Result<()> {
    let main = wit_files(&repo_root.join(WIT_DIR))?;
    let copy = wit_files(&repo_root.join(SDK_WIT_DIR))?;
    let mut problems = Vec::new();
    for (name, bytes) in &main {
        match copy.get(name) {
            None => problems.push(format!("{name} is missing from {SDK_WIT_DIR}")),
            Some(c) if c != bytes => problems.push(format!("{name} differs")),
            Some(_) => {}
        }
    }
    for name in copy.keys().filter(|n| !main.contains_key(*n)) {
        problems.push(format!("{name} is in {SDK_WIT_DIR} but not in {WIT_DIR}"));
    }
    if main.is_empty() {
        problems.push(format!("{WIT_DIR} has no .wit file"));
    }
    if !problems.is_empty() {
        bail!(
            "the SDK's WIT copy {SDK_WIT_DIR}/ differs from {WIT_DIR}/ ({}); \
             copy {WIT_DIR}/*.wit over {SDK_WIT_DIR}/ (cp {WIT_DIR}/*.wit {SDK_WIT_DIR}/)",
            problems.join("; ")
        );
    }
    Ok(())
}
