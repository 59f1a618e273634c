//! The gate set: every predicate of every gate plugin, checked at the phase
//! boundaries, failing closed.

use crate::runtime::{LoadedGate, Predicate, Runtime, Verdict};
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

    /// The predicate `name` and the name of the gate plugin (`[[gates]]`)
    /// that implements it.
    pub fn implementer(&self, name: &str) -> Option<(&str, &Predicate)> {
        let gate = &self.gates[*self.by_name.get(name)?];
        let predicate = gate.predicates().iter().find(|p| p.name == name)?;
        Some((gate.info().name.as_str(), predicate))
    }

    /// Every predicate, with the name of the gate plugin that declares it.
    pub fn predicates(&self) -> impl Iterator<Item = (&str, &Predicate)> {
        self.gates
            .iter()
            .flat_map(|g| g.predicates().iter().map(|p| (g.info().name.as_str(), p)))
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
    /// that is unknown, errors, traps or is false stops the run; the
    /// failure carries the verdicts so far and the failing one, for the
    /// run folder.
    pub fn check(
        &self,
        runtime: &Runtime,
        phase: &str,
        checkpoint: &'static str,
        required: &[String],
        evidence: &[(String, String)],
    ) -> Result<Vec<GateResult>, GateFailure> {
        let mut results = Vec::new();
        for name in self.names_for(phase, checkpoint, required) {
            let started = std::time::Instant::now();
            let failed = |results: Vec<GateResult>, detail: String, message: String| {
                let mut results = results;
                results.push(GateResult {
                    name: name.clone(),
                    checkpoint,
                    holds: false,
                    detail,
                    ms: started.elapsed().as_millis() as u64,
                });
                GateFailure {
                    stop: Stop::new(StopCode::InvariantFailed, message).in_phase(phase),
                    results,
                }
            };
            let Some(&index) = self.by_name.get(&name) else {
                let why = "not implemented by any gate plugin: failing closed".to_string();
                let message = format!("predicate {name} ({checkpoint} {phase}) is {why}");
                return Err(failed(results, why, message));
            };
            let verdict = self.gates[index].evaluate(runtime.engine(), &name, evidence);
            let Verdict { holds, detail } = match verdict {
                Ok(verdict) => verdict,
                Err(stop) => {
                    let mut failure = failed(results, stop.message.clone(), String::new());
                    failure.stop = stop.in_phase(phase);
                    return Err(failure);
                }
            };
            if !holds {
                let message =
                    format!("predicate {name} ({checkpoint} {phase}) does not hold: {detail}");
                return Err(failed(results, detail, message));
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

/// A gate check that stopped the run: why, and every verdict up to and
/// including the failing one (last).
pub struct GateFailure {
    /// The stop.
    pub stop: Stop,
    /// The verdicts, the failing one last.
    pub results: Vec<GateResult>,
}
