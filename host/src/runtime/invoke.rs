//! Running a phase and evaluating gate predicates: a fresh `Store` per call,
//! with the memory limiter and the epoch deadline; every failure becomes a
//! typed stop, never a host panic.

use super::engine::deadline_ticks;
use super::limiter::RunLimiter;
use super::loaded::{Described, LoadedGate, LoadedPhase, Predicate, Verdict};
use super::state::{GateState, Incident, LogLine, PhaseState, RunServices};
use crate::bindings::gate::GatePluginPre;
use crate::bindings::gate::exports::phasehost::plugin::gate as wit_gate;
use crate::bindings::phase::exports::phasehost::plugin::phase as wit_phase;
use crate::bindings::phase::phasehost::plugin::types::Evidence as WitEvidence;
use crate::plan::{Limits, OnDenied};
use crate::stop::{Stop, StopCode};
use wasmtime::{Engine, Store, Trap};

/// What the host hands a phase.
#[derive(Debug, Clone)]
pub struct PhaseInput {
    /// The run id.
    pub run_id: String,
    /// The document id.
    pub document_id: String,
    /// The document version label.
    pub version: String,
    /// Whether store writes will be rolled back.
    pub dry_run: bool,
    /// The phase's config (JSON object text).
    pub config: String,
    /// Evidence of earlier phases: (phase, JSON).
    pub evidence: Vec<(String, String)>,
}

/// The result of one phase run.
#[derive(Debug)]
pub struct PhaseRun {
    /// Evidence JSON, or why the phase stopped.
    pub outcome: Result<serde_json::Value, Stop>,
    /// Log lines the plugin emitted (already scanned).
    pub log: Vec<LogLine>,
    /// What the host refused during the run.
    pub incidents: Vec<Incident>,
    /// How many capability calls were denied (with `on_denied = "record"`
    /// the run goes on, and the runner records them).
    pub denied_calls: u64,
}

fn wasm_failure(error: &wasmtime::Error, memory_refused: bool, deadline_ms: u64) -> Stop {
    let trap = error.downcast_ref::<Trap>();
    if trap == Some(&Trap::Interrupt) {
        return Stop::new(
            StopCode::PluginDeadline,
            format!("ran past its deadline of {deadline_ms} ms"),
        );
    }
    if memory_refused {
        return Stop::new(
            StopCode::PluginOutOfMemory,
            "trapped after its memory limit was reached",
        );
    }
    // Only the trap's own (host-written) text: the backtrace carries the
    // plugin's symbol names, which are plugin-provided text.
    let text = match trap {
        Some(trap) => trap.to_string(),
        None => error.to_string(),
    };
    match super::plugin_text::shown(&text) {
        Ok(text) => Stop::new(StopCode::PluginTrap, format!("trapped: {text}")),
        Err(finding) => Stop::new(
            StopCode::SecretDetected,
            format!("the plugin's trap message was secret-shaped ({finding}); it is withheld"),
        ),
    }
}

fn refusal_code(kind: wit_phase::RefusalKind) -> StopCode {
    use wit_phase::RefusalKind as K;
    match kind {
        K::EmptyInput => StopCode::EmptySource,
        K::BadEncoding => StopCode::BadEncoding,
        K::UnknownDocument => StopCode::UnknownDocument,
        K::DuplicateDocument => StopCode::DuplicateDocument,
        K::CapExceeded => StopCode::CapExceeded,
        K::InvariantFailed => StopCode::InvariantFailed,
        K::GrantMismatch => StopCode::GrantMismatch,
        K::CapabilityFailed => StopCode::CapabilityDenied,
    }
}

/// Incidents that stop a run even when the plugin carried on (or that
/// made the host end it): over budget first, then the kill-switch, a
/// secret, and a denied call unless the plan says to only record those.
fn incident_stop(state: &PhaseState, location: &str) -> Option<Stop> {
    let incidents = &state.incidents;
    let over = incidents.iter().find_map(|i| match i {
        Incident::OverBudget(exceeded) => Some(Stop::new(
            StopCode::PluginOutputTooLarge,
            format!("{exceeded}; raise it in [phases.limits] at {location} only if the input justifies it"),
        )),
        _ => None,
    });
    let other = || {
        incidents.iter().find_map(|i| match i {
            Incident::Killed(reason) => Some(Stop::new(
                StopCode::KillSwitch,
                format!("a mutation was stopped by the kill-switch: {reason}"),
            )),
            Incident::Secret(what) => Some(Stop::new(
                StopCode::SecretDetected,
                format!("secret-shaped data refused: {what}"),
            )),
            _ => None,
        })
    };
    let denied = || {
        if state.on_denied != OnDenied::Stop {
            return None;
        }
        incidents.iter().find_map(|i| match i {
            Incident::Denied(what) => Some(Stop::new(
                StopCode::CapabilityDenied,
                format!(
                    "the phase called {what} without a grant ({} denied call(s)); grant it in the phase's [phases.grants] at {location}, or set on_denied = \"record\" there while developing the plugin",
                    state.denied
                ),
            )),
            _ => None,
        })
    };
    over.or_else(other).or_else(denied)
}

/// The state of a plugin's store: it carries the memory limiter.
trait Limited: 'static {
    fn limiter(&mut self) -> &mut RunLimiter;
    fn memory_refused(&self) -> bool;
}

impl Limited for PhaseState {
    fn limiter(&mut self) -> &mut RunLimiter {
        &mut self.limiter
    }
    fn memory_refused(&self) -> bool {
        self.limiter.memory_refused
    }
}

impl Limited for GateState {
    fn limiter(&mut self) -> &mut RunLimiter {
        &mut self.limiter
    }
    fn memory_refused(&self) -> bool {
        self.limiter.memory_refused
    }
}

/// A fresh store for one call: `state`, its memory limiter and the epoch
/// deadline of `limits`.
fn fresh_store<T: Limited>(engine: &Engine, state: T, limits: &Limits) -> Store<T> {
    let mut store = Store::new(engine, state);
    store.limiter(|s| s.limiter());
    store.set_epoch_deadline(deadline_ticks(limits.deadline_ms));
    store.epoch_deadline_trap();
    store
}

/// Why a call into the plugin failed, given what its store's limiter saw.
fn store_failure<T: Limited>(error: &wasmtime::Error, store: &Store<T>, limits: &Limits) -> Stop {
    wasm_failure(error, store.data().memory_refused(), limits.deadline_ms)
}

fn to_wit_evidence(evidence: &[(String, String)]) -> Vec<WitEvidence> {
    evidence
        .iter()
        .map(|(phase, json)| WitEvidence {
            phase: phase.clone(),
            json: json.clone(),
        })
        .collect()
}

impl LoadedPhase {
    /// Instantiate in a fresh store (as `run` does) and call `describe`:
    /// the plugin's name, version and the gate predicates it declares.
    pub fn describe(&self, engine: &Engine, services: &RunServices) -> Result<Described, Stop> {
        let mut store = self.fresh_store(engine, services);
        let described = self
            .pre
            .instantiate(&mut store)
            .and_then(|plugin| plugin.phasehost_plugin_phase().call_describe(&mut store));
        described
            .map(|d| Described {
                name: d.name,
                version: d.version,
                gates_before: d.gates_before,
                gates_after: d.gates_after,
            })
            .map_err(|error| store_failure(&error, &store, &self.info.limits))
    }

    /// A fresh store with this phase's grants, limits and the run's services.
    fn fresh_store(&self, engine: &Engine, services: &RunServices) -> Store<PhaseState> {
        let state = PhaseState::new(
            &self.phase_name,
            self.info.grants.clone(),
            self.info.limits,
            self.info.on_denied,
            services.clone(),
        );
        fresh_store(engine, state, &self.info.limits)
    }

    /// Run the phase once in a fresh store.
    pub fn run(&self, engine: &Engine, services: &RunServices, input: &PhaseInput) -> PhaseRun {
        let name = self.phase_name.clone();
        let limits = self.info.limits;
        let mut store = self.fresh_store(engine, services);

        let wit_input = wit_phase::PhaseInput {
            run_id: input.run_id.clone(),
            document_id: input.document_id.clone(),
            version: input.version.clone(),
            dry_run: input.dry_run,
            config: input.config.clone(),
            evidence: to_wit_evidence(&input.evidence),
        };
        let called = self.pre.instantiate(&mut store).and_then(|plugin| {
            plugin
                .phasehost_plugin_phase()
                .call_run(&mut store, &wit_input)
        });
        let state = store.into_data();
        let location = &self.info.plan_location;
        let outcome = match (called, incident_stop(&state, location)) {
            (_, Some(stop)) => Err(stop),
            (Err(error), None) => Err(wasm_failure(
                &error,
                state.limiter.memory_refused,
                limits.deadline_ms,
            )),
            (Ok(Ok(json)), None) => parse_evidence(&json, services, &limits, location),
            (Ok(Err(refusal)), None) => {
                let denied = state
                    .incidents
                    .iter()
                    .any(|i| matches!(i, Incident::Denied(_)));
                let code = if denied {
                    StopCode::CapabilityDenied
                } else {
                    refusal_code(refusal.kind)
                };
                Err(match super::plugin_text::shown(&refusal.message) {
                    Ok(message) => Stop::new(code, message),
                    Err(finding) => Stop::new(
                        StopCode::SecretDetected,
                        format!(
                            "the phase's refusal message was secret-shaped ({finding}); it is withheld"
                        ),
                    ),
                })
            }
        };
        PhaseRun {
            outcome: outcome.map_err(|stop| stop.in_phase(&name)),
            log: state.log,
            denied_calls: state.denied,
            incidents: state.incidents,
        }
    }
}

fn parse_evidence(
    json: &str,
    services: &RunServices,
    limits: &Limits,
    location: &str,
) -> Result<serde_json::Value, Stop> {
    // Size first: the host scans and parses only what the budget allows.
    if let Err(exceeded) = super::budget::check_evidence(limits, json.len()) {
        return Err(Stop::new(
            StopCode::PluginOutputTooLarge,
            format!(
                "the phase's evidence is too large: {exceeded}; raise it in [phases.limits] at {location} only if the input justifies it"
            ),
        ));
    }
    if let Err(finding) = services.scanner.scan(json) {
        return Err(Stop::new(
            StopCode::SecretDetected,
            format!("secret-shaped data in the phase's evidence: {finding}"),
        ));
    }
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value),
        _ => Err(Stop::new(
            StopCode::PluginTrap,
            "the phase returned evidence that is not a JSON object",
        )),
    }
}

fn gate_store(engine: &Engine, limits: &Limits) -> Store<GateState> {
    let state = GateState {
        limiter: RunLimiter::new(limits.memory_mib as usize * (1 << 20)),
    };
    fresh_store(engine, state, limits)
}

/// Ask a gate plugin for its predicates.
pub(crate) fn list_predicates(
    engine: &Engine,
    pre: &GatePluginPre<GateState>,
    limits: Limits,
) -> Result<Vec<Predicate>, Stop> {
    let mut store = gate_store(engine, &limits);
    let listed = pre
        .instantiate(&mut store)
        .and_then(|plugin| plugin.phasehost_plugin_gate().call_predicates(&mut store));
    match listed {
        Ok(list) => list
            .into_iter()
            .map(|p| {
                let plain = |s: &str| {
                    !s.is_empty()
                        && s.len() <= 64
                        && s.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
                };
                if !plain(&p.name) || !plain(&p.phase) {
                    return Err(Stop::new(
                        StopCode::PluginInvalid,
                        "a predicate or phase name is not a plain name of at most 64 characters",
                    ));
                }
                let description = super::plugin_text::shown(&p.description).map_err(|f| {
                    Stop::new(
                        StopCode::SecretDetected,
                        format!("predicate {} has a secret-shaped description ({f})", p.name),
                    )
                })?;
                Ok(Predicate {
                    name: p.name,
                    description,
                    phase: p.phase,
                    checkpoint: match p.checkpoint {
                        wit_gate::Checkpoint::Before => "before",
                        wit_gate::Checkpoint::After => "after",
                    },
                })
            })
            .collect(),
        Err(error) => Err(store_failure(&error, &store, &limits)),
    }
}

impl LoadedGate {
    /// Evaluate predicate `name` over `evidence` in a fresh store. An error
    /// from the plugin or a trap is a stop (fail closed); the caller decides
    /// what a false verdict means.
    pub fn evaluate(
        &self,
        engine: &Engine,
        name: &str,
        evidence: &[(String, String)],
    ) -> Result<Verdict, Stop> {
        let limits = self.info.limits;
        let mut store = gate_store(engine, &limits);
        let wit_evidence: Vec<wit_gate::Evidence> = to_wit_evidence(evidence)
            .into_iter()
            .map(|e| wit_gate::Evidence {
                phase: e.phase,
                json: e.json,
            })
            .collect();
        let called = self.pre.instantiate(&mut store).and_then(|plugin| {
            plugin
                .phasehost_plugin_gate()
                .call_evaluate(&mut store, name, &wit_evidence)
        });
        match called {
            Ok(Ok(v)) => {
                if let Err(exceeded) = super::budget::check_evidence(&limits, v.detail.len()) {
                    return Err(Stop::new(
                        StopCode::PluginOutputTooLarge,
                        format!("predicate {name} returned a detail that is too large: {exceeded}"),
                    ));
                }
                match super::plugin_text::shown(&v.detail) {
                    Ok(detail) => Ok(Verdict {
                        holds: v.holds,
                        detail,
                    }),
                    Err(finding) => Err(Stop::new(
                        StopCode::SecretDetected,
                        format!(
                            "predicate {name} returned a secret-shaped detail ({finding}); it is withheld"
                        ),
                    )),
                }
            }
            Ok(Err(message)) => Err(match super::plugin_text::shown(&message) {
                Ok(message) => Stop::new(
                    StopCode::InvariantFailed,
                    format!("predicate {name} could not be evaluated: {message}"),
                ),
                Err(finding) => Stop::new(
                    StopCode::SecretDetected,
                    format!(
                        "predicate {name} failed with a secret-shaped message ({finding}); it is withheld"
                    ),
                ),
            }),
            Err(error) => {
                let cause = store_failure(&error, &store, &limits);
                Err(Stop::new(
                    if cause.code == StopCode::SecretDetected {
                        StopCode::SecretDetected
                    } else {
                        StopCode::InvariantFailed
                    },
                    format!("predicate {name} failed closed: {}", cause.message),
                ))
            }
        }
    }
}
