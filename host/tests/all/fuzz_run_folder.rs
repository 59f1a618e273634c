//! Hostile run folders, fuzzed: `status`, `approve` and the state, approval
//! and evidence readers on mutated `state.json`, approval files and evidence
//! documents must answer with a typed refusal (or succeed), never panic.
//!
//! Each property runs `PHASEHOST_FUZZ_CASES` cases (default 1000, so the
//! test suite stays fast); the 1,000,000-case runs are
//! `PHASEHOST_FUZZ_CASES=1000000 cargo test --release -p phasehost --test all fuzz_run_folder`.

use crate::orchestrator::*;
use phasehost::StopCode;
use phasehost::run::state::RunState;
use phasehost::run::{self, RunFolder};
use phasehost_policy::approval::{self, Expectation, MemoryLedger, TrustStore};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::Path;
use std::sync::OnceLock;

fn cases() -> u32 {
    std::env::var("PHASEHOST_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// One byte-level mutation of a file's text.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
    /// Replace a JSON scalar (the n-th string or number) with another.
    Scalar(usize, String),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, v)| Edit::Insert(i, v)),
        (any::<usize>(), 1usize..16).prop_map(|(i, n)| Edit::Delete(i, n)),
        any::<usize>().prop_map(Edit::Truncate),
        (
            any::<usize>(),
            prop_oneof![
                Just("\"\"".to_string()),
                Just("\"ab\"".to_string()),
                Just("-1".to_string()),
                Just("18446744073709551616".to_string()),
                Just("null".to_string()),
                Just("[]".to_string()),
                Just("{}".to_string()),
                Just("\"../../etc\"".to_string()),
                Just("\"sg9\"".to_string()),
                "\"[a-z0-9./]{0,70}\"".prop_map(|s| s),
                (0u64..u64::MAX).prop_map(|n| n.to_string()),
            ]
        )
            .prop_map(|(i, s)| Edit::Scalar(i, s)),
    ]
}

fn apply(original: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for e in edits {
        let len = bytes.len().max(1);
        match e {
            Edit::Flip(i, b) => {
                if !bytes.is_empty() {
                    let i = i % bytes.len();
                    bytes[i] ^= b | 1;
                }
            }
            Edit::Insert(i, v) => {
                let i = i % (bytes.len() + 1);
                bytes.splice(i..i, v.iter().copied());
            }
            Edit::Delete(i, n) => {
                let i = i % len;
                let end = (i + n).min(bytes.len());
                if i < end {
                    bytes.drain(i..end);
                }
            }
            Edit::Truncate(i) => bytes.truncate(i % len),
            Edit::Scalar(i, s) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let spans: Vec<(usize, usize)> = scalar_spans(&text);
                if !spans.is_empty() {
                    let (a, b) = spans[i % spans.len()];
                    bytes = format!("{}{}{}", &text[..a], s, &text[b..]).into_bytes();
                }
            }
        }
    }
    bytes
}

/// Byte spans of JSON string and number tokens (good enough for mutation).
fn scalar_spans(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            let end = (i + 1).min(b.len());
            if text.is_char_boundary(start) && text.is_char_boundary(end) {
                spans.push((start, end));
            }
        } else if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            spans.push((start, i));
            continue;
        }
        i += 1;
    }
    spans
}

/// A real paused run (dry, SG_1 approved, paused at SG_2) to mutate.
struct Sample {
    p: Pipeline,
    folder: std::path::PathBuf,
    state: Vec<u8>,
    approval: Vec<u8>,
    evidence: Vec<u8>,
}

fn sample() -> &'static Sample {
    static SAMPLE: OnceLock<Sample> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let p = Pipeline::new();
        let folder = p.to_sg2(false);
        let read = |rel: &str| std::fs::read(folder.join(rel)).unwrap();
        Sample {
            state: read("state.json"),
            approval: std::fs::read(crate::support::approval_file(&folder, "sg1", &p.key)).unwrap(),
            evidence: read("evidence/03-beta.json"),
            folder,
            p,
        }
    })
}

/// A private copy of the sample run folder (so cases never share files).
fn scratch(s: &Sample) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let run_id = s.folder.file_name().unwrap();
    let folder = dir.path().join(run_id);
    for sub in ["evidence", "artifacts", "approvals"] {
        std::fs::create_dir_all(folder.join(sub)).unwrap();
    }
    for entry in std::fs::read_dir(s.folder.join("evidence")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            folder.join("evidence").join(entry.file_name()),
        )
        .unwrap();
    }
    (dir, folder)
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    proptest::collection::vec(edit(), 1..4)
}

#[test]
fn status_and_the_state_reader_never_panic_on_a_mutated_state_file() {
    let s = sample();
    let (_dir, folder) = scratch(s);
    std::fs::write(
        crate::support::approval_file(&folder, "sg1", &s.p.key),
        &s.approval,
    )
    .unwrap();
    runner()
        .run(&edits(), |edits| {
            std::fs::write(folder.join("state.json"), apply(&s.state, &edits)).unwrap();
            match RunState::load(&folder) {
                Ok(_) => {}
                Err(stop) => prop_assert_eq!(stop.code, StopCode::CorruptState),
            }
            let _ = run::status(&folder, Some(&s.p.plan.path));
            Ok(())
        })
        .unwrap();
}

#[test]
fn approval_files_are_refused_with_a_type_never_a_panic() {
    let s = sample();
    let (_dir, folder) = scratch(s);
    let path = crate::support::approval_file(&folder, "sg1", &s.p.key);
    let key = approval::load_signing_key(&s.p.key).unwrap();
    let mut trust = TrustStore::new();
    trust.insert(key.signing_key().verifying_key());
    let run_id = s.folder.file_name().unwrap().to_str().unwrap().to_string();
    let expect = Expectation::new(run_id, crate::support::sg1(), DIGEST_A, 86_400);
    runner()
        .run(&edits(), |edits| {
            let bytes = apply(&s.approval, &edits);
            let _ = std::fs::remove_file(&path);
            std::fs::write(&path, &bytes).unwrap();
            if let Ok(signed) = approval::load_approval(&path) {
                let ledger = MemoryLedger::new();
                let verified =
                    approval::verify(&signed, &expect, &trust, &ledger, run::ids::now_secs());
                // A mutation that still verifies must be the same statement.
                if verified.is_ok() {
                    prop_assert_eq!(
                        &signed,
                        &approval::SignedApproval::from_json(
                            std::str::from_utf8(&s.approval).unwrap()
                        )
                        .unwrap()
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn approve_never_signs_and_never_panics_on_mutated_evidence_or_state() {
    let s = sample();
    let (_dir, folder) = scratch(s);
    let doc = folder.join("evidence/03-beta.json");
    let approval_file = crate::support::approval_file(&folder, "sg2", &s.p.key);
    let honest_doc = std::fs::read(&doc).unwrap();
    runner()
        .run(&(edits(), any::<bool>()), |(edits, on_state)| {
            if on_state {
                std::fs::write(&doc, &honest_doc).unwrap();
                std::fs::write(folder.join("state.json"), apply(&s.state, &edits)).unwrap();
            } else {
                std::fs::write(folder.join("state.json"), &s.state).unwrap();
                std::fs::write(&doc, apply(&s.evidence, &edits)).unwrap();
            }
            let _ = std::fs::remove_file(&approval_file);
            let result =
                crate::support::approve(&folder, crate::support::sg2(), &s.p.key, &s.p.plan.path);
            if result.is_ok() {
                // Signed only what the untouched run would have signed.
                let signed = approval::load_approval(&approval_file).unwrap();
                prop_assert_eq!(signed.statement.evidence_digest, DIGEST_B);
            }
            Ok(())
        })
        .unwrap();
    let _ = RunFolder::open(Path::new(&folder));
}
