//! The plan artifact holds each unit's span, not its text: `with_texts`
//! cuts the texts from the source again and refuses a source or a span
//! that does not give the text the plan digest (through each `text_sha`)
//! stands for. Its binary form (`artifact`) gives back the plan it was
//! made of and refuses bytes that are not one whole artifact.

mod common;

use common::constitution;
use iu_phases::artifact::{self, MAGIC, PlannedSource};
use iu_phases::common::with_texts;
use iu_phases::memory::iu_cut_store;
use iu_phases::{Input, RefusalKind};

const DOC: &str = "hien-phap";

/// The Constitution's plan as `cutplan` puts it in the artifact (texts
/// cleared), with the plan as cut (texts kept).
fn planned() -> (PlannedSource, iu_core::CutPlan) {
    let raw = constitution();
    let pinned = iu_core::pin(&raw).unwrap();
    let regions = iu_core::mark(&pinned.normalized, &iu_core::Caps::default()).unwrap();
    let plan = iu_core::cut_plan(DOC, "v1", &pinned.normalized, &regions).unwrap();
    let mut spans = plan.clone();
    for unit in &mut spans.units {
        unit.text.clear();
    }
    let mut facts = pinned.clone();
    facts.normalized.clear();
    let planned = PlannedSource {
        plan: spans,
        pinned: facts,
        title: String::new(),
    };
    (planned, plan)
}

fn input() -> Input {
    Input {
        document_id: DOC.into(),
        version: "v1".into(),
        ..Input::default()
    }
}

#[test]
fn the_texts_cut_from_the_pinned_source_are_the_plans() {
    let (mut planned, plan) = planned();
    let mut store = iu_cut_store(DOC, constitution());
    with_texts(&input(), &mut planned, &mut store).unwrap();
    assert_eq!(planned.plan, plan);
}

#[test]
fn a_span_moved_in_the_artifact_is_refused() {
    let (mut planned, _) = planned();
    let unit = &mut planned.plan.units[3];
    unit.end -= 1;
    let eid = unit.eid.clone();
    let mut store = iu_cut_store(DOC, constitution());
    let refused = with_texts(&input(), &mut planned, &mut store).unwrap_err();
    assert_eq!(refused.kind, RefusalKind::InvariantFailed, "{refused:?}");
    assert!(refused.message.contains(&eid), "{}", refused.message);
}

#[test]
fn a_span_outside_the_source_is_refused() {
    let (mut planned, _) = planned();
    let last = planned.plan.units.last_mut().unwrap();
    last.end += 1_000_000;
    let mut store = iu_cut_store(DOC, constitution());
    let refused = with_texts(&input(), &mut planned, &mut store).unwrap_err();
    assert_eq!(refused.kind, RefusalKind::InvariantFailed, "{refused:?}");
    assert!(
        refused.message.contains("spans bytes"),
        "{}",
        refused.message
    );
}

#[test]
fn another_source_than_the_plans_is_refused() {
    let (mut planned, _) = planned();
    let mut other = constitution();
    other.extend_from_slice("\nĐiều 121. Thêm\n".as_bytes());
    let mut store = iu_cut_store(DOC, other);
    let refused = with_texts(&input(), &mut planned, &mut store).unwrap_err();
    assert_eq!(refused.kind, RefusalKind::InvariantFailed, "{refused:?}");
    assert!(
        refused.message.contains("the plan was cut from"),
        "{}",
        refused.message
    );
}

/// The Constitution's artifact as `cutplan` puts it.
fn encoded() -> (Vec<u8>, PlannedSource) {
    let (planned, plan) = planned();
    let mut pinned = iu_core::pin(&constitution()).unwrap();
    let title = iu_phases::common::title_of(&pinned.normalized);
    let bytes = artifact::encode(&plan, &pinned, &title).unwrap();
    pinned.normalized.clear();
    let expected = PlannedSource {
        title,
        pinned,
        ..planned
    };
    (bytes, expected)
}

#[test]
fn the_artifact_gives_back_the_plan_without_texts_in_a_third_of_the_json() {
    let (bytes, expected) = encoded();
    let decoded = artifact::decode(&bytes).unwrap();
    // Every field, the plan digest, the counts and the coverage computed
    // again from the units included.
    assert_eq!(decoded, expected);
    assert!(decoded.plan.units.iter().all(|u| u.text.is_empty()));
    let source = iu_core::pin(&constitution()).unwrap().normalized;
    let text = &source[decoded.plan.units[5].start..decoded.plan.units[5].end];
    assert!(!text.is_empty());
    assert!(
        !bytes.windows(text.len()).any(|w| w == text.as_bytes()),
        "no unit text in the artifact"
    );
    let json = serde_json::to_vec(&expected.plan).unwrap();
    assert!(
        bytes.len() * 3 < json.len(),
        "{} bytes, the JSON plan {}",
        bytes.len(),
        json.len()
    );
}

#[test]
fn bytes_that_are_not_one_whole_artifact_are_refused() {
    let (bytes, _) = encoded();
    let mut other_version = bytes.clone();
    other_version[MAGIC.len() - 2] = b'1';
    let mut trailing = bytes.clone();
    trailing.push(0);
    let json = serde_json::to_vec(&planned().1).unwrap();
    for (what, bad, says) in [
        ("empty", Vec::new(), "not a plan artifact"),
        ("JSON", json, "not a plan artifact"),
        ("another version", other_version, "not a plan artifact"),
        (
            "cut short",
            bytes[..bytes.len() - 7].to_vec(),
            "does not decode",
        ),
        ("a byte after it", trailing, "follow the plan"),
    ] {
        let refused = artifact::decode(&bad).expect_err(what);
        assert!(refused.contains(says), "{what}: {refused}");
    }
}

#[test]
fn a_unit_edited_in_the_artifact_changes_the_plan_digest() {
    let (mut bytes, expected) = encoded();
    let at = bytes
        .windows(5)
        .position(|w| w == b"art_7")
        .expect("art_7 in the artifact");
    bytes[at + 4] = b'9';
    let decoded = artifact::decode(&bytes).unwrap();
    // `approved_plan` compares this digest with the one SG_1 approved.
    assert_ne!(decoded.plan.digest, expected.plan.digest);
}

#[test]
fn a_span_that_ends_before_it_starts_is_refused() {
    let (_, mut expected) = encoded();
    let source = iu_core::pin(&constitution()).unwrap();
    let unit = &mut expected.plan.units[2];
    (unit.start, unit.end) = (unit.end, unit.start);
    let bytes = artifact::encode(&expected.plan, &source, "t").unwrap();
    let refused = artifact::decode(&bytes).unwrap_err();
    assert!(refused.contains("spans bytes"), "{refused}");
}
