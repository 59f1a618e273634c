//! The source_pin phase on real documents.

use crate::support::*;
use phasehost::StopCode;
use phasehost_test_artifacts::*;

fn plan() -> phasehost::plan::Plan {
    TestPlan::write(
        &[],
        &[PhaseDef::new("source_pin", SOURCE_PIN_COMPONENT).grants(SOURCE_PIN_GRANTS)],
        "",
    )
    .load()
}

#[test]
fn the_constitution_pins_the_same_digests_in_two_fresh_instances() {
    let plan = plan();
    let bytes = std::fs::read(corpus("hien-phap.txt")).unwrap();
    let raw_sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    let dir = tempfile::tempdir().unwrap();
    let mut services = services("r1", Some(bytes.clone()));
    services.store = Some(sqlite_store(dir.path()));
    let first = run_phase(&plan, "source_pin", &services, "{}");
    let second = run_phase(&plan, "source_pin", &services, "{}");
    let first = first.outcome.unwrap();
    assert_eq!(first, second.outcome.unwrap());
    assert_eq!(first["raw_sha256"], raw_sha.as_str());
    assert_eq!(first["raw_bytes"], bytes.len() as u64);
    assert_eq!(first["was_nfc"], false, "the Constitution is not NFC");
    assert_ne!(first["normalized_sha256"], first["raw_sha256"]);
}

#[test]
fn the_empty_corpus_file_is_refused() {
    let bytes = std::fs::read(corpus("luat-ban-hanh-van-ban-quy-pham-phap-luat.txt")).unwrap();
    assert!(bytes.is_empty());
    let run = run_phase(&plan(), "source_pin", &services("r1", Some(bytes)), "{}");
    // Refused before it looks at the store.
    let stop = run.outcome.unwrap_err();
    assert_eq!(stop.code, StopCode::EmptySource);
    assert!(stop.message.contains("empty"), "{stop}");
}

#[test]
fn a_non_utf8_source_is_refused() {
    let run = run_phase(
        &plan(),
        "source_pin",
        &services("r1", Some(vec![b'a', 0xff, 0xfe])),
        "{}",
    );
    assert_eq!(run.outcome.unwrap_err().code, StopCode::BadEncoding);
}

#[test]
fn a_nul_is_refused_by_the_phase_with_its_byte_offset() {
    let run = run_phase(
        &plan(),
        "source_pin",
        &services("r1", Some(b"Dieu 1.\n\0x".to_vec())),
        "{}",
    );
    let stop = run.outcome.unwrap_err();
    assert_eq!(stop.code, StopCode::BadEncoding);
    assert!(
        stop.message
            .contains("U+0000 NUL at byte offset 8 (line 2)"),
        "{stop}"
    );
}

/// The Constitution with `insert` put right after the heading "Điều 7."
/// (line 70), written to a fresh folder; (folder guard, source, byte offset).
fn constitution_with(insert: &str) -> (tempfile::TempDir, std::path::PathBuf, usize) {
    let text = std::fs::read_to_string(corpus("hien-phap.txt")).unwrap();
    let at = text.find("\nĐiều 7.").unwrap() + 1 + "Điều 7.".len();
    let mut edited = text.clone();
    edited.insert_str(at, insert);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("hien-phap.txt");
    std::fs::write(&src, edited).unwrap();
    (dir, src, at)
}

/// A NUL passed source_pin, mark, cutplan and SG_1 once and only failed at
/// cut_leg_a with a misleading capability-denied: now the run stops at
/// source_pin with bad-encoding, naming the byte offset and line, before
/// any other phase runs and with nothing written.
#[test]
fn a_source_with_a_nul_stops_at_source_pin_naming_the_byte_offset() {
    let iu = crate::iu_cut::IuCut::new(|_| {});
    let (_dir, src, at) = constitution_with("\0");
    let (folder, outcome) = iu.run(&src, true);
    let phasehost::run::Outcome::Stopped(stop) = outcome else {
        panic!("expected a stop, got {outcome:?}")
    };
    assert_eq!(stop.code, StopCode::BadEncoding, "{stop}");
    assert_eq!(stop.phase.as_deref(), Some("source_pin"));
    let offset = format!("U+0000 NUL at byte offset {at} (line 70)");
    assert!(stop.message.contains(&offset), "{stop}");
    let stop_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("stop.json")).unwrap()).unwrap();
    assert_eq!(stop_json["code"], "bad-encoding");
    assert!(
        stop_json["message"].as_str().unwrap().contains(&offset),
        "{stop_json}"
    );
    let state = phasehost::run::state::RunState::load(&folder).unwrap();
    assert!(state.phases.is_empty(), "no phase completed");
    assert_eq!(iu.query("SELECT count(*) FROM units"), 0, "nothing written");
    assert_eq!(iu.query("SELECT count(*) FROM source_versions"), 0);
}

/// U+202E in the heading of article 7: G-PLAN-NO-BIDI-CONTROLS stops the
/// run after cutplan (before SG_1 is asked for), naming the line and the
/// character; with cutplan's `allow_bidi_controls = true` the run goes on
/// and the SG_1 review warns about it.
#[test]
fn a_bidi_override_in_a_heading_stops_after_cutplan_naming_the_predicate() {
    let iu = crate::iu_cut::IuCut::new(|_| {});
    let (_dir, src, _) = constitution_with("\u{202E}");
    let (folder, outcome) = iu.run(&src, true);
    let phasehost::run::Outcome::Stopped(stop) = outcome else {
        panic!("expected a stop, got {outcome:?}")
    };
    assert_eq!(stop.code, StopCode::InvariantFailed, "{stop}");
    assert_eq!(stop.phase.as_deref(), Some("cutplan"));
    assert!(stop.message.contains("G-PLAN-NO-BIDI-CONTROLS"), "{stop}");
    assert!(
        stop.message
            .contains("line 70: U+202E RIGHT-TO-LEFT OVERRIDE"),
        "{stop}"
    );
    let stop_json = std::fs::read_to_string(folder.join("stop.json")).unwrap();
    assert!(stop_json.contains("G-PLAN-NO-BIDI-CONTROLS"), "{stop_json}");
    let state = phasehost::run::state::RunState::load(&folder).unwrap();
    assert!(
        state.phases.iter().all(|p| p.phase != "pre_write_backup"),
        "stopped before SG_1"
    );
    assert_eq!(iu.query("SELECT count(*) FROM units"), 0, "nothing written");

    let allowing = crate::iu_cut::IuCut::new(|doc| {
        for table in doc["phases"].as_array_of_tables_mut().unwrap().iter_mut() {
            if table["name"].as_str() == Some("cutplan") {
                table["config"]["allow_bidi_controls"] = toml_edit::value(true);
            }
        }
    });
    let (folder, outcome) = allowing.run(&src, true);
    assert_eq!(outcome, phasehost::run::Outcome::Completed);
    let plan = crate::iu_cut::evidence(&folder, "cutplan");
    assert_eq!(plan["control_chars"]["allowed"], true);
    let warnings = plan["review"]["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w["line"] == 70
            && w["text"] == "invisible control/bidi character U+202E RIGHT-TO-LEFT OVERRIDE"),
        "{warnings:?}"
    );
}

/// A run reads its source once: the bytes the fingerprint hashed are the
/// bytes the phases get. Here the file changes after the fingerprint was
/// taken and before the plugins load (the `on_created` hook); source_pin
/// still pins the bytes the run recorded. (When the host read the file a
/// second time for the phases, the run pinned bytes its fingerprint did
/// not name.)
#[test]
fn a_source_changed_after_the_fingerprint_is_not_what_the_phases_read() {
    let plan = TestPlan::write(
        &[("iu-gates", IU_GATES_COMPONENT)],
        &[PhaseDef::new("source_pin", SOURCE_PIN_COMPONENT)
            .head("gates_before = [\"G-HOST-CONTEXT\"]")
            .grants(SOURCE_PIN_GRANTS)],
        "[store]\nsqlite = \"store.sqlite\"\n",
    );
    let host = plan.dir.path().join("host.toml");
    std::fs::write(&host, host_config_runtime()).unwrap();
    let source = plan.dir.path().join("luat-x.txt");
    let original = "Điều 1. Bản được ký.\n";
    std::fs::write(&source, original).unwrap();
    let changed = source.clone();
    let mut rewrite = |_: &str| {
        std::fs::write(&changed, "Điều 1. Bản đã đổi sau khi ký.\n").unwrap();
        Ok(())
    };
    let report = phasehost::run::start_with(
        &phasehost::run::StartRequest {
            plan: plan.path.clone(),
            source,
            live: false,
            host_config: Some(host),
            as_key: None,
        },
        phasehost::run::RunHooks {
            on_created: Some(&mut rewrite),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(report.outcome, phasehost::run::Outcome::Completed);
    let folder = report.folder.unwrap();
    let state = phasehost::run::state::RunState::load(&folder).unwrap();
    let original_sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(original));
    assert_eq!(state.fingerprint.source_sha256, original_sha);
    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join(&state.phases[0].document)).unwrap())
            .unwrap();
    assert_eq!(
        document["evidence"]["raw_sha256"], original_sha,
        "source_pin pinned other bytes than the run's fingerprint"
    );
}
