//! `phasehost check <plan>`

use super::{open_plan, open_runtime};
use crate::audit::audit_and_load;
use crate::cli::json;
use anyhow::Result;
use serde_json::json;
use std::path::Path;

pub(super) fn run(plan_path: &Path, host_config: Option<&Path>, as_json: bool) -> Result<i32> {
    let plan = open_plan(plan_path)?;
    let runtime = open_runtime(host_config)?;
    let (report, loaded) = audit_and_load(&runtime, &plan);
    // The gate wiring is checked once every plugin loads.
    let wiring = loaded.and_then(|plugins| {
        crate::run::wiring::check_loaded(&runtime, &plan, plugins.gates, plugins.phases).err()
    });
    let first_failure = report
        .first_failure()
        .or_else(|| wiring.as_ref().map(|stop| stop.code));
    let status = first_failure.map_or(0, |code| code.exit_status());
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
            "first_failure": first_failure.map(|c| c.as_str()),
            "exit_status": status,
            "plugins": plugins,
            "wiring": wiring.as_ref().map_or_else(
                || json!({"ok": report.first_failure().is_none()}),
                |stop| json!({"ok": false, "code": stop.code.as_str(), "message": stop.message}),
            ),
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
    if let Some(stop) = &wiring {
        println!("REFUSED  gate wiring: {}", stop.code);
        for line in stop.message.lines() {
            println!("    {line}");
        }
    }
    Ok(match first_failure {
        None => {
            println!(
                "every plugin of {} would load, and its gate wiring holds",
                plan_path.display()
            );
            0
        }
        Some(code) => code.exit_status(),
    })
}
