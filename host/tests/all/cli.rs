//! The `phasehost` binary: check, audit, exit statuses.

use crate::support::*;
use phasehost::StopCode;
use phasehost_test_artifacts::*;

#[test]
fn check_passes_a_good_plan() {
    let plan = source_pin_plan(SOURCE_PIN_GRANTS);
    let (status, out, err) = phasehost(&["check", plan.path.to_str().unwrap()]);
    assert_eq!(status, 0, "{out}{err}");
    assert!(out.contains("would load"), "{out}");
}

#[test]
fn check_fails_with_a_diff_when_a_grant_is_withheld() {
    let plan = source_pin_plan("log = true");
    let (status, out, _) = phasehost(&["check", plan.path.to_str().unwrap()]);
    assert_eq!(status, StopCode::GrantExceeded.exit_status());
    assert!(
        out.contains("not granted: phasehost:plugin/source@0.1.0"),
        "{out}"
    );
    assert!(out.contains("source = true"), "{out}");
}

#[test]
fn audit_json_lists_imports_and_grants() {
    let plan = source_pin_plan(
        "source = true\nlog = true\nstore = { source_versions = \"r\", units = \"r\" }",
    );
    let (status, out, err) = phasehost(&["audit", plan.path.to_str().unwrap(), "--json"]);
    assert_eq!(status, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let plugins = report["plugins"].as_array().unwrap();
    assert_eq!(plugins.len(), 2);
    let gate = &plugins[0];
    assert_eq!(gate["role"], "gate");
    assert_eq!(gate["plugin"]["imports"].as_array().unwrap().len(), 0);
    let phase = &plugins[1]["plugin"];
    let imports: Vec<&str> = phase["imports"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "capability")
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(imports, ["source", "store-read", "log"]);
    assert_eq!(phase["grants"]["store"]["units"], "r");
    assert!(phase["diff"]["unused"].as_array().unwrap().is_empty());
    assert!(phase["diff"]["missing"].as_array().unwrap().is_empty());
    assert_eq!(phase["sha256"], sha256_file(SOURCE_PIN_COMPONENT).as_str());
    assert_eq!(phase["limits"]["memory_mib"], 64);
}

#[test]
fn audit_text_shows_a_refusal() {
    let plan = source_pin_plan("log = true");
    let (status, out, _) = phasehost(&["audit", plan.path.to_str().unwrap()]);
    assert_eq!(status, StopCode::GrantExceeded.exit_status());
    assert!(out.contains("REFUSED    grant-exceeded"), "{out}");
}

#[test]
fn a_malformed_plan_exits_plan_invalid_with_its_line() {
    let plan = source_pin_plan(SOURCE_PIN_GRANTS);
    plan.rewrite(|t| t.replace("[plan]", "[plan"));
    let (status, _, err) = phasehost(&["check", plan.path.to_str().unwrap()]);
    assert_eq!(status, StopCode::PlanInvalid.exit_status(), "{err}");
    assert!(err.contains("plan.toml:1:"), "{err}");
    assert_eq!(
        err.matches("plan-invalid").count(),
        1,
        "printed once: {err}"
    );
}

#[test]
fn a_digest_typed_on_the_command_line_is_refused() {
    let digest = sha256_file(SOURCE_PIN_COMPONENT);
    let (status, _, err) = phasehost(&["check", &digest]);
    assert_eq!(status, StopCode::ArgumentRefused.exit_status(), "{err}");
}
