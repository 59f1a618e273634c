//! `phasehost report`: the HTML page of a run folder — every phase, every
//! predicate, both approvals with their holders and wait times, the SVG
//! timeline, the stop; escaped when the run folder is hostile; a clear
//! stop code when it is damaged; never clobbering a file.

use crate::iu_cut::IuCut;
use crate::orchestrator::Pipeline;
use crate::support::phasehost;
use phasehost::StopCode;
use phasehost::run::report;
use phasehost::run::state::RunState;
use phasehost::run::{self, Outcome, StartRequest};
use phasehost_policy::approval;
use serde_json::Value;
use std::path::{Path, PathBuf};

const ADA: &str = "Ada Approver <ada@example.org>";
const BAO: &str = "Bảo Reviewer <bao@example.org>";

/// What maud makes of a text: `&`, `<`, `>` and `"` escaped.
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn evidence_docs(folder: &Path) -> Vec<(String, Value)> {
    RunState::load(folder)
        .unwrap()
        .phases
        .iter()
        .map(|r| {
            let doc =
                serde_json::from_slice(&std::fs::read(folder.join(&r.document)).unwrap()).unwrap();
            (r.phase.clone(), doc)
        })
        .collect()
}

/// The numbers N of every `<b>N s</b>` (the approval wait cells).
fn waits(html: &str) -> Vec<u64> {
    html.split("<b>")
        .skip(1)
        .filter_map(|rest| rest.split_once(" s</b>"))
        .filter_map(|(n, _)| n.parse().ok())
        .collect()
}

/// The bundled iu-cut plan, dry, on the Constitution: SG_1 approved by Ada
/// (a second after the pause), SG_2 by Bảo.
fn completed_dry_run() -> (IuCut, PathBuf) {
    let iu = IuCut::new(|doc| {
        let mut keys = toml_edit::Array::new();
        keys.push("keys/ada.pub");
        keys.push("keys/bao.pub");
        doc["approvals"]["trusted_keys"] = toml_edit::value(keys);
    });
    let keys = iu.dir.path().join("keys");
    approval::write_held_key_files(&keys, "ada", Some(ADA)).unwrap();
    approval::write_held_key_files(&keys, "bao", Some(BAO)).unwrap();
    let report = run::start(&StartRequest {
        plan: iu.plan.clone(),
        source: crate::support::corpus("hien-phap.txt"),
        live: false,
        host_config: Some(iu.host_config.clone()),
        as_key: None,
    })
    .unwrap();
    let folder = report.folder.unwrap();
    let mut outcome = report.outcome;
    while let Outcome::Paused { gate, .. } = outcome {
        let key = match gate.as_str() {
            "sg1" => {
                // A wait the report must show as at least one second.
                std::thread::sleep(std::time::Duration::from_millis(1100));
                keys.join("ada.key")
            }
            "sg2" => keys.join("bao.key"),
            other => panic!("the plan has no gate {other}"),
        };
        crate::support::approve(&folder, gate, &key, &iu.plan).unwrap();
        outcome = crate::support::resume(&folder, &iu.plan, &iu.host_config)
            .unwrap()
            .outcome;
    }
    assert!(matches!(outcome, Outcome::Completed), "{outcome:?}");
    (iu, folder)
}

#[test]
fn a_completed_dry_run_report_shows_every_phase_predicate_approval_and_the_timeline() {
    let (iu, folder) = completed_dry_run();
    let (status, out, err) = phasehost(&["report", s(&folder), "--json"]);
    assert_eq!(status, 0, "{out}{err}");
    let written: Value = serde_json::from_str(out.trim()).unwrap();
    let path = PathBuf::from(written["path"].as_str().unwrap());
    assert_eq!(path, folder.join("report.html"));
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(written["bytes"].as_u64().unwrap(), bytes.len() as u64);
    assert_eq!(
        written["sha256"].as_str().unwrap(),
        crate::support::sha256_file(s(&path))
    );
    let html = String::from_utf8(bytes).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..80]);
    assert!(!html.contains("<script"), "no script");
    assert!(
        !html.contains("src=") && !html.contains("href="),
        "nothing loaded"
    );

    let state = RunState::load(&folder).unwrap();
    assert_eq!(state.phases.len(), 11);
    assert!(html.contains(&state.run_id));
    assert!(html.contains("badge done"), "the outcome is done");
    assert!(html.contains("<b>dry</b>"));
    assert!(html.contains("(end of the last phase)"), "a finish time");

    // The timeline: an inline SVG with one labelled row per phase.
    let svg = &html[html.find("<svg").expect("an inline SVG")..html.find("</svg>").unwrap()];
    for (index, record) in state.phases.iter().enumerate() {
        let label = format!("{:02} {}", index + 1, record.phase);
        assert!(svg.contains(&label), "no bar label {label}");
        let ms = record.duration_ms.unwrap();
        assert!(
            svg.contains(&format!(">{ms} ms  (gates ")),
            "no {ms} ms for {label}"
        );
    }
    assert!(svg.matches("<rect").count() >= state.phases.len());

    // Every predicate checked, in its phase's table, with its verdict.
    let docs = evidence_docs(&folder);
    let mut names = 0;
    for (_, doc) in &docs {
        for key in ["gates_before", "gates_after"] {
            for check in doc[key].as_array().unwrap() {
                let name = check["name"].as_str().unwrap();
                assert!(
                    html.contains(&format!("<code>{}</code>", escaped(name))),
                    "no predicate {name}"
                );
                names += 1;
            }
        }
    }
    assert!(
        names >= 41,
        "iu-cut checks at least 41 predicates, saw {names}"
    );
    assert!(html.contains(&format!("Gate predicates ({names} checks)")));
    assert!(!html.contains("class=\"fails\""), "every predicate held");

    // Both approvals: holder, key id, a wait time; and the gates opened.
    for (stem, holder) in [("ada", ADA), ("bao", BAO)] {
        assert!(html.contains(&escaped(holder)), "no holder {holder}");
        let key = iu.dir.path().join("keys").join(format!("{stem}.key"));
        let key_id = approval::load_signing_key(&key).unwrap().key_id();
        assert!(html.contains(&key_id), "no key id of {stem}");
    }
    assert!(html.contains("gate opened before <code>cut_leg_a</code>"));
    assert!(html.contains("gate opened before <code>lifecycle_enact</code>"));
    let waits = waits(&html);
    assert_eq!(waits.len(), 2, "one wait per approval: {waits:?}");
    assert!(waits[0] >= 1, "SG_1 waited over a second: {waits:?}");
    assert!(
        html.contains("cutplan.plan_digest"),
        "SG_1 binds the cut plan"
    );
    assert!(html.contains("= review/sg1.md") && html.contains("= review/sg2.md"));

    // The review objects as the approvers saw them.
    for (phase, doc) in &docs {
        if let Some(title) = doc["evidence"]["review"]["title"].as_str() {
            assert!(html.contains(&escaped(title)), "no review title of {phase}");
            for fact in doc["evidence"]["review"]["facts"].as_array().unwrap() {
                let label = fact["label"].as_str().unwrap();
                assert!(html.contains(&escaped(label)), "no fact {label}");
            }
        }
    }
    assert!(docs.iter().any(|(p, _)| p == "cutplan"));
    // The plugins' sha256 per phase.
    for (phase, doc) in &docs {
        let sha = doc["plugin_sha256"].as_str().unwrap();
        assert!(html.contains(sha), "no sha256 of {phase}");
    }

    // Not clobbered: a second report is refused, --force replaces it.
    let (status, out, _) = phasehost(&["report", s(&folder), "--json"]);
    assert_eq!(status, StopCode::KbWriteFailed.exit_status(), "{out}");
    let refusal: Value = serde_json::from_str(out.trim()).unwrap();
    assert!(
        refusal["stop"]["message"]
            .as_str()
            .unwrap()
            .contains("--force")
    );
    let (status, _, err) = phasehost(&["report", s(&folder), "--force"]);
    assert_eq!(status, 0, "{err}");
}

/// A run that stops after source_pin: the report names the stop.
#[test]
fn a_stopped_run_report_shows_the_stop_code_phase_message_and_hint() {
    let iu = IuCut::new(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("notes.txt");
    std::fs::write(&src, "Một ghi chú không có điều khoản nào.\n").unwrap();
    let report = run::start(&StartRequest {
        plan: iu.plan.clone(),
        source: src,
        live: false,
        host_config: Some(iu.host_config.clone()),
        as_key: None,
    })
    .unwrap();
    let folder = report.folder.unwrap();
    let Outcome::Stopped(stop) = report.outcome else {
        panic!("expected a stop, got {:?}", report.outcome);
    };
    assert_eq!(stop.code, StopCode::UnknownDocument);
    let out = dir.path().join("stopped.html");
    let written = report::write(&folder, Some(&out), false).unwrap();
    assert_eq!(written.path, out);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("stopped: unknown-document"), "the badge");
    assert!(html.contains("<b class=\"fails\">unknown-document</b>"));
    assert!(html.contains(&escaped(&stop.message)), "the message");
    assert!(
        html.contains(&escaped(StopCode::UnknownDocument.hint())),
        "the hint"
    );
    assert!(html.contains("<code>mark</code>"), "the phase");
    assert!(
        html.contains(">stopped: unknown-document</text>"),
        "the timeline's last row says the run stopped"
    );
    // stop.json records when: shown as the finish time.
    let doc: Value =
        serde_json::from_slice(&std::fs::read(folder.join("stop.json")).unwrap()).unwrap();
    let at = doc["stopped_at"].as_str().unwrap();
    assert!(
        html.contains(&format!("{} {}", &at[..10], &at[11..19])),
        "stopped at {at}"
    );
    assert!(html.contains("01 source_pin"), "the phase that ran");
    assert!(html.contains("No approval file"));
}

/// A run folder whose texts try to run script or reorder the page: the
/// page shows them escaped, and the RLO as a visible code.
#[test]
fn a_hostile_run_folder_is_escaped_and_controls_are_shown_as_codes() {
    let p = Pipeline::new();
    let folder = p.to_sg2(false);
    let evil = "<script>alert(1)</script>\u{202e}txt.exe<img src=x onerror=alert(2)>";
    let document = folder.join("evidence/03-beta.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&document).unwrap()).unwrap();
    doc["gates_after"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "name": "G-<b>bold</b>", "checkpoint": "after", "holds": false, "detail": evil, "ms": 1
        }));
    doc["evidence"]["review"] = serde_json::json!({
        "title": format!("Title {evil}"),
        "facts": [{"label": "\u{2066}label", "value": "\"quoted\" & <tag>"}],
        "warnings": [{"line": 3, "text": evil}],
        "tables": [{"title": "T", "columns": ["<th>"], "rows": [["</table><script>x()</script>"]]}]
    });
    std::fs::write(&document, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = p.dir().join("hostile.html");
    report::write(&folder, Some(&out), false).unwrap();
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(!html.contains("<script"), "a script tag got through");
    assert!(!html.contains("<img"), "an img tag got through");
    assert!(!html.contains("<b>bold</b>"));
    assert!(!html.contains("</table><script"));
    assert!(
        !html.contains('\u{202e}') && !html.contains('\u{2066}'),
        "bidi got through"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains(">U+202E</span>txt.exe&lt;img src=x onerror=alert(2)&gt;"));
    assert!(html.contains(">U+2066</span>label"));
    assert!(html.contains("&quot;quoted&quot; &amp; &lt;tag&gt;"));
    assert!(html.contains("G-&lt;b&gt;bold&lt;/b&gt;"));
    // Paused at SG_2: the outcome, and SG_1's approval with its wait.
    assert!(html.contains("paused at sg2"));
    assert_eq!(waits(&html).len(), 1, "SG_1's wait");
}

#[test]
fn a_damaged_or_oversized_run_folder_is_a_clear_stop_not_a_panic() {
    let p = Pipeline::new();
    let folder = p.to_sg2(false);
    let out = p.dir().join("r.html");
    let state = RunState::path(&folder);
    let text = std::fs::read_to_string(&state).unwrap();

    // A truncated state: corrupt-state, through the CLI too.
    std::fs::write(&state, &text[..text.len() / 2]).unwrap();
    let err = report::write(&folder, Some(&out), false).unwrap_err();
    assert_eq!(err.code, StopCode::CorruptState, "{err}");
    assert!(err.message.contains("state.json"), "{err}");
    let (status, json, _) = phasehost(&["report", s(&folder), "--out", s(&out), "--json"]);
    assert_eq!(status, StopCode::CorruptState.exit_status(), "{json}");
    let refusal: Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(refusal["stop"]["code"], "corrupt-state");
    assert!(!out.exists(), "nothing written");
    std::fs::write(&state, &text).unwrap();

    // An evidence field of the wrong type.
    let document = folder.join("evidence/01-alpha.json");
    let original = std::fs::read(&document).unwrap();
    let mut doc: Value = serde_json::from_slice(&original).unwrap();
    doc["gates_after"] = "not a list".into();
    std::fs::write(&document, serde_json::to_vec(&doc).unwrap()).unwrap();
    let err = report::write(&folder, Some(&out), false).unwrap_err();
    assert_eq!(err.code, StopCode::CorruptState, "{err}");
    assert!(err.message.contains("01-alpha.json"), "{err}");

    // An evidence document replaced by a symlink is never followed.
    std::fs::remove_file(&document).unwrap();
    let elsewhere = p.dir().join("elsewhere.json");
    std::fs::write(&elsewhere, &original).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &document).unwrap();
    let err = report::write(&folder, Some(&out), false).unwrap_err();
    assert_eq!(err.code, StopCode::CorruptState, "{err}");
    std::fs::remove_file(&document).unwrap();
    std::fs::write(&document, &original).unwrap();

    // An over-large pause record.
    let pauses = folder.join("pauses.jsonl");
    let kept = std::fs::read(&pauses).unwrap();
    std::fs::write(&pauses, vec![b' '; 2 << 20]).unwrap();
    let err = report::write(&folder, Some(&out), false).unwrap_err();
    assert_eq!(err.code, StopCode::CorruptState, "{err}");
    assert!(err.message.contains("larger than"), "{err}");
    std::fs::write(&pauses, kept).unwrap();

    // Whole again: the report is written; a symlink at --out is replaced,
    // not followed.
    let target = p.dir().join("target.txt");
    std::fs::write(&target, "keep").unwrap();
    std::os::unix::fs::symlink(&target, &out).unwrap();
    assert_eq!(
        report::write(&folder, Some(&out), false).unwrap_err().code,
        StopCode::KbWriteFailed,
        "an existing --out is refused without --force"
    );
    report::write(&folder, Some(&out), true).unwrap();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    assert!(!std::fs::symlink_metadata(&out).unwrap().is_symlink());
}
