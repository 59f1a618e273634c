//! `phasehost audit <plan> [--json]`

use super::{open_plan, open_runtime};
use crate::audit::{audit, render_text};
use anyhow::Result;
use std::io::Write;
use std::path::Path;

pub(super) fn run(plan_path: &Path, json: bool, host_config: Option<&Path>) -> Result<i32> {
    let plan = open_plan(plan_path)?;
    let runtime = open_runtime(host_config)?;
    let report = audit(&runtime, &plan);
    let text = if json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        render_text(&report)
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(match report.first_failure() {
        None => 0,
        Some(code) => code.exit_status(),
    })
}
