//! Each built iu-cut phase component describes itself with its phase name
//! and exactly the gates plans/iu-cut.toml binds to it (`iu_phases::gates`,
//! which iu-gates' `tests/descriptors.rs` checks against the plan), so the
//! descriptor and the plan agree. `describe` is called on the component
//! itself, with every import a trap (describe needs none).

use phasehost_test_artifacts::ALL_PLUGINS;
use wasmtime::component::{Component, Linker, Val};
use wasmtime::{Engine, Store};

/// `describe()` of the phase component at `path`: (name, gates before, gates after).
fn describe(engine: &Engine, path: &str) -> (String, Vec<String>, Vec<String>) {
    let component = Component::from_file(engine, path).unwrap();
    let mut linker = Linker::<()>::new(engine);
    linker.define_unknown_imports_as_traps(&component).unwrap();
    let mut store = Store::new(engine, ());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let phase = instance
        .get_export_index(&mut store, None, "phasehost:plugin/phase@0.1.0")
        .expect("exports phase");
    let index = instance
        .get_export_index(&mut store, Some(&phase), "describe")
        .expect("exports describe");
    let func = instance.get_func(&mut store, index).unwrap();
    let mut results = [Val::Bool(false)];
    func.call(&mut store, &[], &mut results).unwrap();
    let Val::Record(fields) = &results[0] else {
        panic!("describe returned {:?}", results[0]);
    };
    let field = |name: &str| &fields.iter().find(|(n, _)| n == name).unwrap().1;
    let strings = |v: &Val| -> Vec<String> {
        let Val::List(items) = v else { panic!("{v:?}") };
        items
            .iter()
            .map(|i| match i {
                Val::String(s) => s.clone(),
                other => panic!("{other:?}"),
            })
            .collect()
    };
    let Val::String(name) = field("name") else {
        panic!("name")
    };
    (
        name.clone(),
        strings(field("gates-before")),
        strings(field("gates-after")),
    )
}

#[test]
fn every_iu_cut_phase_declares_the_gates_the_plan_binds_to_it() {
    let engine = Engine::default();
    for phase in iu_phases::PHASES {
        let plugin = phase.replace('_', "-");
        let (_, path) = ALL_PLUGINS
            .iter()
            .find(|(name, _)| *name == plugin)
            .unwrap_or_else(|| panic!("no component `{plugin}`"));
        let (name, before, after) = describe(&engine, path);
        assert_eq!(name, phase);
        assert_eq!(before, iu_phases::gates::before(phase), "{phase} before");
        assert_eq!(after, iu_phases::gates::after(phase), "{phase} after");
        assert!(
            !before.is_empty() || !after.is_empty(),
            "{phase} declares gates"
        );
    }
}
