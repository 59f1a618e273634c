//! The load-time refusals that name the authoring fix (a core module: `phasehost
//! component`; a gate or phase importing WASI: `phasehost build`), and the
//! authoring commands `component` and `wit`.

use crate::support::*;
use crate::wit_versions::dummy_component;
use phasehost::StopCode;
use phasehost_test_artifacts::*;
use std::path::{Path, PathBuf};
use wit_parser::Resolve;

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
fn a_phase_importing_wasi_the_host_does_not_link_is_refused_naming_the_zero_wasi_build() {
    let dir = tempfile::tempdir().unwrap();
    let wit = dir.path().join("wit");
    std::fs::create_dir_all(&wit).unwrap();
    for (name, text) in phasehost::author::wit::FILES {
        std::fs::write(wit.join(name), text).unwrap();
    }
    let mut resolve = Resolve::default();
    resolve.push_dir(&wit).unwrap();
    let package = resolve
        .push_str(
            "w.wit",
            "package wasi:nothost@0.2.0;\n\
             interface missing { f: func(); }\n\
             world w { import missing; export phasehost:plugin/phase@0.1.0; }\n",
        )
        .unwrap();
    let world = resolve.select_world(&[package], Some("w")).unwrap();
    let component = dummy_component(&resolve, world);
    let path = dir.path().join("p.wasm");
    std::fs::write(&path, component).unwrap();
    let plan = TestPlan::write(&[], &[PhaseDef::new("p", path.to_str().unwrap())], "").load();
    let err = runtime().load_phase(&plan, &plan.phases[0]).err().unwrap();
    assert_eq!(err.stop_code(), StopCode::PluginInvalid, "{err}");
    let text = err.to_string();
    assert!(text.contains("cannot be linked"), "{text}");
    assert!(text.contains("wasi:nothost/missing@0.2.0"), "{text}");
    assert!(
        text.contains("phasehost build <crate-dir>"),
        "the fix: {text}"
    );
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
