//! `phasehost pin <plan>`: write each component's sha256 into the plan.
//! Run it after reviewing the components (`phasehost audit`); the plan keeps
//! its formatting and comments.

use crate::digest::sha256_hex;
use crate::stop::{Stop, StopCode};
use anyhow::{Context, Result};
use std::path::Path;
use toml_edit::{DocumentMut, value};

pub(super) fn run(plan_path: &Path, as_json: bool) -> Result<i32> {
    let changed = pin_plan(plan_path)?;
    if as_json {
        let pinned: Vec<_> = changed
            .iter()
            .map(|(name, sha)| serde_json::json!({ "name": name, "sha256": sha }))
            .collect();
        crate::cli::json::print(&serde_json::json!({
            "plan": plan_path,
            "changed": !pinned.is_empty(),
            "pinned": pinned,
        }))?;
        return Ok(0);
    }
    if changed.is_empty() {
        println!("every pin in {} is current", plan_path.display());
    }
    for (name, sha) in changed {
        println!("pinned {name} = {sha}");
    }
    Ok(0)
}

/// Pin every component of the plan at `plan_path`; returns what changed.
pub fn pin_plan(plan_path: &Path) -> Result<Vec<(String, String)>> {
    // Validate first: a malformed plan is not rewritten.
    super::open_plan(plan_path)?;
    let text = std::fs::read_to_string(plan_path)?;
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| Stop::new(StopCode::PlanInvalid, format!("{e}")))?;
    let base = plan_path.parent().unwrap_or(Path::new("."));
    let mut changed = Vec::new();
    for section in ["gates", "phases"] {
        let Some(tables) = doc
            .get_mut(section)
            .and_then(|t| t.as_array_of_tables_mut())
        else {
            continue;
        };
        for table in tables.iter_mut() {
            let name = table
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or("?")
                .to_string();
            let component = table
                .get("component")
                .and_then(|c| c.as_str())
                .with_context(|| format!("{section} `{name}` has no component"))?;
            let path = base.join(component);
            let bytes = std::fs::read(&path).map_err(|e| {
                Stop::new(
                    StopCode::PluginInvalid,
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            let sha = sha256_hex(&bytes);
            if table.get("sha256").and_then(|s| s.as_str()) != Some(sha.as_str()) {
                table["sha256"] = value(sha.clone());
                changed.push((name, sha));
            }
        }
    }
    if !changed.is_empty() {
        crate::fsutil::write_atomic(plan_path, doc.to_string().as_bytes())?;
    }
    Ok(changed)
}
