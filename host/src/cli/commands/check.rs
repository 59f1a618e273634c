//! `phasehost check <plan>`

use super::{open_plan, open_runtime};
use crate::audit::audit;
use crate::cli::json;
use anyhow::Result;
use serde_json::json;
use std::path::Path;

pub(super) fn run(plan_path: &Path, host_config: Option<&Path>, as_json: bool) -> Result<i32> {
    let plan = open_plan(plan_path)?;
    let runtime = open_runtime(host_config)?;
    let report = audit(&runtime, &plan);
    let status = report.first_failure().map_or(0, |code| code.exit_status());
    if as_json {
        let plugins: Vec<_> = report
            .plugins
            .iter()
            .map(|entry| {
                json!({
                    "role": entry.role,
                    "name": entry.name,
                    "ok": entry.error.is_none(),
                    "code": entry.error.as_ref().map(|e| e.code.as_str()),
                    "exit_status": entry.error.as_ref().map(|e| e.code.exit_status()),
                    "message": entry.error.as_ref().map(|e| e.message.as_str()),
                })
            })
            .collect();
        json::print(&json!({
            "plan": plan_path,
            "ok": status == 0,
            "first_failure": report.first_failure().map(|c| c.as_str()),
            "exit_status": status,
            "plugins": plugins,
        }))?;
        return Ok(status);
    }
    for entry in &report.plugins {
        match &entry.error {
            None => println!("ok       {} {}", entry.role, entry.name),
            Some(error) => {
                println!("REFUSED  {} {}: {}", entry.role, entry.name, error.code);
                for line in error.message.lines() {
                    println!("    {line}");
                }
            }
        }
    }
    Ok(match report.first_failure() {
        None => {
            println!("every plugin of {} would load", plan_path.display());
            0
        }
        Some(code) => code.exit_status(),
    })
}
