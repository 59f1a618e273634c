//! The WIT package version a component was built against, checked at load;
//! and the load-time refusals that name the authoring fix (a core module, a
//! gate that imports WASI).

use crate::support::*;
use phasehost::StopCode;
use phasehost::runtime::LoadError;
use phasehost_test_artifacts::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use wit_parser::{LiftLowerAbi, ManglingAndAbi, Resolve};

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
    let world = resolve.select_world(&[package], Some(world)).unwrap();
    let mut module =
        wit_component::dummy_module(&resolve, world, ManglingAndAbi::Legacy(LiftLowerAbi::Sync));
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .unwrap();
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap();
    let path = dir.join(format!("{world:?}-{version}.wasm").replace(['(', ')', ' '], ""));
    std::fs::write(&path, component).unwrap();
    path
}

fn gate_plan(component: &Path) -> TestPlan {
    let component = component.to_str().unwrap();
    TestPlan::write(
        &[("g", component)],
        &[PhaseDef::new("alpha", TEST_PROBE_COMPONENT)],
        "",
    )
}

fn phasehost(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_phasehost"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
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

/// The core module the plugin build encoded into `component`.
fn core_module_of(component: &str) -> PathBuf {
    let component = Path::new(component);
    let name = component.file_name().unwrap();
    component
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("plugins-target/wasm32-unknown-unknown/release")
        .join(name)
}

#[test]
fn a_core_module_is_refused_naming_phasehost_component_which_encodes_it() {
    let core = core_module_of(IU_GATES_COMPONENT);
    let core_str = core.to_str().unwrap();
    let plan = TestPlan::write(
        &[("iu-gates", core_str)],
        &[PhaseDef::new("alpha", TEST_PROBE_COMPONENT)],
        "",
    )
    .load();
    let err = runtime().load_gate(&plan, &plan.gates[0]).err().unwrap();
    assert_eq!(err.stop_code(), StopCode::PluginInvalid);
    let text = err.to_string();
    assert!(
        text.contains("core WebAssembly module, not a component"),
        "{text}"
    );
    assert!(
        text.contains(&format!("phasehost component {core_str} -o")),
        "the fix: {text}"
    );
    assert!(
        !text.contains("component parser"),
        "wasmtime's words: {text}"
    );

    // The fix: the same encoder as the plugin build, byte for byte.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("iu_gates.wasm");
    let (status, stdout, stderr) =
        phasehost(&["component", core_str, "-o", out.to_str().unwrap(), "--json"]);
    assert_eq!(status, 0, "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let sha = sha256_file(IU_GATES_COMPONENT);
    assert_eq!(report["components"][0]["sha256"], sha.as_str());
    assert_eq!(sha256_file(out.to_str().unwrap()), sha);
    // An existing different file is not overwritten without --force.
    std::fs::write(&out, b"other").unwrap();
    let (status, stdout, _) =
        phasehost(&["component", core_str, "-o", out.to_str().unwrap(), "--json"]);
    assert_eq!(status, StopCode::AuthorRefused.exit_status(), "{stdout}");
    assert_eq!(std::fs::read(&out).unwrap(), b"other");
}

#[test]
fn a_gate_that_imports_wasi_is_refused_naming_the_zero_wasi_build() {
    // test-wasi-probe is built for wasm32-wasip2: it imports WASI.
    let plan = TestPlan::write(
        &[("probe", TEST_WASI_PROBE_COMPONENT)],
        &[PhaseDef::new("alpha", TEST_PROBE_COMPONENT)],
        "",
    )
    .load();
    let err = runtime().load_gate(&plan, &plan.gates[0]).err().unwrap();
    assert_eq!(err.stop_code(), StopCode::GrantExceeded);
    let text = err.to_string();
    assert!(text.contains("wasi:"), "{text}");
    assert!(text.contains("must import nothing"), "{text}");
    assert!(
        text.contains("phasehost build <crate-dir>"),
        "the fix: {text}"
    );
    assert!(!text.contains("more than the plan grants"), "{text}");
}

#[test]
fn phasehost_wit_writes_the_repository_s_wit_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("wit");
    let (status, stdout, stderr) = phasehost(&["wit", "--out", out.to_str().unwrap()]);
    assert_eq!(status, 0, "{stdout}{stderr}");
    let repo_wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&repo_wit).unwrap() {
        let name = entry.unwrap().file_name();
        assert_eq!(
            std::fs::read(out.join(&name)).unwrap(),
            std::fs::read(repo_wit.join(&name)).unwrap(),
            "{name:?}"
        );
        names.push(name);
    }
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), names.len());
    // A changed file is refused without --force, and kept.
    std::fs::write(out.join("gate.wit"), "mine").unwrap();
    let (status, _, stderr) = phasehost(&["wit", "--out", out.to_str().unwrap()]);
    assert_eq!(status, StopCode::AuthorRefused.exit_status(), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(out.join("gate.wit")).unwrap(),
        "mine"
    );
    let (status, _, _) = phasehost(&["wit", "--out", out.to_str().unwrap(), "--force"]);
    assert_eq!(status, 0);
    assert_eq!(
        std::fs::read(out.join("gate.wit")).unwrap(),
        std::fs::read(repo_wit.join("gate.wit")).unwrap()
    );
}
