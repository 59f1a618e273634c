//! `mark_report`: the marker-looking lines outside quotations that did not
//! become regions, and which of them are *absorbed markers* (what
//! `G-MARK-NO-ABSORBED-MARKERS` stops); the review facts of `iu_core::review`
//! on real and broken texts.

mod common;

use common::{CORPUS, cut_text, raw};
use iu_core::review::{controls, numbering};
use iu_core::{Caps, RegionKind, Why, mark_report};

fn report(text: &str) -> iu_core::MarkReport {
    mark_report(text, &Caps::default()).expect("mark").1
}

/// The Constitution with its heading "Điều 7." mistyped "Điều 70.".
fn mistyped_constitution() -> String {
    let text = iu_core::pin(&raw("hien-phap.txt")).unwrap().normalized;
    let at = text.find("\nĐiều 7.\n").expect("Điều 7.") + 1;
    let mut out = text.clone();
    out.replace_range(at..at + "Điều 7.".len(), "Điều 70.");
    out
}

#[test]
fn the_constitution_has_no_unmarked_line_and_the_same_regions() {
    let text = iu_core::pin(&raw("hien-phap.txt")).unwrap().normalized;
    let (regions, report) = mark_report(&text, &Caps::default()).unwrap();
    assert_eq!(regions, iu_core::mark(&text, &Caps::default()).unwrap());
    assert!(report.unmarked.is_empty(), "{:?}", report.unmarked);
    assert_eq!(report.absorbed().count(), 0);
    assert_eq!(report.lines, 969);
    assert_eq!(report.closing_line, Some(958));
    let (_, _, plan) = common::cut_file("hien-phap.txt");
    let n = numbering(&plan.units);
    assert_eq!(n.summary(), "1–120; no gap; repeats: none");
    assert_eq!(n.articles, 120);
    assert_eq!(controls(&text).count, 0);
}

#[test]
fn a_mistyped_article_number_absorbs_the_articles_below_it() {
    let text = mistyped_constitution();
    let r = report(&text);
    let absorbed: Vec<_> = r.absorbed().collect();
    let first = absorbed[0];
    assert_eq!(first.line, 76, "{first:?}");
    assert_eq!(first.kind, RegionKind::Article);
    assert_eq!(first.label, "8");
    assert_eq!(first.reason, Why::ArticleBelowLast);
    assert_eq!(first.into, "art_70__para_2");
    assert_eq!(first.excerpt, "Điều 8.");
    // Articles 8–69 (62 headings) and the clauses cut loose with them.
    let articles = absorbed
        .iter()
        .filter(|u| u.kind == RegionKind::Article)
        .count();
    assert_eq!(articles, 62);
    assert_eq!(absorbed.len(), 149);
    let (_, _, plan) = cut_text(&text);
    assert_eq!(plan.units.len(), 228);
    assert_eq!(
        numbering(&plan.units).summary(),
        "1–6, 70–120; gap 7–69; repeats: 70 (×2)"
    );
}

#[test]
fn a_mistyped_article_keyword_leaves_its_clauses_absorbed() {
    // "Điêu 2." is not a marker: its clause 1 follows clause 2 of article 1.
    let text = "LUẬT\n\nĐiều 1. Một\n\n1. Một.\n\n2. Hai.\n\nĐiêu 2. Hai\n\n1. Ba.\n";
    let r = report(text);
    let absorbed: Vec<_> = r.absorbed().collect();
    assert_eq!(absorbed.len(), 1, "{:?}", r.unmarked);
    assert_eq!(absorbed[0].line, 11);
    assert_eq!(absorbed[0].kind, RegionKind::Clause);
    assert_eq!(absorbed[0].reason, Why::OutOfSequence);
    assert_eq!(absorbed[0].into, "art_1__para_2");
}

#[test]
fn references_points_quotations_and_the_closing_are_not_absorbed() {
    let text = "LUẬT\n\n\
        Điều 1. Một\n\n\
        1. Một:\n\na) A;\n\nb) B;\n\na) A lại;\n\n\
        Điều 11 của Luật này.\n\n\
        Điều 2. Sửa đổi\n\n“Điều 1. Trích dẫn\n\n1. Khoản trích.”\n\n\
        Luật này đã được Quốc hội khóa XIII thông qua ngày 1 tháng 1 năm 2020.\n\n\
        PHỤ LỤC\n\n1. Danh mục\n\nĐiều 1. Mẫu\n";
    let r = report(text);
    assert_eq!(r.absorbed().count(), 0, "{:?}", r.unmarked);
    let why: Vec<(u64, RegionKind, Why)> = r
        .unmarked
        .iter()
        .map(|u| (u.line, u.kind, u.reason))
        .collect();
    assert_eq!(
        why,
        [
            (11, RegionKind::Point, Why::OutOfSequence),
            (13, RegionKind::Article, Why::ArticleReference),
            (25, RegionKind::Clause, Why::InClosing),
            (27, RegionKind::Article, Why::InClosing),
        ]
    );
    assert_eq!(r.quoted_lines, 2);
    assert_eq!(r.closing_line, Some(21));
    assert_eq!(r.unmarked[2].into, "conclusions");
}

#[test]
fn an_excerpt_hides_control_characters_and_is_cut() {
    let long = "x".repeat(200);
    let text = format!("Điều 5.\n\nA.\n\nĐiều 3.\u{202E} {long}\n");
    let r = report(&text);
    let u = r.absorbed().next().expect("absorbed");
    assert_eq!(u.line, 5);
    assert!(
        u.excerpt.starts_with("Điều 3.\u{FFFD} xxx"),
        "{}",
        u.excerpt
    );
    assert!(u.excerpt.ends_with('…'));
    assert_eq!(
        u.excerpt.chars().count(),
        iu_core::structure::EXCERPT_CHARS + 1
    );
}

#[test]
fn no_corpus_file_has_an_absorbed_marker() {
    let mut names: Vec<String> = std::fs::read_dir(CORPUS)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 110);
    let mut absorbed = Vec::new();
    let mut unmarked = 0;
    for name in &names {
        let Ok(p) = iu_core::pin(&raw(name)) else {
            continue;
        };
        let r = report(&p.normalized);
        unmarked += r.unmarked.len();
        absorbed.extend(
            r.absorbed()
                .map(|u| format!("{name}:{} {}", u.line, u.excerpt)),
        );
    }
    assert!(absorbed.is_empty(), "{absorbed:#?}");
    // Measured: 14 points out of sequence, 21 numbered lines in annexes,
    // one sentence starting "Điều 11 của Luật này.".
    assert_eq!(unmarked, 36);
}
