//! `phasehost check` and `phasehost audit`: load every plugin of a plan and
//! report what each one is, imports, exports, is granted and runs under.

use crate::plan::Plan;
use crate::runtime::{LoadedGate, LoadedPhase, PluginInfo, Runtime};
use crate::stop::StopCode;
use serde::Serialize;
use std::fmt::Write as _;

/// One plugin's audit entry: its facts if it loaded, or why not.
#[derive(Debug, Serialize)]
pub struct AuditEntry {
    /// Phase or gate name.
    pub name: String,
    /// `phase` or `gate`.
    pub role: &'static str,
    /// Whether it would load.
    pub loads: bool,
    /// The facts (present when the component could be read and compiled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<PluginInfo>,
    /// The stop code and message when it would not load.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<AuditError>,
}

/// Why a plugin would not load.
#[derive(Debug, Serialize)]
pub struct AuditError {
    /// The stop code.
    pub code: StopCode,
    /// The message, with the import-vs-grant diff when that is the reason.
    pub message: String,
}

/// The audit of a whole plan.
#[derive(Debug, Serialize)]
pub struct AuditReport {
    /// The plan file.
    pub plan: String,
    /// The plugin set.
    pub plugin_set: String,
    /// One entry per gate plugin and phase, in plan order.
    pub plugins: Vec<AuditEntry>,
    /// The tables the plan declares (`[[tables]]`), in plan order.
    pub tables: Vec<AuditTable>,
}

/// A table the plan declares, and which phase may do what with it.
#[derive(Debug, Serialize)]
pub struct AuditTable {
    /// The table.
    pub name: String,
    /// Its columns as the store holds them (`document_id` first): `name
    /// type`, `null` when nullable.
    pub columns: Vec<String>,
    /// Its primary key (`document_id` first).
    pub primary_key: Vec<String>,
    /// Phase → access letters, for every phase granted the table.
    pub grants: std::collections::BTreeMap<String, String>,
}

/// The plan's declared tables with their grants; a declaration the loader
/// would refuse shows as no columns.
fn declared_tables(plan: &Plan) -> Vec<AuditTable> {
    plan.tables
        .iter()
        .map(|decl| {
            let (columns, primary_key) = match decl.table() {
                Ok(t) => (
                    t.columns
                        .iter()
                        .map(|c| {
                            let ty = if c.ty.is_int() { "int" } else { "text" };
                            let null = if c.ty.nullable() { " null" } else { "" };
                            format!("{} {ty}{null}", c.name)
                        })
                        .collect(),
                    t.primary_key,
                ),
                Err(_) => (Vec::new(), Vec::new()),
            };
            let grants = plan
                .phases
                .iter()
                .filter_map(|p| {
                    p.grants
                        .store
                        .get(&decl.name)
                        .map(|a| (p.name.clone(), a.to_string()))
                })
                .collect();
            AuditTable {
                name: decl.name.clone(),
                columns,
                primary_key,
                grants,
            }
        })
        .collect()
}

impl AuditReport {
    /// Whether every plugin would load.
    pub fn all_load(&self) -> bool {
        self.plugins.iter().all(|p| p.loads)
    }

    /// The first failure's stop code.
    pub fn first_failure(&self) -> Option<StopCode> {
        self.plugins
            .iter()
            .find_map(|p| p.error.as_ref().map(|e| e.code))
    }
}

/// Load every plugin of `plan` and report on each.
pub fn audit(runtime: &Runtime, plan: &Plan) -> AuditReport {
    audit_and_load(runtime, plan).0
}

/// Every plugin of a plan, loaded (the gates, then the phases, in plan order).
pub struct LoadedPlugins {
    /// The gates.
    pub gates: Vec<LoadedGate>,
    /// The phases.
    pub phases: Vec<LoadedPhase>,
}

/// [`audit`], and the plugins themselves when every one of them loaded
/// (`phasehost check` checks their wiring without loading them again).
pub fn audit_and_load(runtime: &Runtime, plan: &Plan) -> (AuditReport, Option<LoadedPlugins>) {
    let mut plugins = Vec::new();
    let mut loaded = LoadedPlugins {
        gates: Vec::new(),
        phases: Vec::new(),
    };
    for gate in &plan.gates {
        let entry = match runtime.load_gate(plan, gate) {
            Ok(gate_loaded) => {
                let entry = ok_entry(&gate.name, "gate", gate_loaded.info().clone());
                loaded.gates.push(gate_loaded);
                entry
            }
            Err(e) => err_entry(&gate.name, "gate", e.stop_code(), e.to_string()),
        };
        plugins.push(entry);
    }
    for phase in &plan.phases {
        let entry = match runtime.load_phase(plan, phase) {
            Ok(phase_loaded) => {
                let entry = ok_entry(&phase.name, "phase", phase_loaded.info().clone());
                loaded.phases.push(phase_loaded);
                entry
            }
            Err(e) => err_entry(&phase.name, "phase", e.stop_code(), e.to_string()),
        };
        plugins.push(entry);
    }
    let report = AuditReport {
        plan: plan.source_path.display().to_string(),
        plugin_set: plan.plan.plugin_set.clone(),
        plugins,
        tables: declared_tables(plan),
    };
    let all = report.all_load().then_some(loaded);
    (report, all)
}

fn ok_entry(name: &str, role: &'static str, info: PluginInfo) -> AuditEntry {
    AuditEntry {
        name: name.to_string(),
        role,
        loads: true,
        plugin: Some(info),
        error: None,
    }
}

fn err_entry(name: &str, role: &'static str, code: StopCode, message: String) -> AuditEntry {
    AuditEntry {
        name: name.to_string(),
        role,
        loads: false,
        plugin: None,
        error: Some(AuditError { code, message }),
    }
}

/// The audit as a table for people.
pub fn render_text(report: &AuditReport) -> String {
    let mut out = format!("plan {} (plugin set {})\n", report.plan, report.plugin_set);
    for table in &report.tables {
        render_table(&mut out, table);
    }
    for entry in &report.plugins {
        let _ = writeln!(out, "\n{} {}", entry.role, entry.name);
        if let Some(info) = &entry.plugin {
            render_plugin(&mut out, info);
        }
        if let Some(error) = &entry.error {
            let _ = writeln!(out, "  REFUSED    {}", error.code);
            for line in error.message.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    out
}

/// A table the plan declares: its columns, key and the phases' grants.
fn render_table(out: &mut String, table: &AuditTable) {
    let _ = writeln!(out, "\ntable {} (declared by the plan)", table.name);
    let _ = writeln!(out, "  columns    {}", table.columns.join(", "));
    let _ = writeln!(out, "  key        {}", table.primary_key.join(", "));
    if table.grants.is_empty() {
        let _ = writeln!(out, "  grants     (no phase)");
    }
    for (phase, access) in &table.grants {
        let _ = writeln!(out, "  grant      {phase} = {access}");
    }
}

/// A plugin that loaded: its component, what it imports and exports,
/// what it is granted, its limits, and the difference of imports and grants.
fn render_plugin(out: &mut String, info: &PluginInfo) {
    let caps: Vec<String> = info
        .imports
        .iter()
        .filter_map(|i| match i {
            crate::runtime::Import::Capability(c) => Some(c.interface().to_string()),
            _ => None,
        })
        .collect();
    let grants: Vec<String> = info
        .grants
        .capabilities()
        .iter()
        .map(|c| c.interface().to_string())
        .collect();
    let list = |v: &[String]| {
        if v.is_empty() {
            "(none)".to_string()
        } else {
            v.join(", ")
        }
    };
    let _ = writeln!(out, "  component  {}", info.path.display());
    let _ = writeln!(out, "  sha256     {} (matches the pin)", info.sha256);
    let _ = writeln!(out, "  size       {} bytes", info.size);
    let _ = writeln!(out, "  imports    {}", list(&caps));
    let _ = writeln!(out, "  ambient    {}", list(&info.diff.ambient));
    let _ = writeln!(out, "  exports    {}", list(&info.exports));
    let _ = writeln!(out, "  grants     {}", list(&grants));
    for (table, access) in &info.grants.store {
        let _ = writeln!(out, "    store      {table} = {access}");
    }
    for (name, access) in &info.grants.artifacts {
        let _ = writeln!(out, "    artifact   {name} = {access}");
    }
    let l = &info.limits;
    let _ = writeln!(
        out,
        "  limits     {} MiB memory, {} ms deadline",
        l.memory_mib, l.deadline_ms
    );
    let _ = writeln!(
        out,
        "  budget     {} B/argument, {} B and {} rows/call, {} B/run, {} B evidence, {} log lines / {} B",
        l.max_arg_bytes,
        l.max_call_bytes,
        l.max_call_rows,
        l.max_phase_bytes,
        l.max_evidence_bytes,
        l.max_log_lines,
        l.max_log_bytes
    );
    let _ = writeln!(
        out,
        "  on denied  {}",
        match info.on_denied {
            crate::plan::OnDenied::Stop => "stop the run (capability-denied)",
            crate::plan::OnDenied::Record => "record and go on (on_denied = \"record\")",
        }
    );
    let unused: Vec<String> = info
        .diff
        .unused
        .iter()
        .map(|c| c.interface().to_string())
        .collect();
    let _ = writeln!(
        out,
        "  diff       {}",
        if unused.is_empty() {
            "imports match grants".to_string()
        } else {
            format!("granted but not imported: {}", unused.join(", "))
        }
    );
}
