//! Every predicate holds on the evidence of a real run (the 11 phase
//! functions on the Constitution, with the host's pseudo-evidence), at the
//! checkpoint the host evaluates it; and every predicate fails when the
//! evidence it guards is made wrong.

use std::collections::BTreeMap;

use iu_gates::predicates::{ALL, evaluate};
use iu_phases::PHASES;
use iu_phases::harness::{RunRecord, RunSpec, run_iu_cut};
use iu_phases::memory::{MemoryStore, PhaseGrants};
use phasehost_sdk::EvidenceSet;
use serde_json::{Value, json};

const RUN: &str = "gates";
const ZERO: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn constitution() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/vlc/hien-phap.txt"
    ))
    .unwrap()
}

/// The store grants of plans/iu-cut.toml (only they feed `@host.plan_needs`).
fn spec(run_id: &str, dry: bool) -> RunSpec {
    let store: &[(&str, &[(&str, &str)])] = &[
        ("source_pin", &[("source_versions", "r")]),
        (
            "pre_write_backup",
            &[
                ("documents", "r"),
                ("source_versions", "r"),
                ("units", "r"),
                ("envelopes", "r"),
            ],
        ),
        (
            "cut_leg_a",
            &[
                ("documents", "ri"),
                ("source_versions", "ri"),
                ("units", "ri"),
            ],
        ),
        ("structural_verify", &[("units", "r")]),
        ("leg_b_record", &[("envelopes", "ri")]),
        ("write_verify", &[("units", "r"), ("envelopes", "r")]),
        (
            "lifecycle_enact",
            &[("source_versions", "ru"), ("units", "ru")],
        ),
    ];
    let mut grants = BTreeMap::new();
    for p in PHASES {
        let mut g = PhaseGrants {
            source: true,
            log: true,
            ..PhaseGrants::default()
        };
        if let Some((_, tables)) = store.iter().find(|(n, _)| *n == p) {
            g.store = tables
                .iter()
                .map(|(t, l)| (t.to_string(), l.to_string()))
                .collect();
        }
        g.artifacts = [("backup.json", "i"), ("DRYRUN", "i"), ("cutplan.bin", "ri")]
            .iter()
            .map(|(a, l)| (a.to_string(), l.to_string()))
            .collect();
        grants.insert(p.to_string(), g);
    }
    let mut spec = RunSpec::new(run_id, dry);
    spec.grants = Some(grants);
    spec
}

fn run(s: &mut MemoryStore, run_id: &str, dry: bool) -> RunRecord {
    run_iu_cut(s, &spec(run_id, dry)).unwrap_or_else(|(p, r, _)| panic!("{p}: {r}"))
}

fn set_of(items: &[(String, Value)]) -> EvidenceSet {
    let texts: Vec<(String, String)> = items
        .iter()
        .map(|(p, v)| (p.clone(), v.to_string()))
        .collect();
    EvidenceSet::parse(texts.iter().map(|(p, j)| (p.as_str(), j.as_str()))).unwrap()
}

fn parsed(rec: &RunRecord, len: usize) -> Vec<(String, Value)> {
    rec.evidence[..len]
        .iter()
        .map(|(p, j)| (p.clone(), serde_json::from_str(j).unwrap()))
        .collect()
}

fn prefix_for(rec: &RunRecord, phase: &str, after: bool) -> usize {
    rec.checkpoints
        .iter()
        .find(|c| c.phase == phase && c.after == after)
        .unwrap_or_else(|| panic!("no checkpoint {phase}"))
        .len
}

fn assert_all_hold(rec: &RunRecord) {
    for c in &rec.checkpoints {
        let set = set_of(&parsed(rec, c.len));
        for d in ALL
            .iter()
            .filter(|d| d.phase == c.phase && d.after == c.after)
        {
            let (holds, detail) =
                evaluate(d.name, &set).unwrap_or_else(|e| panic!("{}: {e}", d.name));
            assert!(holds, "{} should hold: {detail}", d.name);
        }
    }
}

#[test]
fn every_predicate_guards_a_phase_of_the_run() {
    for d in ALL {
        assert!(
            PHASES.contains(&d.phase),
            "{} guards unknown phase {}",
            d.name,
            d.phase
        );
        assert!(d.name.starts_with("G-") && !d.description.is_empty());
    }
    assert!(ALL.len() >= 41);
}

#[test]
fn every_predicate_holds_on_a_dry_run_of_the_constitution() {
    let mut s = iu_phases::memory::iu_cut_store("hien-phap", constitution());
    assert_all_hold(&run(&mut s, RUN, true));
}

#[test]
fn every_predicate_holds_when_a_second_version_replaces_the_first() {
    let raw = constitution();
    let mut s = iu_phases::memory::iu_cut_store("hien-phap", raw.clone());
    assert_all_hold(&run(&mut s, "live-1", false));
    let text = iu_core::pin(&raw)
        .unwrap()
        .normalized
        .replacen("dân tộc", "dân tộc anh em", 1);
    s.source = text.into_bytes();
    let second = run(&mut s, "live-2", false);
    let le: Value = serde_json::from_str(
        &second
            .evidence
            .iter()
            .find(|(p, _)| p == "lifecycle_enact")
            .unwrap()
            .1,
    )
    .unwrap();
    assert!(le["retired"].as_u64().unwrap() > 0);
    assert_eq!(le["changed"]["count"], 1);
    assert_all_hold(&second);
}

/// Set `path` (object keys) of the latest item of `phase` to `value`.
fn set(items: &mut [(String, Value)], phase: &str, path: &[&str], value: Value) {
    let (_, v) = items
        .iter_mut()
        .rev()
        .find(|(p, _)| p == phase)
        .unwrap_or_else(|| panic!("no {phase} in the prefix"));
    let (last, parents) = path.split_last().unwrap();
    let mut cur = v;
    for k in parents {
        cur = cur
            .get_mut(*k)
            .unwrap_or_else(|| panic!("{phase} has no {k}"));
    }
    cur.as_object_mut().unwrap().insert(last.to_string(), value);
}

type Mutation = (&'static str, Box<dyn Fn(&mut Vec<(String, Value)>)>);

/// Set a field of `phase` (which is also the evidence the predicate reads).
fn field(phase: &'static str, path: &'static [&'static str], value: Value) -> Mutation {
    (
        phase,
        Box::new(move |items| set(items, phase, path, value.clone())),
    )
}

/// One way to break each predicate.
fn mutations() -> BTreeMap<&'static str, Mutation> {
    let z = || json!(ZERO);
    let mut m: BTreeMap<&'static str, Mutation> = BTreeMap::new();
    m.insert(
        "G-HOST-CONTEXT",
        field("@host", &["store_kind"], json!("mysql")),
    );
    m.insert(
        "G-SOURCE-SHA-PINNED",
        field("source_pin", &["raw_sha256"], json!("abc")),
    );
    m.insert(
        "G-SOURCE-NONEMPTY",
        field("source_pin", &["raw_bytes"], json!(0)),
    );
    m.insert(
        "G-SOURCE-COUNTS-CONSISTENT",
        field("source_pin", &["chars"], json!(1u64 << 40)),
    );
    m.insert(
        "G-SOURCE-VERSION-NOT-RETIRED",
        field("source_pin", &["version_status"], json!("retired")),
    );
    m.insert(
        "G-SOURCE-VERSION-BOUND",
        field("source_pin", &["version_matches_source"], json!(false)),
    );
    m.insert(
        "G-MARK-SOURCE-MATCHES",
        field("mark", &["normalized_sha256"], z()),
    );
    m.insert(
        "G-MARK-CAPS-RESPECTED",
        field("mark", &["caps", "max_units"], json!(1)),
    );
    m.insert(
        "G-MARK-HAS-ARTICLES",
        field("mark", &["counts", "article"], json!(0)),
    );
    m.insert("G-MARK-REGION-COUNT", field("mark", &["regions"], json!(1)));
    m.insert(
        "G-MARK-REGION-DIGEST",
        field("mark", &["region_list_digest"], json!("x")),
    );
    m.insert(
        "G-MARK-NO-ABSORBED-MARKERS",
        field("mark", &["absorbed_markers", "count"], json!(1)),
    );
    m.insert(
        "G-PLAN-COVERAGE-100",
        field("cutplan", &["coverage_bytes"], json!(1)),
    );
    m.insert(
        "G-PLAN-UNITS-EQ-REGIONS",
        field("cutplan", &["units"], json!(1)),
    );
    m.insert(
        "G-PLAN-SOURCE-MATCHES",
        field("cutplan", &["normalized_sha256"], z()),
    );
    m.insert(
        "G-PLAN-REGION-DIGEST-MATCHES",
        field("cutplan", &["region_list_digest"], z()),
    );
    m.insert(
        "G-PLAN-DIGEST-WELLFORMED",
        field("cutplan", &["plan_digest"], json!("PLAN")),
    );
    m.insert(
        "G-PLAN-IDENTITY",
        field("cutplan", &["version"], json!("v-other")),
    );
    m.insert(
        "G-PLAN-NO-BIDI-CONTROLS",
        field("cutplan", &["control_chars", "count"], json!(1)),
    );
    m.insert(
        "G-PLAN-DIGEST-STABLE",
        field("@cutplan-rerun", &["plan_digest"], z()),
    );
    m.insert(
        "G-BACKUP-SHA-PRESENT",
        field("pre_write_backup", &["stored_sha256"], z()),
    );
    m.insert(
        "G-BACKUP-DRYRUN-MARKER",
        field("pre_write_backup", &["dry_run_marker"], json!(false)),
    );
    m.insert(
        "G-BACKUP-ALL-TABLES",
        field("pre_write_backup", &["rows", "envelopes"], Value::Null),
    );
    m.insert(
        "G-GRANT-PLAN-NO-DELETE",
        field("@host", &["plan_needs", "units"], json!("riud")),
    );
    m.insert(
        "G-GRANT-NONE-MISSING",
        field("grant_probe", &["missing"], json!(["units:i"])),
    );
    m.insert(
        "G-GRANT-NO-UNALLOWED-EXTRA",
        field("grant_probe", &["extra"], json!(["units:d"])),
    );
    m.insert(
        "G-GRANT-MATRIX-COVERS-NEEDS",
        field("grant_probe", &["needed", "units"], json!("r")),
    );
    m.insert("G-SG1-PRESENT", field("@sg1", &["approval_id"], json!("")));
    m.insert(
        "G-SG1-BOUND-TO-PLAN",
        field("@sg1", &["evidence_digest"], z()),
    );
    m.insert(
        "G-BACKUP-BEFORE-WRITE",
        field("pre_write_backup", &["backup_sha256"], json!("none")),
    );
    m.insert(
        "G-LEGA-ROWS-WRITTEN",
        field("cut_leg_a", &["units_in_store"], json!(1)),
    );
    m.insert(
        "G-LEGA-PLAN-BOUND",
        field("cut_leg_a", &["plan_digest"], z()),
    );
    m.insert(
        "G-LEGA-BATCHED",
        field("cut_leg_a", &["batch_count"], json!(5)),
    );
    for (name, probe) in [
        ("G-PROBE-COUNT-MATCHES", "count_matches"),
        ("G-PROBE-EIDS-UNIQUE", "eids_unique"),
        ("G-PROBE-PARENTS-EXIST", "parents_exist"),
        ("G-PROBE-ORDINALS-CONTIGUOUS", "ordinals_contiguous"),
        (
            "G-PROBE-ARTICLE-NUMBERS-INCREASING",
            "article_numbers_increasing",
        ),
        ("G-PROBE-NO-EMPTY-TEXT", "no_empty_text"),
        ("G-PROBE-TEXT-SHA-OK", "text_sha_ok"),
        ("G-PROBE-REGION-SHA-OK", "region_sha_ok"),
        (
            "G-PROBE-REASSEMBLY-MATCHES-SOURCE",
            "reassembly_matches_source",
        ),
        ("G-PROBE-ALL-ON-PINNED-VERSION", "all_on_pinned_version"),
        ("G-PROBE-NO-OTHER-DOCUMENT", "no_other_document"),
    ] {
        m.insert(
            name,
            (
                "structural_verify",
                Box::new(move |items| {
                    set(items, "structural_verify", &["probes", probe], json!(false))
                }),
            ),
        );
    }
    m.insert(
        "G-PROBE-ROWS-READ",
        field("structural_verify", &["rows_read"], json!(1)),
    );
    m.insert(
        "G-ENVELOPES-EQ-UNITS",
        field("leg_b_record", &["envelopes_in_store"], json!(1)),
    );
    m.insert(
        "G-ENVELOPE-IDS-DIGEST",
        field("leg_b_record", &["plan_digest"], z()),
    );
    m.insert("G-VERIFY-OK", field("write_verify", &["ok"], json!(false)));
    m.insert(
        "G-VERIFY-ONCE",
        (
            "write_verify",
            Box::new(|items| {
                let again = items
                    .iter()
                    .find(|(p, _)| p == "write_verify")
                    .unwrap()
                    .clone();
                items.push(again);
            }),
        ),
    );
    m.insert(
        "G-VERIFY-COUNTS",
        field("write_verify", &["envelopes_read"], json!(1)),
    );
    m.insert(
        "G-VERIFY-MATCHES-WRITE",
        field("write_verify", &["units_digest"], z()),
    );
    m.insert(
        "G-VERIFY-DIGEST-PRESENT",
        field("write_verify", &["verify_digest"], json!("v")),
    );
    m.insert("G-SG2-PRESENT", field("@sg2", &["gate"], json!("sg1")));
    m.insert(
        "G-SG2-BOUND-TO-VERIFY",
        field("@sg2", &["evidence_digest"], z()),
    );
    m.insert(
        "G-SG2-REVIEW-DECISION",
        field("@sg2", &["review_decision_id"], Value::Null),
    );
    m.insert(
        "G-SG2-DISTINCT-APPROVAL",
        (
            "@sg2",
            Box::new(|items| {
                let id = items.iter().find(|(p, _)| p == "@sg1").unwrap().1["approval_id"].clone();
                set(items, "@sg2", &["approval_id"], id);
            }),
        ),
    );
    m.insert(
        "G-ENACTED-EQ-UNITS",
        field("lifecycle_enact", &["units_in_force"], json!(0)),
    );
    m.insert(
        "G-PREVIOUS-RETIRED",
        field(
            "lifecycle_enact",
            &["previous_units_still_in_force"],
            json!(3),
        ),
    );
    m.insert(
        "G-DIFF-CONSISTENT",
        field("lifecycle_enact", &["added", "count"], json!(0)),
    );
    m.insert(
        "G-ALL-PHASES-EVIDENCED",
        (
            "leg_b_record",
            Box::new(|items| items.retain(|(p, _)| p != "leg_b_record")),
        ),
    );
    m.insert(
        "G-INDEX-ENTRY-COMPLETE",
        field("closeout", &["index_entry", "verify_digest"], json!("x")),
    );
    m.insert(
        "G-INDEX-ENTRY-BOUND",
        field("closeout", &["index_entry", "plan_digest"], z()),
    );
    m
}

#[test]
fn every_predicate_fails_when_its_evidence_is_wrong() {
    let mut s = iu_phases::memory::iu_cut_store("hien-phap", constitution());
    let rec = run(&mut s, RUN, true);
    let muts = mutations();
    let missing: Vec<&str> = ALL
        .iter()
        .map(|d| d.name)
        .filter(|n| !muts.contains_key(n))
        .collect();
    assert!(
        missing.is_empty(),
        "predicates without a failing test: {missing:?}"
    );
    for d in ALL {
        let mut items = parsed(&rec, prefix_for(&rec, d.phase, d.after));
        assert!(
            evaluate(d.name, &set_of(&items)).unwrap().0,
            "{} holds first",
            d.name
        );
        (muts[d.name].1)(&mut items);
        let (holds, detail) = evaluate(d.name, &set_of(&items))
            .unwrap_or_else(|e| panic!("{} should evaluate to false, not error: {e}", d.name));
        assert!(!holds, "{} should fail: {detail}", d.name);
    }
}

#[test]
fn every_predicate_errors_when_the_evidence_it_reads_is_missing() {
    let mut s = iu_phases::memory::iu_cut_store("hien-phap", constitution());
    let rec = run(&mut s, RUN, true);
    let muts = mutations();
    for d in ALL {
        let drop = muts[d.name].0;
        let items: Vec<_> = parsed(&rec, prefix_for(&rec, d.phase, d.after))
            .into_iter()
            .filter(|(p, _)| p != drop)
            .collect();
        let outcome = evaluate(d.name, &set_of(&items));
        if d.name == "G-ALL-PHASES-EVIDENCED" {
            // Its job is to notice a missing phase: false, with the name.
            let (holds, detail) = outcome.unwrap();
            assert!(!holds && detail.contains(drop), "{detail}");
        } else {
            assert!(
                outcome.is_err(),
                "{} must fail closed without `{drop}`: {outcome:?}",
                d.name
            );
        }
    }
}

#[test]
fn the_readme_lists_every_predicate() {
    let readme = include_str!("../README.md");
    for d in ALL {
        assert!(
            readme.contains(&format!("`{}` | {} |", d.name, d.phase)),
            "README lacks {}",
            d.name
        );
    }
}

/// The first predicate that does not hold, in the host's order (checkpoint
/// by checkpoint, predicates in declaration order).
fn first_stop(rec: &RunRecord) -> Option<(&'static str, String, String)> {
    for c in &rec.checkpoints {
        let set = set_of(&parsed(rec, c.len));
        for d in ALL
            .iter()
            .filter(|d| d.phase == c.phase && d.after == c.after)
        {
            match evaluate(d.name, &set) {
                Ok((true, _)) => {}
                Ok((false, detail)) | Err(detail) => {
                    return Some((d.name, c.phase.clone(), detail));
                }
            }
        }
    }
    None
}

#[test]
fn a_mistyped_article_number_stops_after_mark_naming_the_line() {
    let text = String::from_utf8(constitution()).unwrap();
    let at = text.find("\nĐiều 7.").unwrap() + 1;
    let mut typo = text.clone();
    typo.replace_range(at..at + "Điều 7.".len(), "Điều 70.");
    let mut s = iu_phases::memory::iu_cut_store("hien-phap", typo.into_bytes());
    let rec = run(&mut s, "typo", true);
    let (name, phase, detail) = first_stop(&rec).expect("the run must stop");
    assert_eq!(
        (name, phase.as_str()),
        ("G-MARK-NO-ABSORBED-MARKERS", "mark")
    );
    assert!(
        detail.contains("line 76: “Điều 8.” looks like article 8 but is part of art_70__para_2"),
        "{detail}"
    );
    assert!(detail.starts_with("149 line(s)"), "{detail}");

    // With mark's config allowing it, the run goes through every gate.
    let mut sp = spec("typo-allowed", true);
    sp.configs
        .insert("mark".into(), r#"{"allow_absorbed_markers":true}"#.into());
    let rec = run_iu_cut(&mut s, &sp).unwrap_or_else(|(p, r, _)| panic!("{p}: {r}"));
    assert_eq!(first_stop(&rec), None);
}

#[test]
fn a_bidi_override_in_a_heading_stops_after_cutplan_unless_allowed() {
    let text = String::from_utf8(constitution()).unwrap();
    let at = text.find("\nĐiều 7.").unwrap() + 1;
    let mut spoofed = text.clone();
    spoofed.insert(at + "Điều 7.".len(), '\u{202E}');
    let mut s = iu_phases::memory::iu_cut_store("hien-phap", spoofed.into_bytes());
    let rec = run(&mut s, "bidi", true);
    let (name, phase, detail) = first_stop(&rec).expect("the run must stop");
    assert_eq!(
        (name, phase.as_str()),
        ("G-PLAN-NO-BIDI-CONTROLS", "cutplan")
    );
    assert!(
        detail.contains("first line 70: U+202E RIGHT-TO-LEFT OVERRIDE"),
        "{detail}"
    );

    // With cutplan's config allowing them, the run goes through every gate.
    let mut sp = spec("bidi-allowed", true);
    sp.configs
        .insert("cutplan".into(), r#"{"allow_bidi_controls":true}"#.into());
    let rec = run_iu_cut(&mut s, &sp).unwrap_or_else(|(p, r, _)| panic!("{p}: {r}"));
    assert_eq!(first_stop(&rec), None);
}
