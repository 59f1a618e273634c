//! `phasehost run <plan> --source <file>`

use super::{open_plan, open_runtime};
use crate::runtime::PhaseInput;
use crate::runtime::state::{AllowAll, OutboundScanner, RunServices};
use crate::stop::Stop;
use crate::store::Scope;
use anyhow::Result;
use std::path::Path;
use std::sync::Arc;

struct NoScan;
impl OutboundScanner for NoScan {
    fn scan(&self, _text: &str) -> Result<(), String> {
        Ok(())
    }
}

pub(super) fn run(
    plan_path: &Path,
    source: &Path,
    _live: bool,
    _host_config: Option<&Path>,
) -> Result<i32> {
    let plan = open_plan(plan_path)?;
    let runtime = open_runtime(&plan)?;
    let bytes = std::fs::read(source)?;
    let document_id = source
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let services = RunServices {
        run_id: "dry".into(),
        source: Some(Arc::from(bytes)),
        store: None,
        scope: Scope {
            document_id: document_id.clone(),
        },
        artifacts_dir: None,
        guard: Arc::new(AllowAll),
        scanner: Arc::new(NoScan),
    };
    let mut evidence = Vec::new();
    for spec in &plan.phases {
        let phase = runtime
            .load_phase(&plan, spec)
            .map_err(|e| anyhow::Error::new(e.to_stop()))?;
        let input = PhaseInput {
            run_id: "dry".into(),
            document_id: document_id.clone(),
            version: "v1".into(),
            dry_run: true,
            config: serde_json::to_string(&spec.config)?,
            evidence: evidence.clone(),
        };
        let run = phase.run(runtime.engine(), &services, &input);
        let value = run.outcome.map_err(|s: Stop| anyhow::Error::new(s))?;
        println!("{}: {}", spec.name, value);
        evidence.push((spec.name.clone(), value.to_string()));
    }
    Ok(0)
}
