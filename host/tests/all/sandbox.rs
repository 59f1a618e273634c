//! Hostile plugins: each gets stopped or gets nothing usable.

use crate::support::*;
use phasehost::StopCode;
use phasehost::runtime::state::Incident;
use phasehost_test_artifacts::*;
use serde_json::Value;

fn probe_plan(grants: &str, limits: &str) -> phasehost::plan::Plan {
    TestPlan::write(
        &[],
        &[PhaseDef::new("probe", TEST_PROBE_COMPONENT)
            .grants(grants)
            .limits(limits)],
        "",
    )
    .load()
}

const ALL_CAPS: &str = "source = true\nlog = true\nstore = { units = \"ri\" }\nartifacts = { \"backup.json\" = \"ri\" }";

#[test]
fn an_infinite_loop_is_stopped_by_the_deadline() {
    let plan = probe_plan(ALL_CAPS, "deadline_ms = 200");
    let run = run_phase(&plan, "probe", &services("r1", None), r#"{"mode":"spin"}"#);
    let stop = run.outcome.unwrap_err();
    assert_eq!(stop.code, StopCode::PluginDeadline, "{stop}");
    assert_eq!(stop.phase.as_deref(), Some("probe"));
}

#[test]
fn a_memory_bomb_is_stopped_by_the_limit() {
    let plan = probe_plan(ALL_CAPS, "memory_mib = 16");
    let run = run_phase(&plan, "probe", &services("r1", None), r#"{"mode":"grow"}"#);
    let stop = run.outcome.unwrap_err();
    assert_eq!(stop.code, StopCode::PluginOutOfMemory, "{stop}");
}

#[test]
fn a_panic_is_a_trap_not_a_host_crash() {
    let plan = probe_plan(ALL_CAPS, "");
    let run = run_phase(&plan, "probe", &services("r1", None), r#"{"mode":"trap"}"#);
    assert_eq!(run.outcome.unwrap_err().code, StopCode::PluginTrap);
}

fn probe_plan_recording(grants: &str) -> phasehost::plan::Plan {
    TestPlan::write(
        &[],
        &[PhaseDef::new("probe", TEST_PROBE_COMPONENT)
            .grants(grants)
            .head("on_denied = \"record\"")],
        "",
    )
    .load()
}

#[test]
fn a_store_write_without_the_grant_stops_the_phase_naming_the_plan_line() {
    // Granted read+insert on `units`; it tries to insert into `documents`.
    let plan = probe_plan(ALL_CAPS, "");
    let run = run_phase(
        &plan,
        "probe",
        &services("r1", None),
        r#"{"mode":"write","table":"documents","rows":[{"a":1}]}"#,
    );
    let stop = run
        .outcome
        .expect_err("a denied call stops the phase by default");
    assert_eq!(stop.code, StopCode::CapabilityDenied, "{stop}");
    assert!(
        stop.message.contains("insert on table `documents`"),
        "{stop}"
    );
    assert!(stop.message.contains("plan.toml line"), "{stop}");
    assert!(stop.message.contains("on_denied"), "{stop}");
}

#[test]
fn with_on_denied_record_a_denial_is_a_value_and_is_recorded() {
    let plan = probe_plan_recording(ALL_CAPS);
    let run = run_phase(
        &plan,
        "probe",
        &services("r1", None),
        r#"{"mode":"write","table":"documents","rows":[{"a":1}]}"#,
    );
    let evidence = run.outcome.expect("the plugin handles the denial");
    assert_eq!(evidence["error"], "access-denied", "{evidence}");
    assert!(
        evidence["message"]
            .as_str()
            .unwrap()
            .contains("insert on table `documents`")
    );
    assert_eq!(
        run.incidents,
        vec![Incident::Denied("insert on table `documents`".into())]
    );
    assert_eq!(run.denied_calls, 1);
}

#[test]
fn a_delete_without_the_delete_bit_is_denied() {
    let plan = probe_plan(ALL_CAPS, "");
    let run = run_phase(
        &plan,
        "probe",
        &services("r1", None),
        r#"{"mode":"delete","table":"units"}"#,
    );
    assert_eq!(run.outcome.unwrap_err().code, StopCode::CapabilityDenied);
    let plan = probe_plan_recording(ALL_CAPS);
    let run = run_phase(
        &plan,
        "probe",
        &services("r1", None),
        r#"{"mode":"delete","table":"units"}"#,
    );
    assert_eq!(run.outcome.unwrap()["error"], "access-denied");
}

#[test]
fn an_ungranted_artifact_name_is_denied() {
    let plan = probe_plan(ALL_CAPS, "");
    let run = run_phase(
        &plan,
        "probe",
        &services("r1", None),
        r#"{"mode":"artifact","name":"other.json","content":"x"}"#,
    );
    assert_eq!(run.outcome.unwrap_err().code, StopCode::CapabilityDenied);
}

fn wasi_probe(run_id: &str) -> Value {
    let plan = TestPlan::write(&[], &[PhaseDef::new("wasi", TEST_WASI_PROBE_COMPONENT)], "").load();
    let runtime = runtime();
    let phase = runtime.load_phase(&plan, &plan.phases[0]).unwrap();
    assert!(
        !phase.info().diff.ambient.is_empty(),
        "a wasip2 build imports WASI, listed as ambient"
    );
    let services = services(run_id, None);
    phase
        .run(runtime.engine(), &services, &input(run_id, "{}"))
        .outcome
        .unwrap()
}

#[test]
fn wasi_gives_no_files_env_args_clock_random_or_network() {
    let got = wasi_probe("run-a");
    assert!(got["root"]["error"].is_string(), "no preopened dirs: {got}");
    assert!(got["cwd"]["error"].is_string(), "no preopened dirs: {got}");
    assert!(got["passwd_bytes"].is_null(), "{got}");
    assert_eq!(got["env_vars"], 0, "{got}");
    assert_eq!(got["args"], 0, "{got}");
    assert_eq!(
        got["wall_clock_secs"], 946_684_800,
        "frozen wall clock: {got}"
    );
    assert_eq!(
        got["monotonic_elapsed_nanos"], 0,
        "frozen monotonic clock: {got}"
    );
    assert!(got["tcp_error"].is_string(), "no sockets: {got}");
    let again = wasi_probe("run-a");
    assert_eq!(
        got["random_hash"], again["random_hash"],
        "random is seeded from the run id"
    );
    let other = wasi_probe("run-b");
    assert_ne!(
        got["random_hash"], other["random_hash"],
        "another run id, another seed"
    );
}

#[test]
fn a_kill_file_stops_a_mutating_call_and_the_transaction_rolls_back() {
    use phasehost::run::kill_switch::KillSwitch;
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let kill = dir.path().join("KILL");
    std::fs::write(&kill, "").unwrap();
    let spec = phasehost_store::StoreSpec::Sqlite(dir.path().join("store.sqlite"));
    let mut store = phasehost_store::open(&spec).unwrap();
    store.begin().unwrap();
    let shared: phasehost::runtime::state::SharedStore = Arc::new(Mutex::new(store));
    let mut services = services("r1", None);
    services.store = Some(shared.clone());
    services.guard = Arc::new(KillSwitch::new(kill));
    let plan = probe_plan(
        "source = true\nlog = true\nstore = { documents = \"ri\" }\nartifacts = { \"backup.json\" = \"ri\" }",
        "",
    );
    let run = run_phase(
        &plan,
        "probe",
        &services,
        r#"{"mode":"write","table":"documents","rows":[{"title":"t","first_seen_run":"r"}]}"#,
    );
    let stop = run.outcome.unwrap_err();
    assert_eq!(stop.code, StopCode::KillSwitch, "{stop}");
    let mut store = shared.lock().unwrap();
    store.rollback().unwrap();
    store.begin().unwrap();
    let scope = phasehost::store::Scope {
        document_id: "doc".into(),
    };
    assert_eq!(store.count("documents", &scope, &[]).unwrap(), 0);
    store.rollback().unwrap();
}

/// Trust boundaries, finding 8: an artifact put where someone planted a
/// symlink in the artifacts folder replaces the symlink; the file it pointed
/// to is never written.
#[test]
fn an_artifact_put_never_writes_through_a_planted_symlink() {
    let plan = probe_plan(ALL_CAPS, "");
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside.txt");
    std::fs::write(&outside, "keep me").unwrap();
    let artifacts = dir.path().join("artifacts");
    std::fs::create_dir(&artifacts).unwrap();
    std::os::unix::fs::symlink(&outside, artifacts.join("backup.json")).unwrap();
    let mut services = services("r1", None);
    services.artifacts_dir =
        Some(phasehost_policy::safe_dir::SafeDir::open_trusted(&artifacts).unwrap());
    let run = run_phase(
        &plan,
        "probe",
        &services,
        r#"{"mode":"artifact","name":"backup.json","content":"x"}"#,
    );
    assert!(run.outcome.unwrap()["artifact_sha256"].is_string());
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep me");
    let meta = std::fs::symlink_metadata(artifacts.join("backup.json")).unwrap();
    assert!(meta.is_file(), "the symlink itself was replaced");
}

/// A plugin asking the artifacts capability to put or get a name that is
/// not a plain file name (`..`, a `/`, an absolute path, empty) gets
/// `invalid`, even when the plan grants that very name; nothing is created
/// outside the artifacts folder (nor in it).
#[test]
fn an_artifact_name_that_is_not_a_plain_file_name_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let artifacts = run.join("artifacts");
    std::fs::create_dir_all(artifacts.join("sub")).unwrap();
    std::fs::write(run.join("secret.json"), "keep me").unwrap();
    let absolute = run.join("absolute.json");
    let hostile = [
        "../escape.json",
        "../secret.json",
        "sub/x.json",
        absolute.to_str().unwrap(),
        "",
        ".",
        "..",
    ];
    let granted: String = hostile
        .iter()
        .map(|n| format!("{n:?} = \"ri\", "))
        .collect();
    let plan = probe_plan(
        &format!(
            "source = true\nlog = true\nstore = {{ units = \"ri\" }}\n\
             artifacts = {{ {granted}\"backup.json\" = \"ri\" }}"
        ),
        "",
    );
    let before = tree_snapshot(dir.path());
    let mut services = services("r1", None);
    services.artifacts_dir =
        Some(phasehost_policy::safe_dir::SafeDir::open_trusted(&artifacts).unwrap());
    for name in hostile {
        for mode in ["artifact", "artifact-get"] {
            let config = serde_json::json!({ "mode": mode, "name": name, "content": "x" });
            let got = run_phase(&plan, "probe", &services, &config.to_string())
                .outcome
                .unwrap();
            assert_eq!(got["error"], "invalid", "{mode} {name:?}: {got}");
            let message = got["message"].as_str().unwrap();
            assert!(message.contains("must be a plain file name"), "{message}");
        }
    }
    assert_eq!(tree_snapshot(dir.path()), before, "nothing written");
    // The same grants let a plain name through.
    let config = r#"{"mode":"artifact","name":"backup.json","content":"x"}"#;
    let got = run_phase(&plan, "probe", &services, config)
        .outcome
        .unwrap();
    assert!(got["artifact_sha256"].is_string(), "{got}");
    assert!(artifacts.join("backup.json").is_file());
}
