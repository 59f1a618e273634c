//! `phasehost verify-index <plan>`: recompute the hash chain of the store's
//! runs index; exit 0 when intact, `invariant-failed` naming the first
//! broken link (seq, run id) when not.

use crate::run::ops;
use crate::stop::{Stop, StopCode};
use anyhow::Result;
use serde_json::json;
use std::path::Path;

pub(super) fn run(plan: &Path, json_output: bool) -> Result<i32> {
    let check = ops::check_index(plan).map_err(anyhow::Error::new)?;
    let Some(link) = check.first_break else {
        if json_output {
            println!(
                "{}",
                json!({"outcome": "intact", "intact": true, "entries": check.entries})
            );
        } else {
            println!("runs index intact: {} entries", check.entries);
        }
        return Ok(0);
    };
    let stop = Stop::new(
        StopCode::InvariantFailed,
        format!(
            "runs index broken at seq {} (run {}): {}; {} entries",
            link.seq, link.run_id, link.reason, check.entries
        ),
    );
    if !json_output {
        return Err(anyhow::Error::new(stop));
    }
    // One object on stdout, as every `--json` refusal: the stop, and the
    // broken link as data.
    println!(
        "{}",
        json!({
            "outcome": "stopped",
            "intact": false,
            "entries": check.entries,
            "first_break": link,
            "stop": {
                "code": stop.code.as_str(),
                "exit_status": stop.code.exit_status(),
                "phase": null,
                "message": stop.message,
                "hint": stop.code.hint(),
            },
        })
    );
    Ok(stop.code.exit_status())
}
