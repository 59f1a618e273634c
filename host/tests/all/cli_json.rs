//! `--json` on the commands scripts call: one JSON object on stdout with
//! the documented keys; refusals as a `stop` object; `--help` lists every
//! stop code.

use crate::orchestrator::Pipeline;
use crate::support::phasehost;
use phasehost::StopCode;
use serde_json::Value;
use std::path::Path;

/// Exactly one JSON object on stdout.
fn one_object(out: &str) -> Value {
    assert_eq!(out.lines().count(), 1, "one line: {out}");
    let value: Value = serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(value.is_object(), "{out}");
    value
}

fn has_keys(value: &Value, keys: &[&str]) {
    for key in keys {
        assert!(value.get(key).is_some(), "no `{key}` in {value}");
    }
}

const RUN_KEYS: &[&str] = &[
    "outcome",
    "run_folder",
    "gate",
    "evidence_digest",
    "before_phase",
    "stop",
];
const STOP_KEYS: &[&str] = &["code", "exit_status", "phase", "message", "hint"];

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn assert_stop(value: &Value, code: StopCode) {
    assert_eq!(value["outcome"], "stopped", "{value}");
    let stop = &value["stop"];
    has_keys(stop, STOP_KEYS);
    assert_eq!(stop["code"], code.as_str(), "{value}");
    assert_eq!(stop["exit_status"], code.exit_status());
    assert_eq!(stop["hint"], code.hint());
}

#[test]
fn cli_json_run_status_approve_resume_review() {
    let p = Pipeline::new();
    let plan = s(&p.plan.path);
    let (status, out, err) = phasehost(&[
        "run",
        plan,
        "--source",
        s(&p.source),
        "--host-config",
        s(&p.host_config),
        "--json",
    ]);
    assert_eq!(status, 3, "{out}{err}");
    let run = one_object(&out);
    has_keys(&run, RUN_KEYS);
    assert_eq!(run["outcome"], "paused");
    assert_eq!(run["gate"], "sg1");
    assert_eq!(run["before_phase"], "write1");
    assert!(run["stop"].is_null());
    let folder = run["run_folder"].as_str().unwrap().to_string();
    assert_eq!(run["evidence_digest"].as_str().unwrap().len(), 64, "{run}");

    let (status, out, err) = phasehost(&["status", &folder, "--plan", plan, "--json"]);
    assert_eq!(status, 0, "{err}");
    let st = one_object(&out);
    has_keys(
        &st,
        &[
            "run_id",
            "document_id",
            "version",
            "mode",
            "status",
            "next_phase",
            "phases",
            "run_folder",
            "checked",
            "started_by",
            "approvals",
        ],
    );
    assert_eq!(st["status"]["status"], "paused", "{st}");
    assert_eq!(st["status"]["gate"], "sg1", "{st}");
    assert_eq!(st["checked"], true);
    assert!(st["approvals"].as_array().unwrap().is_empty());

    let (status, out, err) = phasehost(&["review", &folder, "--plan", plan, "--json"]);
    assert_eq!(status, 0, "{err}");
    has_keys(
        &one_object(&out),
        &["gate", "evidence_digest", "text", "sha256", "file"],
    );

    let (status, out, err) = phasehost(&[
        "approve",
        &folder,
        "--gate",
        "sg1",
        "--key",
        s(&p.key),
        "--plan",
        plan,
        "--yes",
        "--json",
    ]);
    assert_eq!(status, 0, "{out}{err}");
    let ap = one_object(&out);
    has_keys(
        &ap,
        &[
            "run_folder",
            "gate",
            "file",
            "signer",
            "approvals",
            "quorum",
            "gate_open",
            "review",
            "requeued",
        ],
    );
    assert_eq!(ap["gate"], "sg1");
    assert_eq!(ap["approvals"], 1);
    assert_eq!(ap["quorum"], 1);
    assert_eq!(ap["gate_open"], true);
    assert_eq!(ap["requeued"], false);
    assert!(Path::new(ap["file"].as_str().unwrap()).exists());

    let (status, out, _) = phasehost(&["status", &folder, "--plan", plan, "--json"]);
    assert_eq!(status, 0);
    let approvals = one_object(&out)["approvals"].clone();
    let approvals = approvals.as_array().unwrap();
    assert_eq!(approvals.len(), 1, "{approvals:?}");
    has_keys(
        &approvals[0],
        &["gate", "file", "key_id", "signer", "valid", "error"],
    );
    assert_eq!(approvals[0]["valid"], true);

    let (status, out, err) = phasehost(&[
        "resume",
        &folder,
        "--plan",
        plan,
        "--host-config",
        s(&p.host_config),
        "--json",
    ]);
    assert_eq!(status, 3, "{out}{err}");
    let resumed = one_object(&out);
    has_keys(&resumed, RUN_KEYS);
    assert_eq!(resumed["outcome"], "paused");
    assert_eq!(resumed["gate"], "sg2");
    assert_eq!(resumed["run_folder"], folder.as_str());
}

#[test]
fn cli_json_a_live_run_without_execution_is_a_stop_object() {
    let p = Pipeline::new();
    let off = p.dir().join("off.toml");
    std::fs::write(&off, "[execution]\nenabled = false\n").unwrap();
    let args = [
        "run",
        s(&p.plan.path),
        "--source",
        s(&p.source),
        "--host-config",
        s(&off),
        "--live",
    ];
    let (status, out, _) = phasehost(&[&args[..], &["--json"]].concat());
    assert_eq!(status, StopCode::ExecutionDisabled.exit_status(), "{out}");
    let value = one_object(&out);
    has_keys(&value, RUN_KEYS);
    assert!(value["run_folder"].is_null());
    assert_stop(&value, StopCode::ExecutionDisabled);

    // Without --json: nothing on stdout, the human message on stderr.
    let (status, out, err) = phasehost(&args);
    assert_eq!(status, StopCode::ExecutionDisabled.exit_status());
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("execution-disabled"), "{err}");
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn cli_json_early_refusals_are_stop_objects() {
    let p = Pipeline::new();
    let plan = s(&p.plan.path);
    // A malformed plan.
    p.plan.rewrite(|t| t.replace("[plan]", "[plan"));
    for args in [
        vec!["check", plan, "--json"],
        vec!["gates", plan, "--json"],
        vec!["pin", plan, "--json"],
        vec!["run", plan, "--source", s(&p.source), "--json"],
    ] {
        let (status, out, err) = phasehost(&args);
        assert_eq!(status, StopCode::PlanInvalid.exit_status(), "{args:?}");
        assert!(err.is_empty(), "{args:?}: {err}");
        assert_stop(&one_object(&out), StopCode::PlanInvalid);
    }
    // A digest typed on the command line.
    let digest = "a".repeat(64);
    let (status, out, _) = phasehost(&["check", &digest, "--json"]);
    assert_eq!(status, StopCode::ArgumentRefused.exit_status());
    assert_stop(&one_object(&out), StopCode::ArgumentRefused);
    // A run folder that is not one.
    let (status, out, _) = phasehost(&["status", s(&p.dir().join("nope")), "--json"]);
    assert_ne!(status, 0);
    let value = one_object(&out);
    assert_eq!(value["outcome"], "stopped");
    has_keys(&value["stop"], STOP_KEYS);
    assert_eq!(value["stop"]["exit_status"], status);
}

#[test]
fn cli_json_check_gates_pin_keygen() {
    let p = Pipeline::new();
    let plan = s(&p.plan.path);

    let (status, out, err) = phasehost(&["check", plan, "--json"]);
    assert_eq!(status, 0, "{out}{err}");
    let check = one_object(&out);
    has_keys(
        &check,
        &["plan", "ok", "first_failure", "exit_status", "plugins"],
    );
    assert_eq!(check["ok"], true);
    let plugins = check["plugins"].as_array().unwrap();
    assert!(!plugins.is_empty());
    for plugin in plugins {
        has_keys(
            plugin,
            &["role", "name", "ok", "code", "exit_status", "message"],
        );
        assert_eq!(plugin["ok"], true);
    }

    let (status, out, err) = phasehost(&["gates", plan, "--json"]);
    assert_eq!(status, 0, "{err}");
    let gates = one_object(&out);
    has_keys(&gates, &["plan", "count", "predicates"]);
    let predicates = gates["predicates"].as_array().unwrap();
    assert_eq!(gates["count"], predicates.len());
    for pr in predicates {
        has_keys(
            pr,
            &[
                "name",
                "when",
                "phase",
                "plugin",
                "description",
                "phase_in_plan",
            ],
        );
    }

    let (status, out, err) = phasehost(&["pin", plan, "--json"]);
    assert_eq!(status, 0, "{err}");
    let pin = one_object(&out);
    has_keys(&pin, &["plan", "changed", "pinned"]);
    assert_eq!(pin["changed"], false);

    // A stale pin is rewritten and reported.
    p.plan.rewrite(|t| {
        let at = t.find("sha256 = \"").unwrap() + 10;
        format!("{}{}{}", &t[..at], "0".repeat(64), &t[at + 64..])
    });
    let (status, out, err) = phasehost(&["pin", plan, "--json"]);
    assert_eq!(status, 0, "{err}");
    let pin = one_object(&out);
    assert_eq!(pin["changed"], true);
    has_keys(&pin["pinned"][0], &["name", "sha256"]);

    let keys = p.dir().join("newkeys");
    let (status, out, err) = phasehost(&[
        "keygen",
        "--out",
        s(&keys),
        "--name",
        "Ana <ana@example.org>",
        "--json",
    ]);
    assert_eq!(status, 0, "{err}");
    let key = one_object(&out);
    has_keys(&key, &["signing_key", "public_key", "key_id", "holder"]);
    assert!(Path::new(key["signing_key"].as_str().unwrap()).exists());
    assert_eq!(key["holder"], "Ana <ana@example.org>");
}

#[test]
fn cli_help_lists_every_stop_code() {
    let (status, out, _) = phasehost(&["--help"]);
    assert_eq!(status, 0);
    for code in StopCode::ALL {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(code.as_str()))
            .unwrap_or_else(|| panic!("{code} not in --help:\n{out}"));
        assert!(
            line.trim_start()
                .starts_with(&code.exit_status().to_string()),
            "{line}"
        );
        assert!(line.contains(code.hint()), "{line}");
    }
}

/// A command line clap refuses (missing or unknown argument, no command)
/// is, with `--json`, one `stop` object with code `usage` and clap's usage
/// exit status 2, nothing on stderr; `--help` and `--version` still print
/// their text and exit 0; without `--json`, clap's own text on stderr.
#[test]
fn cli_json_usage_errors_are_one_json_refusal() {
    let usage = |args: &[&str], needle: &str| {
        let (status, out, err) = phasehost(args);
        assert_eq!(status, 2, "{args:?}: {out}{err}");
        assert_eq!(err, "", "{args:?}: nothing on stderr");
        let value = one_object(&out);
        assert_eq!(value["outcome"], "stopped", "{value}");
        let stop = &value["stop"];
        has_keys(stop, STOP_KEYS);
        assert_eq!(stop["code"], "usage", "{value}");
        assert_eq!(stop["exit_status"], 2);
        assert_eq!(stop["phase"], Value::Null);
        let message = stop["message"].as_str().unwrap();
        assert!(message.contains(needle), "{args:?}: {message}");
        assert!(!message.starts_with("error:"), "{message}");
        assert!(stop["hint"].as_str().unwrap().contains("--help"), "{value}");
    };
    // Missing arguments (the plan and --source).
    usage(&["run", "--json"], "required arguments were not provided");
    usage(&["run", "plan.toml", "--json"], "--source");
    // An unknown argument, and an unknown command.
    usage(
        &["run", "plan.toml", "--source", "a.txt", "--json", "--bogus"],
        "--bogus",
    );
    usage(&["frobnicate", "--json"], "frobnicate");
    // No command at all.
    let (status, out, _) = phasehost(&["--json"]);
    assert_eq!(status, 2);
    assert_eq!(one_object(&out)["stop"]["code"], "usage");

    // Help and version are not errors, --json or not.
    for args in [
        &["run", "--help", "--json"][..],
        &["status", "--json", "--help"][..],
    ] {
        let (status, out, err) = phasehost(args);
        assert_eq!(status, 0, "{args:?}: {err}");
        assert!(out.contains("Usage: phasehost"), "{out}");
        assert!(serde_json::from_str::<Value>(&out).is_err(), "{out}");
    }
    let (status, out, _) = phasehost(&["--version", "--json"]);
    assert_eq!(status, 0);
    assert!(out.starts_with("phasehost "), "{out}");

    // Without --json: clap's text on stderr, exit 2, nothing on stdout.
    let (status, out, err) = phasehost(&["run"]);
    assert_eq!(status, 2);
    assert_eq!(out, "");
    assert!(
        err.contains("required arguments") && err.contains("Usage:"),
        "{err}"
    );
}

/// `resume --json` on a run whose state is damaged: the refusal is the run
/// object naming the folder, and the folder's stop.json records it.
#[test]
fn cli_json_resume_of_a_damaged_state_is_recorded_in_the_run_folder() {
    let p = Pipeline::new();
    let (folder, _) = p.start(false);
    std::fs::write(folder.join("state.json"), "{\"format\":").unwrap();
    let (status, out, err) = phasehost(&[
        "resume",
        s(&folder),
        "--plan",
        s(&p.plan.path),
        "--host-config",
        s(&p.host_config),
        "--json",
    ]);
    assert_eq!(status, StopCode::CorruptState.exit_status(), "{out}{err}");
    let value = one_object(&out);
    has_keys(&value, RUN_KEYS);
    assert_eq!(value["run_folder"], s(&folder));
    assert_stop(&value, StopCode::CorruptState);
    let stop: Value =
        serde_json::from_slice(&std::fs::read(folder.join("stop.json")).unwrap()).unwrap();
    assert_eq!(stop["code"], "corrupt-state");
    assert_eq!(stop["message"], value["stop"]["message"]);
}
