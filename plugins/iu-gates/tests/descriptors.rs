//! The gates each iu-cut phase component declares in its descriptor
//! (`iu_phases::gates`, passed to `phase_plugin!` by `iu-cut-phases`) are
//! exactly the gates plans/iu-cut.toml binds to that phase: the predicates
//! its gate plugin (this crate) declares for the phase, plus the plan's own
//! `gates_before` / `gates_after`.

use phasehost_sdk::{Checkpoint, PredicateDecl};

fn plan() -> toml::Table {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../plans/iu-cut.toml");
    std::fs::read_to_string(path)
        .expect("plans/iu-cut.toml")
        .parse()
        .expect("the plan is TOML")
}

fn names(list: Option<&toml::Value>) -> Vec<String> {
    list.and_then(|v| v.as_array())
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// The gates `plan` binds to `phase` at `checkpoint`, given the predicates
/// of its gate plugins.
fn bound(
    plan: &toml::Table,
    predicates: &[PredicateDecl],
    phase: &str,
    at: Checkpoint,
) -> Vec<String> {
    let mut out: Vec<String> = predicates
        .iter()
        .filter(|p| p.phase == phase && p.checkpoint == at)
        .map(|p| p.name.to_string())
        .collect();
    let spec = plan["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"].as_str() == Some(phase))
        .unwrap_or_else(|| panic!("the plan has no phase `{phase}`"));
    let key = match at {
        Checkpoint::Before => "gates_before",
        Checkpoint::After => "gates_after",
    };
    out.extend(names(spec.get(key)));
    out
}

fn declared(phase: &str, at: Checkpoint) -> Vec<String> {
    let list = match at {
        Checkpoint::Before => iu_phases::gates::before(phase),
        Checkpoint::After => iu_phases::gates::after(phase),
    };
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_plan_loads_this_gate_plugin_only_and_runs_the_iu_cut_phases() {
    let plan = plan();
    let gates = plan["gates"].as_array().unwrap();
    assert_eq!(gates.len(), 1, "the test assumes one gate plugin");
    assert!(
        gates[0]["component"]
            .as_str()
            .unwrap()
            .ends_with("/iu_gates.wasm")
    );
    let phases: Vec<&str> = plan["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(phases, iu_phases::PHASES);
}

#[test]
fn every_phase_declares_exactly_the_gates_the_plan_binds_to_it() {
    let plan = plan();
    for phase in iu_phases::PHASES {
        for at in [Checkpoint::Before, Checkpoint::After] {
            assert_eq!(
                declared(phase, at),
                bound(&plan, iu_gates::PREDICATES, phase, at),
                "{phase} {at:?}"
            );
        }
    }
}

#[test]
fn a_declared_gate_the_plan_does_not_bind_is_caught() {
    // The comparison above is not vacuous: the same check on a predicate
    // table missing one predicate (so the plan would not bind it) differs.
    let plan = plan();
    let fewer: Vec<PredicateDecl> = iu_gates::PREDICATES
        .iter()
        .filter(|p| p.name != "G-PLAN-NO-BIDI-CONTROLS")
        .copied()
        .collect();
    assert_ne!(
        declared("cutplan", Checkpoint::After),
        bound(&plan, &fewer, "cutplan", Checkpoint::After)
    );
    assert!(iu_phases::gates::before("no-such-phase").is_empty());
}

#[test]
fn every_predicate_guards_a_phase_of_the_plan() {
    for p in iu_gates::PREDICATES {
        assert!(
            iu_phases::PHASES.contains(&p.phase),
            "{} guards `{}`",
            p.name,
            p.phase
        );
    }
    assert_eq!(iu_gates::PREDICATES.len(), iu_gates::predicates::ALL.len());
}
