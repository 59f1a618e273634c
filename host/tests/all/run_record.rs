//! What a run records for operators: timestamps on log lines, durations and
//! bytes per phase and per gate check; and sources that are not regular
//! files refused before anything runs (never a hang).

use crate::orchestrator::*;
use crate::support::*;
use phasehost::StopCode;
use phasehost::run::state::RunState;
use phasehost::run::{self, StartRequest};
use phasehost_test_artifacts::*;

#[test]
fn log_lines_carry_a_timestamp_and_phases_their_durations_and_bytes() {
    let p = Pipeline::with(
        &[PhaseDef::new("talker", TEST_PROBE_COMPONENT)
            .grants(PROBE_GRANTS)
            .config("mode = \"log\"\nmessage = \"hello\"")],
        "",
    );
    let folder = p.to_sg2(false);
    let log = std::fs::read_to_string(folder.join("log.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    let at = line["at"].as_str().unwrap();
    // 2026-12-02T14:13:28.123Z
    assert_eq!(at.len(), 24, "{at}");
    assert!(at.ends_with('Z') && at.as_bytes()[10] == b'T', "{at}");
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("evidence/03-beta.json")).unwrap())
            .unwrap();
    assert!(doc["timing"]["plugin_ms"].is_u64(), "{doc}");
    assert!(doc["timing"]["started_at"].is_string(), "{doc}");
    assert!(doc["bytes"]["evidence_out"].as_u64().unwrap() > 0, "{doc}");
    assert!(doc["bytes"]["evidence_in"].as_u64().unwrap() > 0, "{doc}");
    assert!(doc["gates_after"][0]["ms"].is_u64(), "{doc}");
    let state = RunState::load(&folder).unwrap();
    assert!(state.phases.iter().all(|r| r.duration_ms.is_some()));
}

#[test]
fn a_source_that_is_not_a_regular_file_is_refused_before_anything_runs() {
    let p = Pipeline::new();
    let fifo = p.dir().join("pipe.txt");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let folder = p.dir().join("a-folder.txt");
    std::fs::create_dir(&folder).unwrap();
    // A regular file the stat check passes but the bounded read refuses
    // (sparse: no disk used).
    let huge = p.dir().join("huge.txt");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len((256 << 20) + 1)
        .unwrap();
    for source in [fifo, folder, p.dir().join("missing.txt"), huge] {
        let err = run::start(&StartRequest {
            plan: p.plan.path.clone(),
            source: source.clone(),
            live: false,
            host_config: Some(p.host_config.clone()),
            as_key: None,
        })
        .unwrap_err();
        assert_eq!(err.code, StopCode::BadSource, "{}: {err}", source.display());
    }
    assert!(!p.kb().join("runs").exists(), "no run folder");
}
