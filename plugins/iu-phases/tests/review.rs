//! The review data approvers are shown (`review` in the cutplan and
//! write_verify evidence) and the absorbed-marker report of mark, on the
//! Constitution, on broken copies of it and on small synthetic texts; with
//! the demo plan's grants and configs.

mod common;

use common::{constitution, ev, spec, store};
use iu_phases::harness::{RunRecord, run_iu_cut};
use iu_phases::memory::MemoryStore;
use serde_json::Value;

fn run(s: &mut MemoryStore, run_id: &str, dry: bool) -> RunRecord {
    let rec = run_iu_cut(s, &spec(run_id, dry)).unwrap_or_else(|(p, r, _)| panic!("{p}: {r}"));
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    rec
}

fn run_text(text: &str) -> RunRecord {
    run(
        &mut iu_phases::memory::iu_cut_store("doc", text.as_bytes().to_vec()),
        "t",
        true,
    )
}

/// The value of the fact labelled `label`.
fn fact<'a>(review: &'a Value, label: &str) -> &'a str {
    review["facts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["label"] == label)
        .unwrap_or_else(|| panic!("no fact {label} in {review}"))["value"]
        .as_str()
        .unwrap()
}

fn warnings(review: &Value) -> Vec<(Option<u64>, String)> {
    review["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["line"].as_u64(), w["text"].as_str().unwrap().to_string()))
        .collect()
}

/// Every key of the generic shape is there, every value a string.
fn assert_generic_shape(review: &Value) {
    let obj = review.as_object().expect("review is an object");
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(keys, ["facts", "tables", "title", "warnings"]);
    assert!(review["title"].is_string());
    for list in ["facts", "warnings", "tables"] {
        assert!(review[list].as_array().unwrap().len() <= 50, "{list}");
    }
    for f in review["facts"].as_array().unwrap() {
        assert!(f["label"].is_string() && f["value"].is_string(), "{f}");
        assert_eq!(f.as_object().unwrap().len(), 2);
    }
    for w in review["warnings"].as_array().unwrap() {
        assert!(w["line"].is_u64() || w["line"].is_null(), "{w}");
        assert!(w["text"].is_string(), "{w}");
    }
    for t in review["tables"].as_array().unwrap() {
        let cols = t["columns"].as_array().unwrap().len();
        assert!(t["rows"].as_array().unwrap().len() <= 50, "{t}");
        assert!(t["title"].is_string());
        for row in t["rows"].as_array().unwrap() {
            let row = row.as_array().unwrap();
            assert_eq!(row.len(), cols, "{t}");
            assert!(row.iter().all(Value::is_string), "{t}");
        }
    }
}

/// The Constitution with "Điều 7." mistyped "Điều 70.".
fn mistyped() -> Vec<u8> {
    let text = String::from_utf8(constitution()).unwrap();
    let at = text.find("\nĐiều 7.").unwrap() + 1;
    let mut out = text.clone();
    out.replace_range(at..at + "Điều 7.".len(), "Điều 70.");
    out.into_bytes()
}

#[test]
fn the_constitution_review_shows_clean_numbering_and_counts() {
    let rec = run(&mut store(constitution()), "rev", true);
    let e = &rec.evidence;
    let mark = ev(e, "mark");
    assert_eq!(mark["absorbed_markers"]["count"], 0);
    assert_eq!(mark["absorbed_markers"]["allowed"], false);
    assert_eq!(mark["unmarked_lines"]["count"], 0);
    let plan = ev(e, "cutplan");
    let review = &plan["review"];
    assert_generic_shape(review);
    assert_eq!(fact(review, "Document"), "hien-phap");
    assert_eq!(fact(review, "Version"), rec.version);
    assert_eq!(fact(review, "Plan digest"), plan["plan_digest"]);
    assert_eq!(
        fact(review, "Units"),
        "377 (preamble 1, chapter 11, article 120, clause 244, closing 1)"
    );
    assert_eq!(
        fact(review, "Article numbering"),
        "1–120; no gap; repeats: none"
    );
    assert_eq!(fact(review, "Absorbed markers"), "none");
    assert_eq!(fact(review, "Control/bidi characters"), "none");
    assert!(warnings(review).is_empty(), "{review}");
    assert_eq!(plan["article_numbering"]["gap_count"], 0);
    assert_eq!(
        plan["article_numbering"]["ranges"],
        serde_json::json!([[1, 120]])
    );
    assert_eq!(plan["control_chars"]["count"], 0);
    let largest = &review["tables"][1];
    assert_eq!(largest["rows"].as_array().unwrap().len(), 5);
    assert_eq!(largest["rows"][0][0], "preamble");
    assert_eq!(
        largest["rows"][1],
        serde_json::json!(["art_70__para_7", "clause", "490", "1106"])
    );
    // The rerun gives the same evidence, review included, byte for byte.
    let text = |p: &str| &e.iter().find(|(q, _)| q == p).unwrap().1;
    assert_eq!(text("cutplan"), text("@cutplan-rerun"));

    let wv = ev(e, "write_verify");
    let review = &wv["review"];
    assert_generic_shape(review);
    assert!(fact(review, "Write-verify result").starts_with("ok: 377 unit rows and 377 envelopes"));
    assert_eq!(fact(review, "Verify digest"), wv["verify_digest"]);
    assert_eq!(
        fact(review, "Version in force"),
        "none: this is the document's first version"
    );
    assert_eq!(
        fact(review, "eId diff against the version in force"),
        "377 added, 0 changed, 0 removed, 0 unchanged"
    );
    assert_eq!(wv["diff"]["added"]["count"], 377);
    assert_eq!(wv["diff"]["added"]["eids"].as_array().unwrap().len(), 5);
    for phase in ["cutplan", "write_verify"] {
        assert!(
            text(phase).len() < 8 * 1024,
            "{phase}: {} bytes",
            text(phase).len()
        );
    }
}

#[test]
fn a_mistyped_article_number_is_reported_with_its_line() {
    let rec = run(&mut store(mistyped()), "typo", true);
    let mark = ev(&rec.evidence, "mark");
    let absorbed = &mark["absorbed_markers"];
    assert_eq!(absorbed["count"], 149);
    assert_eq!(absorbed["allowed"], false);
    assert_eq!(absorbed["lines"].as_array().unwrap().len(), 20);
    assert_eq!(absorbed["truncated"], true);
    assert_eq!(absorbed["lines"][0]["line"], 76);
    assert_eq!(absorbed["lines"][0]["into"], "art_70__para_2");
    let first = absorbed["first"].as_str().unwrap();
    assert_eq!(
        first,
        "line 76: “Điều 8.” looks like article 8 but is part of art_70__para_2 (its number is below the last article's)"
    );

    let plan = ev(&rec.evidence, "cutplan");
    assert_eq!(plan["units"], 228);
    let review = &plan["review"];
    assert_generic_shape(review);
    assert_eq!(
        fact(review, "Article numbering"),
        "1–6, 70–120; gap 7–69; repeats: 70 (×2)"
    );
    assert!(
        fact(review, "Absorbed markers").starts_with("149 line(s)")
            && fact(review, "Absorbed markers").contains("first: line 76"),
        "{review}"
    );
    let w = warnings(review);
    assert_eq!(
        w[0],
        (Some(76), first.trim_start_matches("line 76: ").to_string())
    );
    assert_eq!(
        w[20],
        (
            None,
            "… 129 more absorbed marker line(s) (149 in all)".to_string()
        )
    );
    assert!(
        w.contains(&(
            Some(70),
            "article numbering jumps to 70 (art_70): articles 7–69 are missing".to_string()
        )),
        "{w:?}"
    );
    assert!(
        w.contains(&(
            Some(474),
            "article 70 is numbered again: art_70_dup2 (duplicate of art_70)".to_string()
        )),
        "{w:?}"
    );
    assert_eq!(
        plan["article_numbering"]["gaps"],
        serde_json::json!([[7, 69]])
    );
}

#[test]
fn allow_absorbed_markers_is_recorded_from_marks_config() {
    let mut sp = spec("allow", true);
    let mut cfg: Value = serde_json::from_str(&sp.configs["mark"]).unwrap();
    cfg["allow_absorbed_markers"] = Value::Bool(true);
    sp.configs.insert("mark".into(), cfg.to_string());
    let rec =
        run_iu_cut(&mut store(mistyped()), &sp).unwrap_or_else(|(p, r, _)| panic!("{p}: {r}"));
    assert_eq!(
        ev(&rec.evidence, "mark")["absorbed_markers"]["allowed"],
        true
    );
    let review = &ev(&rec.evidence, "cutplan")["review"];
    assert!(
        fact(review, "Absorbed markers").contains("allowed by mark's config"),
        "{review}"
    );
    // A config value that is not a boolean is refused.
    cfg["allow_absorbed_markers"] = Value::from("yes");
    sp.configs.insert("mark".into(), cfg.to_string());
    let (phase, refusal, _) = run_iu_cut(&mut store(mistyped()), &sp).unwrap_err();
    assert_eq!(phase, "mark");
    assert!(
        refusal.message.contains("allow_absorbed_markers"),
        "{refusal}"
    );
}

#[test]
fn a_gap_and_a_repeat_are_reported_with_their_lines() {
    let text = "LUẬT THỬ\n\nĐiều 1. Một\n\nNội dung.\n\nĐiều 2. Hai\n\nNội dung.\n\n\
                Điều 2. Hai lại\n\nNội dung.\n\nĐiều 5. Năm\n\nNội dung.\n";
    let rec = run_text(text);
    assert_eq!(ev(&rec.evidence, "mark")["absorbed_markers"]["count"], 0);
    let plan = ev(&rec.evidence, "cutplan");
    let review = &plan["review"];
    assert_generic_shape(review);
    assert_eq!(
        fact(review, "Article numbering"),
        "1–2, 5; gap 3–4; repeats: 2 (×2)"
    );
    assert_eq!(
        warnings(review),
        [
            (
                Some(15),
                "article numbering jumps to 5 (art_5): articles 3–4 are missing".to_string()
            ),
            (
                Some(11),
                "article 2 is numbered again: art_2_dup2 (duplicate of art_2)".to_string()
            ),
        ]
    );
    assert_eq!(plan["article_numbering"]["repeats"][0]["label"], "2");
    assert_eq!(plan["article_numbering"]["repeat_count"], 1);
}

#[test]
fn control_and_bidi_characters_are_reported_with_their_lines() {
    let text = "LUẬT THỬ\n\nĐiều 1. Một\n\nNội \u{202E}dung\u{202C}.\n\n\
                Điều 2. Hai\n\nNội\u{061C} dung.\n\nĐiều 3. Ba\u{2066}\n";
    let rec = run_text(text);
    let plan = ev(&rec.evidence, "cutplan");
    let review = &plan["review"];
    assert_eq!(
        fact(review, "Control/bidi characters"),
        "4 on 3 line(s) (U+061C ×1, U+202C ×1, U+202E ×1, U+2066 ×1); first on line(s) 5, 9, 11; the run stops after cutplan unless cutplan's config sets allow_bidi_controls = true"
    );
    assert_eq!(
        warnings(review),
        [
            (
                Some(5),
                "invisible control/bidi character U+202E RIGHT-TO-LEFT OVERRIDE".to_string()
            ),
            (
                Some(9),
                "invisible control/bidi character U+061C ARABIC LETTER MARK".to_string()
            ),
            (
                Some(11),
                "invisible control/bidi character U+2066 LEFT-TO-RIGHT ISOLATE".to_string()
            ),
        ]
    );
    assert_eq!(
        plan["control_chars"]["first_lines"],
        serde_json::json!([5, 9, 11])
    );
    assert_eq!(plan["control_chars"]["count"], 4);
    assert_eq!(plan["control_chars"]["allowed"], false);
    assert_eq!(
        plan["control_chars"]["first"],
        "line 5: U+202E RIGHT-TO-LEFT OVERRIDE"
    );
}

#[test]
fn write_verify_shows_the_eid_diff_against_the_version_in_force() {
    let raw1 = constitution();
    let mut s = store(raw1.clone());
    let first = run(&mut s, "v1", false);
    // v2: article 5 amended, article 119 removed, article 121 added.
    let mut text = iu_core::pin(&raw1).unwrap().normalized;
    text = text.replacen("dân tộc", "dân tộc anh em", 1);
    let at = text.find("\nĐiều 119.").unwrap() + 1;
    let end = at + text[at..].find("Điều 120.").unwrap();
    text.replace_range(at..end, "");
    let at = text.find("Hiến pháp này đã được Quốc hội").unwrap();
    text.insert_str(at, "Điều 121.\nĐiều khoản mới.\n\n");
    s.source = text.into_bytes();
    let second = run(&mut s, "v2", false);
    let wv = ev(&second.evidence, "write_verify");
    let diff = &wv["diff"];
    assert_eq!(diff["against"], serde_json::json!([first.version]));
    assert_eq!(diff["this_version_in_force"], false);
    // The same diff lifecycle_enact then enacts.
    let le = ev(&second.evidence, "lifecycle_enact");
    for k in ["added", "changed", "removed"] {
        assert_eq!(diff[k]["count"], le[k]["count"], "{k}");
    }
    assert_eq!(diff["unchanged"], le["unchanged"]);
    assert_eq!(diff["added"]["eids"], serde_json::json!(["art_121"]));
    assert_eq!(diff["removed"]["eids"][0], "art_119");
    assert!(diff["changed"]["eids"].as_array().unwrap().len() <= 5);
    let review = &wv["review"];
    assert_generic_shape(review);
    assert_eq!(fact(review, "Version in force"), first.version);
    let removed = le["removed"]["count"].as_u64().unwrap();
    assert_eq!(
        fact(review, "eId diff against the version in force"),
        format!(
            "1 added, {} changed, {removed} removed, {} unchanged",
            le["changed"]["count"], le["unchanged"]
        )
    );
    let w = warnings(review);
    assert_eq!(w.len(), 1);
    assert!(
        w[0].1.starts_with(&format!(
            "{removed} unit(s) in force will be retired without a successor eId (first: art_119"
        )),
        "{w:?}"
    );

    // A re-run of the version in force: nothing changes, and it says so.
    let third = run(&mut s, "v2-again", false);
    let wv = ev(&third.evidence, "write_verify");
    assert_eq!(wv["diff"]["this_version_in_force"], true);
    assert_eq!(wv["diff"]["against"], serde_json::json!([second.version]));
    assert_eq!(wv["diff"]["added"]["count"], 0);
    assert_eq!(wv["diff"]["removed"]["count"], 0);
    assert_eq!(
        wv["diff"]["unchanged"],
        ev(&second.evidence, "cutplan")["units"]
    );
    assert_eq!(
        fact(&wv["review"], "Version in force"),
        "this version (a re-run): nothing changes"
    );
}

#[test]
fn a_badly_broken_text_keeps_every_list_capped() {
    let mut text = String::from("LUẬT THỬ\n\n");
    for n in (1..=199).step_by(2) {
        for _ in 0..2 {
            text.push_str(&format!("Điều {n}. Tên\n\nNội \u{202E}dung.\n\n"));
        }
    }
    text.push_str("Điều 500. Cuối\n\n");
    for n in 0..40 {
        text.push_str(&format!("Điều {}. Lạc\n\n1. Khoản.\n\n", n + 2));
    }
    let rec = run_text(&text);
    let mark = ev(&rec.evidence, "mark");
    assert_eq!(mark["absorbed_markers"]["count"], 40);
    let (_, json) = rec.evidence.iter().find(|(p, _)| p == "cutplan").unwrap();
    assert!(json.len() < 32 * 1024, "{} bytes", json.len());
    let plan: Value = serde_json::from_str(json).unwrap();
    let review = &plan["review"];
    assert_generic_shape(review);
    let w = warnings(review);
    assert_eq!(w.len(), 21 + 9 + 9 + 9, "{w:#?}");
    assert!(
        w.contains(&(None, "… 100 numbering gaps in all".to_string())),
        "{w:#?}"
    );
    let numbering = fact(review, "Article numbering");
    assert!(numbering.contains("… 81 more"), "{numbering}");
    assert!(numbering.len() < 1024, "{numbering}");
    assert_eq!(plan["article_numbering"]["gap_count"], 100);
}
