//! The plan artifact holds each unit's span, not its text: `with_texts`
//! cuts the texts from the source again and refuses a source or a span
//! that does not give the text the plan digest (through each `text_sha`)
//! stands for.

mod common;

use common::constitution;
use iu_phases::common::{PlannedSource, with_texts};
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
    let json = serde_json::to_string(&spans).unwrap();
    assert!(!json.contains("\"text\""), "the artifact carries no texts");
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
