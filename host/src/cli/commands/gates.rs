//! `phasehost gates <plan>`: every predicate and where it runs.

use super::{open_plan, open_runtime};
use crate::cli::json;
use anyhow::Result;
use serde_json::json;
use std::path::Path;

pub(super) fn run(plan_path: &Path, host_config: Option<&Path>, as_json: bool) -> Result<i32> {
    let plan = open_plan(plan_path)?;
    let runtime = open_runtime(host_config)?;
    if as_json {
        let mut predicates = Vec::new();
        for spec in &plan.gates {
            let gate = runtime
                .load_gate(&plan, spec)
                .map_err(|e| anyhow::Error::new(e.to_stop()))?;
            for p in gate.predicates() {
                predicates.push(json!({
                    "name": p.name,
                    "when": p.checkpoint.to_string(),
                    "phase": p.phase,
                    "plugin": spec.name,
                    "description": p.description,
                    "phase_in_plan": plan.phase(&p.phase).is_some(),
                }));
            }
        }
        json::print(&json!({
            "plan": plan_path,
            "count": predicates.len(),
            "predicates": predicates,
        }))?;
        return Ok(0);
    }
    println!("{:<32} {:<6} {:<20} plugin", "predicate", "when", "phase");
    let mut count = 0;
    for spec in &plan.gates {
        let gate = runtime
            .load_gate(&plan, spec)
            .map_err(|e| anyhow::Error::new(e.to_stop()))?;
        for p in gate.predicates() {
            let note = if plan.phase(&p.phase).is_some() {
                ""
            } else {
                "  (phase not in this plan)"
            };
            println!(
                "{:<32} {:<6} {:<20} {}{note}\n    {}",
                p.name, p.checkpoint, p.phase, spec.name, p.description
            );
            count += 1;
        }
    }
    println!("{count} predicates");
    Ok(0)
}
