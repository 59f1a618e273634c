//! Plugin output is hostile input: every finding of the plugin-output
//! review, reproduced with a hostile test plugin and refused with a typed
//! stop — the host alive, the cost bounded by the plan's budget, nothing
//! secret written. Each would fail if its check were removed.

use crate::orchestrator::*;
use crate::support::*;
use phasehost::StopCode;
use phasehost::runtime::state::Incident;
use phasehost_test_artifacts::*;

const ALL_CAPS: &str = "source = true\nlog = true\nstore = { units = \"ri\" }\nartifacts = { \"backup.json\" = \"ri\" }";

fn probe(head: &str, limits: &str) -> TestPlan {
    TestPlan::write(
        &[],
        &[PhaseDef::new("probe", TEST_PROBE_COMPONENT)
            .grants(ALL_CAPS)
            .head(head)
            .limits(limits)],
        "",
    )
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// A GitHub-token-shaped value, built so this file does not hold one.
fn token() -> String {
    ["gh", "p_", &"Zq7Rk2Lm9Xw4".repeat(3)].concat()
}

/// Finding 1: denied calls with huge names cannot grow the host: the first
/// call over `max_arg_bytes` ends the phase, before the host keeps anything.
#[test]
fn denied_calls_with_huge_names_end_at_the_argument_budget() {
    let plan = probe("on_denied = \"record\"", "memory_mib = 256").load();
    let run = run_phase(
        &plan,
        "probe",
        &services("r1", None),
        r#"{"mode":"deny-loop","name_len":41943040,"count":100}"#,
    );
    let stop = run.outcome.unwrap_err();
    assert_eq!(stop.code, StopCode::PluginOutputTooLarge, "{stop}");
    assert!(stop.message.contains("limits.max_arg_bytes"), "{stop}");
    assert!(stop.message.contains("plan.toml line"), "{stop}");
    // Nothing of the name was kept.
    assert!(
        run.incidents
            .iter()
            .all(|i| !matches!(i, Incident::Denied(_))),
        "{:?}",
        run.incidents.len()
    );
}

/// Finding 1 and 6: many denied calls under `on_denied = "record"` keep
/// a bounded record (the first few, and a count), each name cut short.
#[test]
fn many_denied_calls_keep_a_bounded_record() {
    let plan = probe("on_denied = \"record\"", "").load();
    let run = run_phase(
        &plan,
        "probe",
        &services("r1", None),
        r#"{"mode":"deny-loop","name_len":100000,"count":26}"#,
    );
    let evidence = run.outcome.unwrap();
    assert_eq!(evidence["denied_seen"], 26);
    assert_eq!(run.denied_calls, 26);
    let kept: Vec<&String> = run
        .incidents
        .iter()
        .filter_map(|i| match i {
            Incident::Denied(what) => Some(what),
            _ => None,
        })
        .collect();
    assert_eq!(kept.len(), phasehost::runtime::state::MAX_DENIED_KEPT);
    assert!(kept.iter().all(|w| w.len() <= 200), "names are cut");
}

/// Finding 6: denied calls the plugin ignores stop the run by default.
#[test]
fn ignored_denied_calls_stop_the_run_by_default() {
    let plan = probe("", "").load();
    let run = run_phase(
        &plan,
        "probe",
        &services("r1", None),
        r#"{"mode":"deny-loop","name_len":8,"count":26}"#,
    );
    let stop = run.outcome.unwrap_err();
    assert_eq!(stop.code, StopCode::CapabilityDenied, "{stop}");
    assert_eq!(run.denied_calls, 1, "the phase ended at the first denial");
}

/// Finding 6, in a run: with `on_denied = "record"` the calls are in the
/// evidence document and the log.
#[test]
fn recorded_denied_calls_reach_the_evidence_document_and_the_log() {
    let p = Pipeline::with(
        &[PhaseDef::new("denier", TEST_PROBE_COMPONENT)
            .grants(PROBE_GRANTS)
            .head("on_denied = \"record\"")
            .config("mode = \"deny-loop\"\nname_len = 8\ncount = 3")],
        "",
    );
    let folder = p.to_sg2(false);
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("evidence/04-denier.json")).unwrap())
            .unwrap();
    assert_eq!(doc["denied_calls"]["count"], 3, "{doc}");
    let log = std::fs::read_to_string(folder.join("log.jsonl")).unwrap();
    assert!(log.contains("denied capability calls"), "{log}");
}

/// Finding 2: a quadratic-scanner input in a log line is cut before it is
/// scanned, so the host's work is bounded by the line limit whatever the
/// plugin sends; the line is secret-shaped and stops the run.
#[test]
fn an_adversarial_log_line_is_cut_before_it_is_scanned() {
    let plan = probe("", "deadline_ms = 5000").load();
    let mut scanned = services("r1", None);
    scanned.scanner = std::sync::Arc::new(phasehost::run::SecretScanner);
    let run = run_phase(
        &plan,
        "probe",
        &scanned,
        r#"{"mode":"log-flood","unit":"xoxb-","repeat":52429,"count":1}"#,
    );
    let stop = run.outcome.unwrap_err();
    assert_eq!(stop.code, StopCode::SecretDetected, "{stop}");
}

/// Finding 2/log budget: more log lines than the plan allows stop the run.
#[test]
fn a_log_flood_ends_at_the_log_budget() {
    let plan = probe("", "max_log_lines = 100").load();
    let run = run_phase(
        &plan,
        "probe",
        &services("r1", None),
        r#"{"mode":"log-flood","unit":"a","repeat":10,"count":1000}"#,
    );
    let stop = run.outcome.unwrap_err();
    assert_eq!(stop.code, StopCode::PluginOutputTooLarge, "{stop}");
    assert!(stop.message.contains("limits.max_log_lines"), "{stop}");
    assert!(run.log.len() <= 100);
}

/// Finding 3: evidence over `max_evidence_bytes` is refused before it is
/// scanned, parsed or written.
#[test]
fn oversized_evidence_is_refused() {
    let plan = probe("", "memory_mib = 128").load();
    let run = run_phase(
        &plan,
        "probe",
        &services("r1", None),
        r#"{"mode":"big-evidence","bytes":1048576}"#,
    );
    let stop = run.outcome.unwrap_err();
    assert_eq!(stop.code, StopCode::PluginOutputTooLarge, "{stop}");
    assert!(stop.message.contains("limits.max_evidence_bytes"), "{stop}");
}

/// Finding 4: a refusal message carrying a secret never reaches the stop
/// document: the stop is `secret-detected` and the text is withheld.
#[test]
fn a_secret_in_a_refusal_message_is_withheld() {
    let plan = probe("", "").load();
    let config =
        serde_json::json!({"mode": "refuse", "message": format!("cannot go on: {}", token())});
    let run = run_phase(&plan, "probe", &services("r1", None), &config.to_string());
    let stop = run.outcome.unwrap_err();
    assert_eq!(stop.code, StopCode::SecretDetected, "{stop}");
    assert!(!stop.message.contains(&token()), "{stop}");
}

/// Finding 4: a gate that decodes hex evidence into a token and returns it
/// as its verdict detail (or error) is stopped, and the token is written
/// nowhere: not the stop document, not the evidence, not the log.
#[test]
fn a_gate_that_decodes_a_secret_into_its_detail_is_stopped_and_writes_it_nowhere() {
    for (phase, predicate) in [("zeta", "T-ECHO"), ("eta", "T-ECHO-ERR")] {
        let config = format!(
            "mode = \"echo\"\nemit = {{ note = \"{}\" }}",
            hex(&format!("the key is {}", token()))
        );
        let p = Pipeline::with(
            &[PhaseDef::new(phase, TEST_PROBE_COMPONENT)
                .grants(PROBE_GRANTS)
                .config(&config)],
            "",
        );
        let (folder, outcome) = p.start(false);
        assert_paused(&outcome, crate::support::sg1());
        p.approve(&folder, crate::support::sg1());
        let outcome = p.resume(&folder);
        assert_stopped(&outcome, StopCode::SecretDetected, &folder);
        let found = grep_tree(p.dir(), &token());
        assert!(found.is_empty(), "{predicate}: the token is in {found:?}");
        let stop: serde_json::Value =
            serde_json::from_slice(&std::fs::read(folder.join("stop.json")).unwrap()).unwrap();
        assert_eq!(stop["code"], "secret-detected", "{predicate}: {stop}");
    }
}

/// Finding 7: a memory limit above the engine's slot is refused when the
/// plan is loaded, naming the limit.
#[test]
fn a_memory_limit_above_the_slot_is_refused_at_load() {
    let plan = probe("", "memory_mib = 4096");
    let err = phasehost::plan::load_plan(&plan.path).unwrap_err();
    assert!(err.to_string().contains("memory_mib"), "{err}");
    let out = crate::support::phasehost_command()
        .arg("check")
        .arg(&plan.path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(StopCode::PlanInvalid.exit_status()),
        "{out:?}"
    );
}

/// Finding 7: under an address-space limit the pool cannot reserve, the
/// host falls back to on-demand allocation (and says so) instead of
/// failing to start; plugins still run under their memory limit.
#[test]
fn the_host_starts_under_an_address_space_limit() {
    let plan = probe("", "memory_mib = 16");
    let script = format!(
        "ulimit -v 6000000 && exec {:?} check {:?}",
        env!("CARGO_BIN_EXE_phasehost"),
        plan.path.display().to_string()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{out:?}");
    assert!(stderr.contains("on-demand allocation"), "{stderr}");
}

/// The audit shows each plugin's budget and what a denied call does.
#[test]
fn the_audit_shows_each_plugins_budget() {
    let plan = probe("on_denied = \"record\"", "max_evidence_bytes = 4096");
    let out = crate::support::phasehost_command()
        .args(["audit", "--json"])
        .arg(&plan.path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let audit: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let info = &audit["plugins"][0]["plugin"];
    assert_eq!(info["limits"]["max_evidence_bytes"], 4096, "{info}");
    assert_eq!(info["limits"]["max_arg_bytes"], 1 << 20, "{info}");
    assert_eq!(info["on_denied"], "record", "{info}");
}

fn scanned_services(
    store: Option<phasehost::runtime::state::SharedStore>,
) -> phasehost::runtime::state::RunServices {
    let mut s = services("r1", None);
    s.scanner = std::sync::Arc::new(phasehost::run::SecretScanner);
    s.store = store;
    s
}

/// Finding 5: a secret split across two log lines is refused like a whole
/// one, and none of the lines is kept.
#[test]
fn a_secret_split_across_log_lines_is_refused() {
    let plan = probe("", "").load();
    let t = token();
    let (a, b) = t.split_at(10);
    let config = serde_json::json!({"mode": "log-lines", "lines": [format!("part one {a}"), b]});
    let run = run_phase(&plan, "probe", &scanned_services(None), &config.to_string());
    let stop = run.outcome.unwrap_err();
    assert_eq!(stop.code, StopCode::SecretDetected, "{stop}");
    assert!(stop.message.contains("consecutive log lines"), "{stop}");
    assert!(!stop.message.contains(&t));
}

/// Finding 5: disguised secrets in log lines — hex, base64, fullwidth,
/// zero-width spaces, reversed, spaced out — are all refused.
#[test]
fn disguised_secrets_in_log_lines_are_refused() {
    let t = token();
    let fullwidth: String = t
        .chars()
        .map(|c| char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c))
        .collect();
    let zero_width: String = t.chars().flat_map(|c| [c, '\u{200b}']).collect();
    let reversed: String = t.chars().rev().collect();
    let spaced: String = t.chars().map(|c| format!("{c} ")).collect();
    let base64 = {
        use std::fmt::Write as _;
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in format!("the key is {t}").as_bytes().chunks(3) {
            let n =
                chunk.iter().fold(0u32, |n, b| n << 8 | u32::from(*b)) << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                let _ = write!(out, "{}", A[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
        out
    };
    let plan = probe("", "").load();
    for disguised in [
        hex(&format!("the key is {t}")),
        base64,
        fullwidth,
        zero_width,
        reversed,
        spaced,
    ] {
        let config = serde_json::json!({"mode": "log", "message": disguised});
        let run = run_phase(&plan, "probe", &scanned_services(None), &config.to_string());
        let stop = run.outcome.expect_err(&disguised);
        assert_eq!(stop.code, StopCode::SecretDetected, "{disguised}: {stop}");
        assert!(run.log.is_empty());
    }
}

/// Finding 5: a hex-encoded token in a row is refused before it reaches
/// the store.
#[test]
fn a_hex_encoded_secret_in_a_row_is_not_inserted() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path());
    let plan = TestPlan::write(
        &[],
        &[PhaseDef::new("probe", TEST_PROBE_COMPONENT).grants(PROBE_GRANTS)],
        "",
    )
    .load();
    let row = serde_json::json!({"title": hex(&format!("the key is {}", token())), "first_seen_run": "r"});
    let config = serde_json::json!({"mode": "write", "table": "documents", "rows": [row]});
    let run = run_phase(
        &plan,
        "probe",
        &scanned_services(Some(store.clone())),
        &config.to_string(),
    );
    let stop = run.outcome.unwrap_err();
    assert_eq!(stop.code, StopCode::SecretDetected, "{stop}");
    let rows = store
        .lock()
        .unwrap()
        .count(
            "documents",
            &phasehost::store::Scope {
                document_id: "doc".into(),
            },
            &[],
        )
        .unwrap();
    assert_eq!(rows, 0);
}
