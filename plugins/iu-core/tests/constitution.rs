//! The 2013 Constitution: 11 chapters, 120 articles, checked against counts
//! made independently of the library.

mod common;

use common::{cut_file, raw};
use iu_core::{RegionKind, reassemble, stored_from_plan, structural_probes};
use std::collections::BTreeSet;

const FILE: &str = "hien-phap.txt";

fn count(plan: &iu_core::CutPlan, kind: &str) -> u64 {
    plan.counts.get(kind).copied().unwrap_or(0)
}

/// Chapters before the enactment sentence; articles, clauses, points from
/// the first article to it — counted with plain `str` methods, no code
/// shared with the library.
fn independent_counts(text: &str) -> (usize, usize, usize, usize) {
    let body: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Hiến pháp này đã được Quốc hội"))
        .collect();
    let is_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let chapters = body.iter().filter(|l| l.starts_with("Chương ")).count();
    let first_article = body
        .iter()
        .position(|l| l.starts_with("Điều "))
        .unwrap_or(body.len());
    let body = &body[first_article..];
    let articles = body
        .iter()
        .filter_map(|l| l.strip_prefix("Điều "))
        .filter(|rest| is_digits(rest.trim_end_matches('.')))
        .count();
    let clauses = body
        .iter()
        .filter_map(|l| l.split_once(". "))
        .filter(|(num, after)| is_digits(num) && !after.is_empty())
        .count();
    let points = body
        .iter()
        .filter(|l| {
            let mut cs = l.chars();
            matches!((cs.next(), cs.next()), (Some(c), Some(')')) if c.is_lowercase())
        })
        .count();
    (chapters, articles, clauses, points)
}

#[test]
fn constitution_cuts_into_11_chapters_and_120_articles() {
    let (pinned, regions, plan) = cut_file(FILE);
    assert!(
        !pinned.was_nfc,
        "hien-phap.txt is stored in decomposed form"
    );
    assert_eq!(count(&plan, "chapter"), 11);
    assert_eq!(count(&plan, "article"), 120);
    assert_eq!(count(&plan, "preamble"), 1);
    assert_eq!(count(&plan, "closing"), 1);

    let (chapters, articles, clauses, points) = independent_counts(&pinned.normalized);
    assert_eq!((chapters, articles), (11, 120));
    assert_eq!(count(&plan, "clause"), clauses as u64);
    assert_eq!(count(&plan, "point"), points as u64);
    assert_eq!((clauses, points), (244, 0));

    // Chapters carry their arabic eIds and the title of the next line.
    let chapters: Vec<_> = plan
        .units
        .iter()
        .filter(|u| u.kind == RegionKind::Chapter)
        .collect();
    let eids: Vec<_> = chapters.iter().map(|u| u.eid.as_str()).collect();
    let expected: Vec<String> = (1..=11).map(|n| format!("chp_{n}")).collect();
    assert_eq!(eids, expected);
    assert_eq!(chapters[0].number, "I");
    assert_eq!(chapters[0].heading, "CHẾ ĐỘ CHÍNH TRỊ");
    assert_eq!(chapters[10].number, "XI");

    // Articles 1..=120 in order, children of chapters; clauses under articles.
    let arts: Vec<_> = plan
        .units
        .iter()
        .filter(|u| u.kind == RegionKind::Article)
        .collect();
    for (i, a) in arts.iter().enumerate() {
        assert_eq!(a.eid, format!("art_{}", i + 1));
        assert!(a.parent_eid.as_deref().unwrap().starts_with("chp_"));
    }
    let art2_clauses: Vec<_> = plan
        .units
        .iter()
        .filter(|u| u.parent_eid.as_deref() == Some("art_2"))
        .map(|u| u.eid.as_str())
        .collect();
    assert_eq!(
        art2_clauses,
        ["art_2__para_1", "art_2__para_2", "art_2__para_3"]
    );

    // Closing = enactment sentence + signature.
    let closing = plan.units.last().unwrap();
    assert_eq!(closing.eid, "conclusions");
    assert!(closing.text.starts_with("Hiến pháp này đã được Quốc hội"));
    assert!(closing.text.contains("Nguyễn Sinh Hùng"));

    // Mark evidence agrees with the plan and is stable.
    assert_eq!(iu_core::evidence::counts(&regions), plan.counts);
    assert!(iu_core::evidence::duplicates(&regions).is_empty());
    assert_eq!(
        iu_core::evidence::region_list_digest(&regions),
        iu_core::evidence::region_list_digest(
            &iu_core::mark(&pinned.normalized, &Default::default()).unwrap()
        )
    );

    // Coverage, reassembly, uniqueness, determinism, probes.
    assert_eq!(plan.coverage_bytes, plan.body_bytes);
    assert_eq!(reassemble(&plan.units), pinned.normalized);
    let unique: BTreeSet<_> = plan.units.iter().map(|u| &u.eid).collect();
    assert_eq!(unique.len(), plan.units.len());
    let again = iu_core::cut_plan(FILE, "v1", &pinned.normalized, &regions).unwrap();
    assert_eq!(plan.digest, again.digest);
    let (_, _, third) = cut_file(FILE);
    assert_eq!(plan.digest, third.digest);
    let other = iu_core::cut_plan(FILE, "v2", &pinned.normalized, &regions).unwrap();
    assert_ne!(plan.digest, other.digest);
    let probes = structural_probes(
        &plan,
        &stored_from_plan(&plan),
        &pinned.normalized_sha256,
        &regions,
    );
    assert!(probes.all_true(), "{:?}", probes.failed());
}

#[test]
fn nfc_matters_raw_text_has_fewer_articles() {
    let naive = |text: &str| {
        text.lines()
            .filter(|l| {
                l.strip_prefix("Điều ")
                    .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
            })
            .count()
    };
    let bytes = raw(FILE);
    let raw_text = String::from_utf8(bytes.clone()).unwrap();
    let pinned = iu_core::pin(&bytes).unwrap();
    assert_eq!(naive(&raw_text), 113);
    assert_eq!(naive(&pinned.normalized), 120);
    assert_ne!(pinned.raw_sha256, pinned.normalized_sha256);
}

#[test]
fn plan_serializes_and_round_trips() {
    let (pinned, _, plan) = cut_file(FILE);
    let json = serde_json::to_string(&plan).unwrap();
    let back: iu_core::CutPlan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, plan);
    let pin_json = serde_json::to_string(&pinned).unwrap();
    assert!(
        !pin_json.contains("\"normalized\""),
        "the text itself is not evidence"
    );
    assert!(pin_json.contains(&pinned.raw_sha256));
}

/// Cutting regions fresh from `mark_text` takes each unit's `text_sha`
/// from its region instead of hashing the span again: the plan is the one
/// `cut_plan` makes, which checks every span's digest.
#[test]
fn cutting_marked_regions_gives_the_checked_plan() {
    let pinned = iu_core::pin(&common::raw(FILE)).unwrap();
    let marked = iu_core::mark_text(&pinned.normalized, &Default::default()).unwrap();
    let checked = iu_core::cut_plan(FILE, "v1", &pinned.normalized, marked.regions()).unwrap();
    assert_eq!(marked.cut(FILE, "v1").unwrap(), checked);
}
