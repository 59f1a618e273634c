//! Each of the 11 structural probes holds on a faithful store and fails on
//! a store broken the way it guards against.

mod common;

use common::cut_file;
use iu_core::{
    CutPlan, Probes, Region, StoredUnit, sha256_hex, stored_from_plan, structural_probes,
};

struct Fixture {
    plan: CutPlan,
    regions: Vec<Region>,
    normalized_sha256: String,
    rows: Vec<StoredUnit>,
}

fn fixture() -> Fixture {
    let (pinned, regions, plan) = cut_file("hien-phap.txt");
    let rows = stored_from_plan(&plan);
    Fixture {
        plan,
        regions,
        normalized_sha256: pinned.normalized_sha256,
        rows,
    }
}

impl Fixture {
    fn probe(&self, rows: &[StoredUnit]) -> Probes {
        structural_probes(&self.plan, rows, &self.normalized_sha256, &self.regions)
    }

    fn index(&self, eid: &str) -> usize {
        self.rows.iter().position(|r| r.eid == eid).unwrap()
    }

    /// Applies `mutate` to a copy of the rows and returns the failed probes.
    fn broken(&self, mutate: impl FnOnce(&mut Vec<StoredUnit>)) -> Vec<&'static str> {
        let mut rows = self.rows.clone();
        mutate(&mut rows);
        self.probe(&rows).failed()
    }
}

#[test]
fn faithful_store_passes_all_probes_in_any_row_order() {
    let f = fixture();
    assert!(f.probe(&f.rows).all_true());
    let mut reversed = f.rows.clone();
    reversed.reverse();
    assert!(f.probe(&reversed).all_true(), "rows are ordered by seq");
    assert_eq!(f.probe(&f.rows).as_array().len(), 11);
}

#[test]
fn count_matches_fails_on_a_missing_row() {
    let f = fixture();
    let failed = f.broken(|rows| {
        rows.pop();
    });
    assert!(failed.contains(&"count_matches"), "{failed:?}");
}

#[test]
fn count_matches_fails_on_a_wrong_kind() {
    let f = fixture();
    let i = f.index("art_1");
    let failed = f.broken(|rows| rows[i].kind = "section".into());
    assert!(failed.contains(&"count_matches"), "{failed:?}");
}

#[test]
fn eids_unique_fails_on_a_repeated_eid() {
    let f = fixture();
    let i = f.index("art_2__para_2");
    let failed = f.broken(|rows| rows[i].eid = "art_2__para_1".into());
    assert!(failed.contains(&"eids_unique"), "{failed:?}");
}

#[test]
fn parents_exist_fails_on_an_orphan() {
    let f = fixture();
    let i = f.index("art_2__para_2");
    let failed = f.broken(|rows| rows[i].parent_eid = Some("art_999".into()));
    assert_eq!(failed, ["parents_exist", "ordinals_contiguous"]);
    let failed = f.broken(|rows| rows[i].parent_eid = Some(rows[i].eid.clone()));
    assert!(failed.contains(&"parents_exist"), "{failed:?}");
}

#[test]
fn ordinals_contiguous_fails_on_a_gap() {
    let f = fixture();
    let i = f.index("art_2__para_2");
    let failed = f.broken(|rows| rows[i].ordinal = 3);
    assert_eq!(failed, ["ordinals_contiguous"]);
}

#[test]
fn article_numbers_increasing_fails_on_swapped_numbers() {
    let f = fixture();
    let (a, b) = (f.index("art_1"), f.index("art_3"));
    let failed = f.broken(|rows| {
        rows[a].eid = "art_3".into();
        rows[b].eid = "art_1".into();
    });
    assert_eq!(failed, ["article_numbers_increasing", "region_sha_ok"]);
    let failed = f.broken(|rows| rows[a].eid = "art_one".into());
    assert!(failed.contains(&"article_numbers_increasing"), "{failed:?}");
}

#[test]
fn no_empty_text_fails_on_a_blank_row() {
    let f = fixture();
    let i = f.index("art_5");
    let failed = f.broken(|rows| {
        rows[i].text = "\n".into();
        rows[i].text_sha = sha256_hex(b"\n");
    });
    assert!(failed.contains(&"no_empty_text"), "{failed:?}");
    assert!(!failed.contains(&"text_sha_ok"), "{failed:?}");
}

#[test]
fn text_sha_ok_fails_on_a_wrong_digest() {
    let f = fixture();
    let i = f.index("art_5");
    let failed = f.broken(|rows| rows[i].text_sha = "0".repeat(64));
    assert_eq!(failed, ["text_sha_ok"]);
}

#[test]
fn region_sha_ok_fails_on_changed_text() {
    let f = fixture();
    let i = f.index("art_5");
    let failed = f.broken(|rows| {
        rows[i].text = rows[i].text.replacen("Điều", "Dieu", 1);
        rows[i].text_sha = sha256_hex(rows[i].text.as_bytes());
    });
    assert_eq!(failed, ["region_sha_ok", "reassembly_matches_source"]);
}

#[test]
fn reassembly_matches_source_fails_on_reordered_rows() {
    let f = fixture();
    let (a, b) = (f.index("art_2__para_1"), f.index("art_2__para_2"));
    let failed = f.broken(|rows| {
        let (sa, sb) = (rows[a].seq, rows[b].seq);
        rows[a].seq = sb;
        rows[b].seq = sa;
        rows[a].ordinal = 2;
        rows[b].ordinal = 1;
    });
    assert_eq!(failed, ["reassembly_matches_source"]);
    // Against another source.
    let wrong = sha256_hex(b"another text");
    let p = structural_probes(&f.plan, &f.rows, &wrong, &f.regions);
    assert_eq!(p.failed(), ["reassembly_matches_source"]);
}

#[test]
fn all_on_pinned_version_fails_on_another_version() {
    let f = fixture();
    let i = f.index("art_7");
    let failed = f.broken(|rows| rows[i].version = "v0".into());
    assert_eq!(failed, ["all_on_pinned_version"]);
}

#[test]
fn no_other_document_fails_on_a_foreign_row() {
    let f = fixture();
    let i = f.index("art_7");
    let failed = f.broken(|rows| rows[i].document_id = "luat-dat-dai.txt".into());
    assert_eq!(failed, ["no_other_document"]);
}
