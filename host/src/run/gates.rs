//! The gate set: every predicate of every gate plugin, checked at the phase
//! boundaries, failing closed.

use crate::runtime::{LoadedGate, Runtime, Verdict};
use crate::stop::{Stop, StopCode};
use serde::Serialize;
use std::collections::BTreeMap;

/// One predicate's result, recorded in the phase's evidence document.
#[derive(Debug, Clone, Serialize)]
pub struct GateResult {
    /// Predicate name.
    pub name: String,
    /// `before` or `after`.
    pub checkpoint: &'static str,
    /// Whether it held.
    pub holds: bool,
    /// Why.
    pub detail: String,
    /// How long the evaluation took (host clock), in milliseconds.
    pub ms: u64,
}

/// The loaded gate plugins and an index of their predicates.
pub struct GateSet {
    gates: Vec<LoadedGate>,
    /// predicate name → index of the gate plugin that implements it.
    by_name: BTreeMap<String, usize>,
}

impl GateSet {
    /// Index the predicates; a name implemented twice is refused.
    pub fn new(gates: Vec<LoadedGate>) -> Result<Self, Stop> {
        let mut by_name = BTreeMap::new();
        for (index, gate) in gates.iter().enumerate() {
            for p in gate.predicates() {
                if by_name.insert(p.name.clone(), index).is_some() {
                    return Err(Stop::new(
                        StopCode::PlanInvalid,
                        format!("predicate {} is implemented by two gate plugins", p.name),
                    ));
                }
            }
        }
        Ok(Self { gates, by_name })
    }

    /// The predicates for `phase` at `checkpoint`: those the gate plugins
    /// declare for it, then those the plan requires (which may be unknown).
    pub fn names_for(&self, phase: &str, checkpoint: &str, required: &[String]) -> Vec<String> {
        let mut names: Vec<String> = self
            .gates
            .iter()
            .flat_map(|g| g.predicates())
            .filter(|p| p.phase == phase && p.checkpoint == checkpoint)
            .map(|p| p.name.clone())
            .collect();
        for name in required {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names
    }

    /// Number of predicates in the set.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether there are no predicates.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Evaluate every predicate for (`phase`, `checkpoint`). The first one
    /// that is unknown, errors, traps or is false stops the run.
    pub fn check(
        &self,
        runtime: &Runtime,
        phase: &str,
        checkpoint: &'static str,
        required: &[String],
        evidence: &[(String, String)],
    ) -> Result<Vec<GateResult>, Stop> {
        let mut results = Vec::new();
        for name in self.names_for(phase, checkpoint, required) {
            let Some(&index) = self.by_name.get(&name) else {
                return Err(Stop::new(
                    StopCode::InvariantFailed,
                    format!("predicate {name} ({checkpoint} {phase}) is not implemented by any gate plugin: failing closed"),
                )
                .in_phase(phase));
            };
            let started = std::time::Instant::now();
            let Verdict { holds, detail } = self.gates[index]
                .evaluate(runtime.engine(), &name, evidence)
                .map_err(|stop| stop.in_phase(phase))?;
            if !holds {
                return Err(Stop::new(
                    StopCode::InvariantFailed,
                    format!("predicate {name} ({checkpoint} {phase}) does not hold: {detail}"),
                )
                .in_phase(phase));
            }
            results.push(GateResult {
                name,
                checkpoint,
                holds,
                detail,
                ms: started.elapsed().as_millis() as u64,
            });
        }
        Ok(results)
    }
}
