//! `phasehost check <plan>`

use super::{open_plan, open_runtime};
use crate::audit::audit;
use anyhow::Result;
use std::path::Path;

pub(super) fn run(plan_path: &Path, host_config: Option<&Path>) -> Result<i32> {
    let plan = open_plan(plan_path)?;
    let runtime = open_runtime(host_config)?;
    let report = audit(&runtime, &plan);
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
