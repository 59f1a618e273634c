//! `phasehost report <run-folder> [--out FILE] [--force] [--json]`: one
//! self-contained HTML page of a run (see `run/report.rs`).

use crate::cli::json;
use anyhow::Result;
use serde_json::json;
use std::path::Path;

pub(super) fn run(
    run_folder: &Path,
    out: Option<&Path>,
    force: bool,
    as_json: bool,
) -> Result<i32> {
    let written = crate::run::report::write(run_folder, out, force).map_err(anyhow::Error::new)?;
    if as_json {
        json::print(&json!({
            "path": written.path,
            "bytes": written.bytes,
            "sha256": written.sha256,
        }))?;
    } else {
        println!(
            "wrote {} ({} bytes, sha256 {})",
            written.path.display(),
            written.bytes,
            written.sha256
        );
    }
    Ok(0)
}
