//! Where a run keeps each of its documents, by name inside the run folder.
//! The run engine writes them, the state checks its records against them.

/// The evidence document of phase `index` (0-based) named `phase`.
pub(super) fn evidence_document(index: usize, phase: &str) -> String {
    format!("evidence/{:02}-{phase}.json", index + 1)
}

/// Where the verdicts of a failed gate check of phase `index` (0-based) are
/// written before the run stops: `evidence/NN-<phase>.gates-<checkpoint>-failed.json`.
pub(super) fn gate_failure_document(index: usize, phase: &str, checkpoint: &str) -> String {
    format!(
        "evidence/{:02}-{phase}.gates-{checkpoint}-failed.json",
        index + 1
    )
}
