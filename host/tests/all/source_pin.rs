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
