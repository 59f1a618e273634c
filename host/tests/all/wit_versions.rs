//! The WIT package version a component was built against, checked at load.

use crate::support::*;
use phasehost::StopCode;
use phasehost::runtime::LoadError;
use phasehost_test_artifacts::*;
use std::path::{Path, PathBuf};
use wit_parser::{LiftLowerAbi, ManglingAndAbi, Resolve, WorldId};

/// A component of `world` built against a copy of `wit/` whose package
/// version is `version`: wit-component's dummy module (every export traps),
/// with its world embedded, encoded as a component. Written into `dir`.
fn component_against(dir: &Path, version: &str, world: &str) -> PathBuf {
    let wit = dir.join(format!("wit-{version}"));
    std::fs::create_dir_all(&wit).unwrap();
    for (name, text) in phasehost::author::wit::FILES {
        let bumped = text.replace(
            "package phasehost:plugin@0.1.0;",
            &format!("package phasehost:plugin@{version};"),
        );
        assert_ne!(&bumped, text, "{name} declares the package version");
        std::fs::write(wit.join(name), bumped).unwrap();
    }
    let mut resolve = Resolve::default();
    let (package, _) = resolve.push_dir(&wit).unwrap();
    let world_id = resolve.select_world(&[package], Some(world)).unwrap();
    let component = dummy_component(&resolve, world_id);
    let path = dir.join(format!("{world}-{version}.wasm"));
    std::fs::write(&path, component).unwrap();
    path
}

/// wit-component's dummy module of `world` (every export traps), with the
/// world embedded, encoded as a component.
pub fn dummy_component(resolve: &Resolve, world: WorldId) -> Vec<u8> {
    let mut module =
        wit_component::dummy_module(resolve, world, ManglingAndAbi::Legacy(LiftLowerAbi::Sync));
    wit_component::embed_component_metadata(
        &mut module,
        resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .unwrap();
    wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap()
}

fn gate_plan(component: &Path) -> TestPlan {
    let component = component.to_str().unwrap();
    TestPlan::write(
        &[("g", component)],
        &[PhaseDef::new("alpha", TEST_PROBE_COMPONENT)],
        "",
    )
}

#[test]
fn a_gate_built_against_another_minor_or_major_is_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    for version in ["0.2.0", "1.1.0", "0.1.1-rc.1"] {
        let component = component_against(dir.path(), version, "gate-plugin");
        let plan = gate_plan(&component);
        let plan = plan.load();
        let err = runtime().load_gate(&plan, &plan.gates[0]).err().unwrap();
        assert!(
            matches!(err, LoadError::WitVersion { .. }),
            "{version}: {err}"
        );
        assert_eq!(err.stop_code(), StopCode::WitVersionMismatch);
        let text = err.to_string();
        assert!(
            text.contains(&format!("phasehost:plugin@{version}"))
                && text.contains("phasehost:plugin@0.1.0"),
            "both versions: {text}"
        );
        assert!(
            text.contains(&format!("phasehost:plugin/gate@{version}")),
            "{text}"
        );
        assert!(text.contains("phasehost wit --out"), "the fix: {text}");
    }
}

#[test]
fn a_phase_built_against_another_minor_stops_check_with_its_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let component = component_against(dir.path(), "0.2.0", "phase-plugin");
    let plan = TestPlan::write(&[], &[PhaseDef::new("p", component.to_str().unwrap())], "");
    let (status, out, err) = phasehost(&["check", plan.path.to_str().unwrap()]);
    assert_eq!(status, 47, "{out}{err}");
    assert_eq!(StopCode::WitVersionMismatch.exit_status(), 47);
    assert!(out.contains("0.2.0") && out.contains("0.1.0"), "{out}");
}

#[test]
fn a_compatible_patch_version_links() {
    // 0.1.7 is on the host's 0.1 track: the version check passes and
    // wasmtime links the gate; the dummy module then traps when asked for its
    // predicates, which is the next check.
    let dir = tempfile::tempdir().unwrap();
    let component = component_against(dir.path(), "0.1.7", "gate-plugin");
    let plan = gate_plan(&component).load();
    let err = runtime().load_gate(&plan, &plan.gates[0]).err().unwrap();
    assert_eq!(err.stop_code(), StopCode::PluginInvalid, "{err}");
    assert!(
        err.to_string().contains("listing its predicates failed"),
        "{err}"
    );
}
