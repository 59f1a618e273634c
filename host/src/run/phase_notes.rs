//! What the host notes of one phase while it runs — the gates' verdicts,
//! the inputs it added, the keys it stripped, the runs index entry, the
//! denied calls, the timings and sizes — kept beside the plugin's evidence
//! in the phase's evidence document (see [`super::runner`]).

use super::gates::GateResult;
use serde_json::{Value, json};
use std::time::Instant;

/// The host's notes of one phase, filled in as the phase goes.
pub(super) struct PhaseNotes {
    /// When the phase started (after its approval gate).
    started: Instant,
    /// The same, as an RFC 3339 timestamp.
    started_at: String,
    /// Pseudo-evidence the host added: the approval of the gate before
    /// the phase, the second run of a `run_twice` phase.
    pub(super) inputs_added: serde_json::Map<String, Value>,
    pub(super) gates_before: Vec<GateResult>,
    pub(super) gates_after: Vec<GateResult>,
    /// Secret-shaped keys stripped from the evidence.
    pub(super) stripped: Vec<String>,
    /// The runs index entry the last phase of a live run appended.
    pub(super) runs_index: Option<Value>,
    /// Denied calls the plan let the phase go on after.
    pub(super) denied: Option<Value>,
    pub(super) plugin_ms: u64,
    /// Bytes of evidence the phase was given.
    pub(super) evidence_in: usize,
    /// Bytes of log the plugin wrote.
    pub(super) log_bytes: usize,
}

impl PhaseNotes {
    /// The notes of a phase starting now, with the inputs its approval
    /// gate added.
    pub(super) fn start(inputs_added: serde_json::Map<String, Value>) -> Self {
        Self {
            started: Instant::now(),
            started_at: super::ids::rfc3339_now(),
            inputs_added,
            gates_before: Vec::new(),
            gates_after: Vec::new(),
            stripped: Vec::new(),
            runs_index: None,
            denied: None,
            plugin_ms: 0,
            evidence_in: 0,
            log_bytes: 0,
        }
    }

    /// Milliseconds since the phase started.
    pub(super) fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// The host's record for the evidence document, now; `evidence_out`
    /// is the size of the evidence the phase returned.
    pub(super) fn record(&self, evidence_out: usize) -> Value {
        json!({
            "gates_before": self.gates_before,
            "gates_after": self.gates_after,
            "stripped_secret_keys": self.stripped,
            "inputs_added": self.inputs_added,
            "runs_index": self.runs_index,
            "denied_calls": self.denied,
            "timing": {
                "started_at": self.started_at,
                "plugin_ms": self.plugin_ms,
                "phase_ms": self.elapsed_ms(),
            },
            "bytes": {
                "evidence_in": self.evidence_in,
                "evidence_out": evidence_out,
                "log": self.log_bytes,
            },
        })
    }
}
