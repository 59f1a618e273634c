//! Gate wiring, checked before anything runs (`check`, and the start of
//! `run`/`resume`/`batch`): every predicate a plan names is implemented, at
//! the checkpoint and phase its gate plugin declares; every predicate a
//! gate plugin declares is bound to a phase of the plan (or explicitly
//! left unbound); and every predicate a phase component declares in its
//! descriptor is bound there, so the declaration is enforced.

use super::gates::GateSet;
use crate::plan::{PhaseSpec, Plan};
use crate::runtime::state::RunServices;
use crate::runtime::{Described, LoadedGate, LoadedPhase, Runtime};
use crate::stop::{Stop, StopCode};

fn refuse(message: String) -> Stop {
    Stop::new(StopCode::PlanInvalid, message)
}

/// Check the wiring of `plan` with its loaded gate plugins and the
/// descriptors of its phases (`described[i]` is phase `i`'s).
pub fn check(plan: &Plan, gates: &GateSet, described: &[Described]) -> Result<(), Stop> {
    plan_bindings(plan, gates)?;
    plugin_bindings(plan, gates)?;
    for (phase, described) in plan.phases.iter().zip(described) {
        descriptor(plan, gates, phase, described)?;
    }
    Ok(())
}

/// Every `gates_before`/`gates_after` entry of the plan is a predicate a
/// gate plugin implements, declared for that phase and checkpoint.
fn plan_bindings(plan: &Plan, gates: &GateSet) -> Result<(), Stop> {
    for phase in &plan.phases {
        let at = plan.line_of("phase", &phase.name);
        for (key, checkpoint, names) in [
            ("gates_before", "before", &phase.gates_before),
            ("gates_after", "after", &phase.gates_after),
        ] {
            for name in names {
                let Some((plugin, predicate)) = gates.implementer(name) else {
                    return Err(refuse(format!(
                        "phase `{}` ({at}) {key} names predicate `{name}`, which no gate plugin of the plan implements (they implement: {}); remove it from {key}, or add the [[gates]] plugin that implements it",
                        phase.name,
                        known(gates)
                    )));
                };
                if predicate.phase != phase.name || predicate.checkpoint != checkpoint {
                    return Err(refuse(format!(
                        "phase `{}` ({at}) {key} names predicate `{name}`, but gate plugin `{plugin}` ({}) declares it for {} `{}`; bind it where the plugin declares it (or remove it from {key}: the plugin binds it there already)",
                        phase.name,
                        plan.line_of("gate", plugin),
                        predicate.checkpoint,
                        predicate.phase
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Every predicate a gate plugin declares guards a phase of the plan,
/// unless its `[[gates]]` entry lists it in `allow_unbound`; and every
/// `allow_unbound` name is a predicate of that plugin.
fn plugin_bindings(plan: &Plan, gates: &GateSet) -> Result<(), Stop> {
    for spec in &plan.gates {
        let at = plan.line_of("gate", &spec.name);
        for name in &spec.allow_unbound {
            let ours = gates
                .implementer(name)
                .is_some_and(|(plugin, _)| plugin == spec.name);
            if !ours {
                return Err(refuse(format!(
                    "gate plugin `{}` ({at}) allow_unbound names `{name}`, which is not one of its predicates; remove it from allow_unbound",
                    spec.name
                )));
            }
        }
    }
    for (plugin, predicate) in gates.predicates() {
        if plan.phase(&predicate.phase).is_some() {
            continue;
        }
        let allowed = plan
            .gates
            .iter()
            .find(|g| g.name == plugin)
            .is_some_and(|g| g.allow_unbound.contains(&predicate.name));
        if !allowed {
            return Err(refuse(format!(
                "gate plugin `{plugin}` ({}) binds predicate `{}` to {} phase `{}`, which the plan does not have, so it would never be evaluated; fix the phase name (plugin or plan), or, if this plan knowingly runs without that phase, add `allow_unbound = [\"{}\"]` to that [[gates]] entry",
                plan.line_of("gate", plugin),
                predicate.name,
                predicate.checkpoint,
                predicate.phase,
                predicate.name
            )));
        }
    }
    Ok(())
}

/// The phase component names the phase it is given (or claims no name: an
/// empty name is a generic component, such as the test probes), and the
/// predicates it declares are bound to that phase at that checkpoint, by
/// the plan or a gate plugin.
fn descriptor(
    plan: &Plan,
    gates: &GateSet,
    spec: &PhaseSpec,
    described: &Described,
) -> Result<(), Stop> {
    let phase = spec.name.as_str();
    if !described.name.is_empty() && described.name != phase {
        return Err(refuse(format!(
            "phase `{phase}` ({}) runs {}, whose descriptor says it is phase `{}`; point the phase at the component built for `{phase}` (or name the phase `{}` if that is the one meant), then `phasehost pin`",
            plan.line_of("phase", phase),
            spec.component.display(),
            described.name.escape_debug(),
            described.name.escape_debug()
        )));
    }
    for (checkpoint, key, declared, required) in [
        (
            "before",
            "gates_before",
            &described.gates_before,
            &spec.gates_before,
        ),
        (
            "after",
            "gates_after",
            &described.gates_after,
            &spec.gates_after,
        ),
    ] {
        let bound = gates.names_for(phase, checkpoint, required);
        for name in declared {
            if !bound.contains(name) {
                return Err(refuse(format!(
                    "the component of phase `{phase}` ({}) declares that predicate `{name}` must hold {checkpoint} it, but neither the plan's {key} nor any gate plugin binds `{name}` there, so it would not be enforced; add `{key} = [\"{name}\"]` to the phase with the [[gates]] plugin that implements it (or rebuild the component without that declaration)",
                    plan.line_of("phase", phase)
                )));
            }
        }
    }
    Ok(())
}

/// The predicate names the gate plugins implement, for messages.
fn known(gates: &GateSet) -> String {
    let names: Vec<&str> = gates.predicates().map(|(_, p)| p.name.as_str()).collect();
    if names.is_empty() {
        "no gate plugin, none".into()
    } else {
        names.join(", ")
    }
}

/// Describe every loaded phase (instantiating it in a fresh store with no
/// store, source or artifacts).
pub fn describe_all(
    runtime: &Runtime,
    phases: &[LoadedPhase],
    plan: &Plan,
) -> Result<Vec<Described>, Stop> {
    let services = RunServices {
        run_id: "describe".into(),
        source: None,
        store: None,
        scope: crate::store::Scope {
            document_id: "describe".into(),
        },
        artifacts_dir: None,
        artifacts_durability: crate::fsutil::Durability::Immediate,
        guard: std::sync::Arc::new(crate::runtime::state::AllowAll),
        scanner: std::sync::Arc::new(super::secret_scan::SecretScanner),
    };
    phases
        .iter()
        .zip(&plan.phases)
        .map(|(loaded, spec)| {
            loaded
                .describe(runtime.engine(), &services)
                .map_err(|stop| stop.in_phase(&spec.name))
        })
        .collect()
}

/// Load every gate plugin and phase of `plan` and check the wiring before
/// anything runs (a run's `assemble`).
pub fn load_checked(runtime: &Runtime, plan: &Plan) -> Result<(GateSet, Vec<LoadedPhase>), Stop> {
    let mut gates = Vec::new();
    for spec in &plan.gates {
        gates.push(runtime.load_gate(plan, spec).map_err(|e| e.to_stop())?);
    }
    let gates = GateSet::new(gates)?;
    let mut phases = Vec::new();
    for spec in &plan.phases {
        phases.push(
            runtime
                .load_phase(plan, spec)
                .map_err(|e| e.to_stop().in_phase(&spec.name))?,
        );
    }
    check_described(runtime, plan, &gates, &phases)?;
    Ok((gates, phases))
}

/// The wiring of plugins already loaded (the plan's gates and phases, in
/// plan order): `phasehost check`, after every plugin was shown to load.
pub fn check_loaded(
    runtime: &Runtime,
    plan: &Plan,
    gates: Vec<LoadedGate>,
    phases: Vec<LoadedPhase>,
) -> Result<(), Stop> {
    check_described(runtime, plan, &GateSet::new(gates)?, &phases)
}

/// Describe every phase and check the wiring against the gates.
fn check_described(
    runtime: &Runtime,
    plan: &Plan,
    gates: &GateSet,
    phases: &[LoadedPhase],
) -> Result<(), Stop> {
    let described = describe_all(runtime, phases, plan)?;
    check(plan, gates, &described)
}
