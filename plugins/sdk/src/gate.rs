//! The gate side: predicate declarations, verdicts, and the fail-closed
//! dispatch [`gate_plugin!`](crate::gate_plugin) wraps around a gate's
//! evaluate function.

use crate::EvidenceSet;

/// Where a predicate is checked (the WIT `gate.checkpoint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoint {
    /// Before the phase runs.
    Before,
    /// After the phase ran (its own evidence is included).
    After,
}

/// One named predicate a gate plugin implements (the WIT `gate.predicate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PredicateDecl {
    /// Unique name, e.g. `G-SOURCE-SHA-PINNED`.
    pub name: &'static str,
    /// What it checks, for operators and auditors.
    pub description: &'static str,
    /// The phase it guards, as the plan names it.
    pub phase: &'static str,
    /// Before or after that phase.
    pub checkpoint: Checkpoint,
}

/// The outcome of a predicate that could be evaluated (the WIT `gate.verdict`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the predicate holds.
    pub holds: bool,
    /// Why, for the evidence document.
    pub detail: String,
}

/// What [`gate_plugin!`](crate::gate_plugin) does with one `evaluate` call
/// from the host: a name that `predicates` does not declare (or declares more
/// than once) is an error without calling `evaluate` — the host treats an
/// error as "does not hold", so an unknown predicate fails closed even when
/// the gate's own function would answer it; evidence that is not JSON is an
/// error naming the phase.
pub fn checked_evaluate<'a>(
    predicates: &[PredicateDecl],
    name: &str,
    evidence: impl IntoIterator<Item = (&'a str, &'a str)>,
    evaluate: fn(&str, &EvidenceSet) -> Result<Verdict, String>,
) -> Result<Verdict, String> {
    match predicates.iter().filter(|p| p.name == name).count() {
        0 => return Err(format!("unknown predicate `{name}`")),
        1 => {}
        n => return Err(format!("predicate `{name}` is declared {n} times")),
    }
    let set = EvidenceSet::parse(evidence)?;
    evaluate(name, &set)
}

/// The gate names of a phase descriptor, as the WIT record wants them.
#[doc(hidden)]
pub fn gate_names(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_string()).collect()
}
