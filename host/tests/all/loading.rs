//! Loading plans and plugins: pins, grants, malformed plans, gate purity,
//! the compile cache.

use crate::support::*;
use phasehost::StopCode;
use phasehost::plan::{PlanError, load_plan};
use phasehost::runtime::{CacheOutcome, LoadError, Runtime};
use phasehost_test_artifacts::*;

#[test]
fn a_good_plan_loads_every_plugin() {
    let plan = source_pin_plan(SOURCE_PIN_GRANTS).load();
    let runtime = runtime();
    let phase = runtime.load_phase(&plan, &plan.phases[0]).unwrap();
    assert_eq!(phase.info().sha256, sha256_file(SOURCE_PIN_COMPONENT));
    assert!(phase.info().diff.unused.is_empty());
    assert!(phase.info().diff.ambient.is_empty(), "built without WASI");
    let gate = runtime.load_gate(&plan, &plan.gates[0]).unwrap();
    assert!(
        gate.predicates()
            .iter()
            .any(|p| p.name == "G-SOURCE-SHA-PINNED")
    );
}

#[test]
fn a_sha_mismatch_is_refused() {
    let plan = source_pin_plan(SOURCE_PIN_GRANTS);
    let good = sha256_file(SOURCE_PIN_COMPONENT);
    let wrong = format!(
        "{}{}",
        &good[..63],
        if good.ends_with('0') { '1' } else { '0' }
    );
    plan.rewrite(|t| t.replace(&good, &wrong));
    let plan = plan.load();
    let err = runtime().load_phase(&plan, &plan.phases[0]).err().unwrap();
    assert!(matches!(err, LoadError::DigestMismatch { .. }), "{err}");
    assert_eq!(err.stop_code(), StopCode::PluginDigestMismatch);
    assert!(err.to_string().contains(&wrong) && err.to_string().contains(&good));
}

#[test]
fn an_unpinned_component_is_refused() {
    let plan = source_pin_plan(SOURCE_PIN_GRANTS);
    let good = sha256_file(SOURCE_PIN_COMPONENT);
    plan.rewrite(|t| t.replace(&format!("sha256 = \"{good}\""), "sha256 = \"\""));
    let plan = plan.load();
    let err = runtime().load_phase(&plan, &plan.phases[0]).err().unwrap();
    assert!(matches!(err, LoadError::NotPinned { .. }), "{err}");
}

#[test]
fn an_ungranted_import_is_refused_with_a_diff() {
    // source_pin imports `source`, `store-read` and `log`; withhold `source`.
    let file = TestPlan::write(
        &[],
        &[PhaseDef::new("source_pin", SOURCE_PIN_COMPONENT)
            .grants("log = true\nstore = { source_versions = \"r\" }")],
        "",
    );
    let phase_line = file.text().lines().position(|l| l == "[[phases]]").unwrap() + 1;
    let plan = file.load();
    let err = runtime().load_phase(&plan, &plan.phases[0]).err().unwrap();
    assert_eq!(err.stop_code(), StopCode::GrantExceeded);
    let text = err.to_string();
    assert!(text.contains("imports: source, store-read, log"), "{text}");
    assert!(text.contains("granted: store-read, log"), "{text}");
    assert!(
        text.contains("not granted: phasehost:plugin/source@0.1.0"),
        "{text}"
    );
    assert!(text.contains("phase \"source_pin\""), "{text}");
    assert!(
        text.contains(&format!("plan.toml line {phase_line})")),
        "the plan line of the phase: {text}"
    );
    assert!(text.contains("source = true"), "the line to add: {text}");
}

#[test]
fn a_malformed_plan_is_refused_with_its_line() {
    let plan = source_pin_plan(SOURCE_PIN_GRANTS);
    plan.rewrite(|t| t.replace("source = true", "source = yes"));
    let err = load_plan(&plan.path).unwrap_err();
    let PlanError::Syntax { line, .. } = &err else {
        panic!("expected a syntax error: {err}")
    };
    let expected = plan
        .text()
        .lines()
        .position(|l| l.contains("source = yes"))
        .unwrap()
        + 1;
    assert_eq!(*line, expected);
    assert!(
        err.to_string().contains(&format!("plan.toml:{expected}:")),
        "{err}"
    );
}

#[test]
fn a_gate_plugin_with_an_import_is_refused() {
    let plan = TestPlan::write(
        &[("impure", TEST_GATE_IMPORT_COMPONENT)],
        &[PhaseDef::new("alpha", TEST_PROBE_COMPONENT)],
        "",
    )
    .load();
    let err = runtime().load_gate(&plan, &plan.gates[0]).err().unwrap();
    assert_eq!(err.stop_code(), StopCode::GrantExceeded);
    assert!(
        err.to_string().contains("phasehost:plugin/log@0.1.0"),
        "{err}"
    );
    assert!(err.to_string().contains("must import nothing"), "{err}");
}

#[test]
fn a_file_that_is_not_a_component_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.wasm");
    std::fs::write(&fake, b"\0asm\x01\0\0\0garbage").unwrap();
    let fake = fake.display().to_string();
    let plan = TestPlan::write(&[], &[PhaseDef::new("alpha", &fake)], "").load();
    let err = runtime().load_phase(&plan, &plan.phases[0]).err().unwrap();
    assert_eq!(err.stop_code(), StopCode::PluginInvalid, "{err}");
}

#[test]
fn the_second_start_comes_from_the_compile_cache() {
    let cache = tempfile::tempdir().unwrap();
    let plan = source_pin_plan(SOURCE_PIN_GRANTS).load();
    let first = Runtime::new(cache.path()).unwrap();
    let loaded = first.load_phase(&plan, &plan.phases[0]).unwrap();
    assert_eq!(loaded.info().cache, CacheOutcome::Compiled);
    drop(first);
    let second = Runtime::new(cache.path()).unwrap();
    let loaded = second.load_phase(&plan, &plan.phases[0]).unwrap();
    assert_eq!(loaded.info().cache, CacheOutcome::Hit);
}

#[test]
fn a_corrupt_cache_entry_is_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    let plan = source_pin_plan(SOURCE_PIN_GRANTS).load();
    Runtime::new(cache.path())
        .unwrap()
        .load_phase(&plan, &plan.phases[0])
        .unwrap();
    for entry in std::fs::read_dir(cache.path()).unwrap() {
        std::fs::write(entry.unwrap().path(), b"corrupt").unwrap();
    }
    let runtime = Runtime::new(cache.path()).unwrap();
    let loaded = runtime.load_phase(&plan, &plan.phases[0]).unwrap();
    assert!(
        matches!(loaded.info().cache, CacheOutcome::Recompiled { .. }),
        "{:?}",
        loaded.info().cache
    );
}

/// Every plugin the build produces is exercised: the iu-cut set through the
/// bundled plan (tests in iu_cut.rs and corpus.rs), the others by name in
/// these tests. A new plugin without a test fails here.
#[test]
fn every_plugin_has_a_test() {
    let plan = [
        include_str!("../../../plans/iu-cut.toml"),
        include_str!("../../../examples/csv-rows/plan.toml"),
    ]
    .concat();
    let sources = [
        include_str!("sandbox.rs"),
        include_str!("orchestrator.rs"),
        include_str!("safety.rs"),
        include_str!("source_pin.rs"),
        include_str!("loading.rs"),
        include_str!("wiring.rs"),
    ]
    .concat();
    for (crate_name, path) in ALL_PLUGINS {
        let file = std::path::Path::new(path)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let constant = format!("{}_COMPONENT", crate_name.to_uppercase().replace('-', "_"));
        let in_plan = plan.contains(&format!("target/plugins/{file}\""));
        let by_name = sources.contains(&constant);
        assert!(in_plan || by_name, "plugin `{crate_name}` has no test");
    }
}
