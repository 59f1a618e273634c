//! The 11 phase functions end to end on the Constitution, with the in-memory
//! store, the demo plan's grants and configs, and the host's pseudo-evidence.

mod common;

use common::{constitution, ev, spec, store};
use iu_phases::harness::{run_iu_cut, version_label};
use iu_phases::{Input, PHASES, RefusalKind};

#[test]
fn a_dry_run_passes_all_11_phases_and_leaves_the_store_as_it_was() {
    let mut s = store(constitution());
    let rec =
        run_iu_cut(&mut s, &spec("run-dry", true)).unwrap_or_else(|(p, r, _)| panic!("{p}: {r}"));
    assert!(
        s.violations.is_empty(),
        "calls outside the plan's grants: {:?}",
        s.violations
    );
    let phases: Vec<&str> = rec.evidence.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        phases,
        [
            "@host",
            "source_pin",
            "mark",
            "cutplan",
            "@cutplan-rerun",
            "pre_write_backup",
            "grant_probe",
            "@sg1",
            "cut_leg_a",
            "structural_verify",
            "leg_b_record",
            "write_verify",
            "@sg2",
            "lifecycle_enact",
            "closeout"
        ]
    );
    let e = &rec.evidence;
    let units = ev(e, "cutplan")["units"].as_u64().unwrap();
    assert_eq!(ev(e, "cutplan")["counts"]["article"], 120);
    assert_eq!(ev(e, "cutplan")["counts"]["chapter"], 11);
    assert_eq!(ev(e, "mark")["regions"].as_u64().unwrap(), units);
    assert_eq!(
        ev(e, "cutplan")["plan_digest"],
        ev(e, "@cutplan-rerun")["plan_digest"]
    );
    assert_eq!(ev(e, "source_pin")["version_matches_source"], true);
    assert_eq!(ev(e, "pre_write_backup")["dry_run_marker"], true);
    assert_eq!(ev(e, "grant_probe")["missing"], serde_json::json!([]));
    assert_eq!(
        ev(e, "cut_leg_a")["units_in_store"].as_u64().unwrap(),
        units
    );
    assert_eq!(
        ev(e, "cut_leg_a")["units_inserted"].as_u64().unwrap(),
        units
    );
    assert_eq!(ev(e, "cut_leg_a")["batch_count"], 1);
    assert_eq!(
        ev(e, "cut_leg_a")["written_digest"],
        ev(e, "write_verify")["units_digest"],
        "what leg A wrote is what write_verify read"
    );
    let probes = ev(e, "structural_verify")["probes"]
        .as_object()
        .unwrap()
        .clone();
    assert_eq!(probes.len(), 11);
    assert!(probes.values().all(|v| v == true));
    assert_eq!(
        ev(e, "leg_b_record")["envelopes_in_store"]
            .as_u64()
            .unwrap(),
        units
    );
    assert_eq!(ev(e, "write_verify")["ok"], true);
    assert_eq!(ev(e, "lifecycle_enact")["enacted"].as_u64().unwrap(), units);
    assert_eq!(ev(e, "lifecycle_enact")["retired"], 0);
    assert_eq!(
        ev(e, "lifecycle_enact")["added"]["count"].as_u64().unwrap(),
        units
    );
    let entry = &ev(e, "closeout")["index_entry"];
    assert_eq!(entry["plan_digest"], ev(e, "cutplan")["plan_digest"]);
    assert_eq!(
        entry["verify_digest"],
        ev(e, "write_verify")["verify_digest"]
    );
    assert_eq!(entry["mode"], "dry");
    assert!(s.artifacts.contains_key("backup.json") && s.artifacts.contains_key("DRYRUN"));
    // Rolled back.
    assert!(s.tables.values().all(Vec::is_empty));
    // Every phase logged, and evidence stays small.
    assert!(s.logs.len() >= 11);
    assert!(rec.evidence.iter().all(|(_, j)| j.len() < 16 * 1024));
}

#[test]
fn phases_are_deterministic_and_plan_digests_equal_across_dry_and_live() {
    let run = |dry| {
        let mut s = store(constitution());
        run_iu_cut(&mut s, &spec("run-x", dry)).unwrap_or_else(|(p, r, _)| panic!("{p}: {r}"))
    };
    let (a, b, live) = (run(true), run(true), run(false));
    assert_eq!(a.evidence, b.evidence);
    for (phase, field) in [
        ("cutplan", "plan_digest"),
        ("cut_leg_a", "written_digest"),
        ("leg_b_record", "id_digest"),
        ("write_verify", "verify_digest"),
    ] {
        assert_eq!(
            ev(&a.evidence, phase)[field],
            ev(&live.evidence, phase)[field],
            "{phase}.{field}"
        );
    }
}

#[test]
fn units_cross_the_boundary_per_batch() {
    let mut sp = spec("run-batch", true);
    sp.configs
        .insert("cut_leg_a".into(), r#"{"batch_size": 100}"#.into());
    sp.configs
        .insert("leg_b_record".into(), r#"{"batch_size": 100}"#.into());
    let mut s = store(constitution());
    let rec = run_iu_cut(&mut s, &sp).unwrap_or_else(|(p, r, _)| panic!("{p}: {r}"));
    let units = ev(&rec.evidence, "cutplan")["units"].as_u64().unwrap();
    let batches = units.div_ceil(100);
    assert_eq!(
        ev(&rec.evidence, "cut_leg_a")["batch_count"]
            .as_u64()
            .unwrap(),
        batches
    );
    // documents + source_versions + unit batches + envelope batches.
    assert_eq!(s.calls["insert"], 2 + 2 * batches);
    let b: Vec<u64> = ev(&rec.evidence, "cut_leg_a")["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(b.iter().all(|n| *n <= 100) && b.iter().sum::<u64>() == units);
}

/// Replace the text of one article, drop another, add a new last one.
fn second_version(v1_normalized: &str) -> String {
    let mut text = v1_normalized.to_string();
    // Amend: a word in Điều 5.
    let at = text.find("Điều 5.").expect("Điều 5");
    let end = at + text[at..].find("\nĐiều 6.").expect("Điều 6");
    let amended = text[at..end].replacen("dân tộc", "dân tộc anh em", 1);
    assert_ne!(amended, text[at..end]);
    text.replace_range(at..end, &amended);
    // Remove: Điều 50 entirely.
    let at = text.find("\nĐiều 50.").expect("Điều 50") + 1;
    let end = at + text[at..].find("Điều 51.").expect("Điều 51");
    text.replace_range(at..end, "");
    // Add: Điều 121 after Điều 120, before the enactment sentence.
    let at = text
        .find("Hiến pháp này đã được Quốc hội")
        .expect("closing");
    text.insert_str(at, "Điều 121.\nĐiều khoản mới về hiệu lực bổ sung.\n\n");
    text
}

#[test]
fn a_second_version_retires_the_first_with_an_eid_diff() {
    let raw1 = constitution();
    let mut s = store(raw1.clone());
    let first =
        run_iu_cut(&mut s, &spec("run-1", false)).unwrap_or_else(|(p, r, _)| panic!("{p}: {r}"));
    let units1 = ev(&first.evidence, "cutplan")["units"].as_u64().unwrap();
    assert_eq!(s.rows("units").len() as u64, units1);

    let v1_text = iu_core::pin(&raw1).unwrap().normalized;
    let raw2 = second_version(&v1_text).into_bytes();
    s.source = raw2.clone();
    let second =
        run_iu_cut(&mut s, &spec("run-2", false)).unwrap_or_else(|(p, r, _)| panic!("{p}: {r}"));
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    let e = &second.evidence;
    let units2 = ev(e, "cutplan")["units"].as_u64().unwrap();
    assert_eq!(
        ev(e, "cutplan")["counts"]["article"],
        120,
        "one removed, one added"
    );
    assert_eq!(ev(e, "cut_leg_a")["source_version_seq"], 2);
    let le = ev(e, "lifecycle_enact");
    assert_eq!(le["previous_version"], first.version.as_str());
    assert_eq!(le["enacted"].as_u64().unwrap(), units2);
    assert_eq!(le["retired"].as_u64().unwrap(), units1);
    assert_eq!(le["versions_retired"], 1);
    assert_eq!(le["previous_units_still_in_force"], 0);
    let eids = |k: &str| -> Vec<String> {
        le[k]["eids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let (added, changed, removed) = (eids("added"), eids("changed"), eids("removed"));
    assert!(added.contains(&"art_121".to_string()), "added: {added:?}");
    assert!(
        removed.contains(&"art_50".to_string()),
        "removed: {removed:?}"
    );
    assert!(
        changed.iter().any(|e| e.starts_with("art_5")),
        "changed: {changed:?}"
    );
    assert!(
        added.iter().all(|e| e.starts_with("art_121")),
        "added: {added:?}"
    );
    assert!(
        removed.iter().all(|e| e.starts_with("art_50")),
        "removed: {removed:?}"
    );
    assert_eq!(changed.len(), 1, "changed: {changed:?}");
    let unchanged = le["unchanged"].as_u64().unwrap();
    assert_eq!(
        unchanged + added.len() as u64 + changed.len() as u64,
        units2
    );
    assert_eq!(
        unchanged + removed.len() as u64 + changed.len() as u64,
        units1
    );

    // Store state: v1 retired, v2 in force.
    let status = |v: &str| -> Vec<String> {
        let mut st: Vec<String> = s
            .rows("units")
            .iter()
            .filter(|r| r["version"] == v)
            .map(|r| r["status"].as_str().unwrap().to_string())
            .collect();
        st.dedup();
        st
    };
    assert_eq!(status(&first.version), ["retired"]);
    assert_eq!(status(&second.version), ["in_force"]);
    assert_eq!(second.version, version_label(&raw2));

    // Re-running v2 changes nothing and succeeds.
    let again =
        run_iu_cut(&mut s, &spec("run-3", false)).unwrap_or_else(|(p, r, _)| panic!("{p}: {r}"));
    let e = &again.evidence;
    assert_eq!(ev(e, "cut_leg_a")["units_inserted"], 0);
    assert_eq!(
        ev(e, "cut_leg_a")["units_in_store"].as_u64().unwrap(),
        units2
    );
    assert_eq!(ev(e, "leg_b_record")["envelopes_inserted"], 0);
    assert_eq!(ev(e, "lifecycle_enact")["enacted"], 0);
    assert_eq!(ev(e, "lifecycle_enact")["retired"], 0);
    assert_eq!(ev(e, "lifecycle_enact")["already_in_force"], true);
    assert_eq!(
        ev(e, "lifecycle_enact")["units_in_force"].as_u64().unwrap(),
        units2
    );
    assert_eq!(
        ev(e, "write_verify")["verify_digest"],
        ev(&second.evidence, "write_verify")["verify_digest"]
    );

    // And the retired v1 is refused at source_pin.
    s.source = raw1;
    let (phase, refusal, _) = run_iu_cut(&mut s, &spec("run-4", true)).unwrap_err();
    assert_eq!(
        (phase.as_str(), refusal.kind),
        ("source_pin", RefusalKind::DuplicateDocument)
    );
}

fn refusal_of(source: &[u8], sp: &iu_phases::harness::RunSpec) -> (String, RefusalKind, String) {
    let mut s = store(source.to_vec());
    let (p, r, _) = run_iu_cut(&mut s, sp).expect_err("should refuse");
    (p, r.kind, r.message)
}

#[test]
fn bad_sources_are_refused_with_their_kind() {
    let sp = spec("run-bad", true);
    assert_eq!(refusal_of(b"", &sp).1, RefusalKind::EmptyInput);
    assert_eq!(refusal_of(b"  \n", &sp).1, RefusalKind::EmptyInput);
    assert_eq!(refusal_of(b"\xff\xfe", &sp).1, RefusalKind::BadEncoding);
    // A NUL stops source_pin itself, naming its byte offset and line.
    let (p, k, m) = refusal_of("Điều 1. Một\n\0".as_bytes(), &sp);
    assert_eq!((p.as_str(), k), ("source_pin", RefusalKind::BadEncoding));
    assert!(m.contains("byte offset 17 (line 2)"), "{m}");
    let (p, k, _) = refusal_of("Một văn bản không có điều nào.\n".as_bytes(), &sp);
    assert_eq!((p.as_str(), k), ("mark", RefusalKind::UnknownDocument));
    let mut capped = spec("run-cap", true);
    capped
        .configs
        .insert("mark".into(), r#"{"max_units": 10}"#.into());
    let (p, k, _) = refusal_of(&constitution(), &capped);
    assert_eq!((p.as_str(), k), ("mark", RefusalKind::CapExceeded));
}

#[test]
fn grant_probe_refuses_missing_and_unallowed_extra_rights() {
    let mut sp = spec("run-grants", true);
    let mut role: std::collections::BTreeMap<String, String> = [
        ("documents", "ri"),
        ("source_versions", "riu"),
        ("units", "riud"),
        ("envelopes", "ri"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    sp.role_privileges = Some(role.clone());
    sp.store_kind = "postgres".into();
    let (p, k, m) = refusal_of(&constitution(), &sp);
    assert_eq!((p.as_str(), k), ("grant_probe", RefusalKind::GrantMismatch));
    assert!(m.contains("units:d"), "{m}");

    sp.configs.insert(
        "grant_probe".into(),
        r#"{"allow_extra": ["units:d"]}"#.into(),
    );
    let mut s = store(constitution());
    let rec = run_iu_cut(&mut s, &sp).unwrap_or_else(|(p, r, _)| panic!("{p}: {r}"));
    assert_eq!(
        ev(&rec.evidence, "grant_probe")["extra"],
        serde_json::json!(["units:d"])
    );

    role.insert("envelopes".into(), "r".into());
    sp.role_privileges = Some(role);
    let (p, k, m) = refusal_of(&constitution(), &sp);
    assert_eq!((p.as_str(), k), ("grant_probe", RefusalKind::GrantMismatch));
    assert!(m.contains("envelopes:i"), "{m}");
}

/// Runs one phase directly with hand-made evidence.
fn run_phase(
    s: &mut iu_phases::memory::MemoryStore,
    phase: &str,
    evidence: &[(String, String)],
) -> Result<String, iu_phases::Refusal> {
    let input = Input {
        run_id: "r".into(),
        document_id: s.document_id.clone(),
        version: version_label(&s.source),
        dry_run: false,
        config: "{}".into(),
        evidence: evidence.to_vec(),
    };
    iu_phases::phase_fn(phase).unwrap()(&input, s)
}

#[test]
fn writes_and_reads_back_refuse_tampering() {
    let mut s = store(constitution());
    let rec =
        run_iu_cut(&mut s, &spec("run-t", false)).unwrap_or_else(|(p, r, _)| panic!("{p}: {r}"));
    let upto = |phase: &str| -> Vec<(String, String)> {
        let i = rec.evidence.iter().position(|(p, _)| p == phase).unwrap();
        rec.evidence[..i].to_vec()
    };
    // cut_leg_a: SG_1 bound to another digest.
    let mut e = upto("cut_leg_a");
    let i = e.iter().position(|(p, _)| p == "@sg1").unwrap();
    e[i].1 = e[i].1.replace(
        ev(&rec.evidence, "cutplan")["plan_digest"]
            .as_str()
            .unwrap(),
        &"0".repeat(64),
    );
    let r = run_phase(&mut s, "cut_leg_a", &e).unwrap_err();
    assert_eq!(r.kind, RefusalKind::InvariantFailed, "{r}");

    // structural_verify: a unit's text changed in the store.
    let row = s
        .tables
        .get_mut("units")
        .unwrap()
        .iter_mut()
        .find(|r| r["eid"] == "art_7")
        .unwrap();
    row.insert("text".into(), "Điều 7. đã sửa\n".into());
    let r = run_phase(&mut s, "structural_verify", &upto("structural_verify")).unwrap_err();
    assert_eq!(r.kind, RefusalKind::InvariantFailed);
    assert!(r.message.contains("text_sha_ok"), "{r}");

    // write_verify: an envelope row deleted.
    let envs = s.tables.get_mut("envelopes").unwrap();
    envs.retain(|r| r["eid"] != "art_9");
    let r = run_phase(&mut s, "write_verify", &upto("write_verify")).unwrap_err();
    assert_eq!(r.kind, RefusalKind::InvariantFailed);
    assert!(r.message.contains("art_9"), "{r}");

    // lifecycle_enact: SG_2 bound to another digest.
    let mut e = upto("lifecycle_enact");
    let i = e.iter().position(|(p, _)| p == "@sg2").unwrap();
    e[i].1 = r#"{"gate":"sg2","evidence_digest":"x"}"#.into();
    assert_eq!(
        run_phase(&mut s, "lifecycle_enact", &e).unwrap_err().kind,
        RefusalKind::InvariantFailed
    );

    // closeout: a phase without evidence.
    let e: Vec<_> = rec
        .evidence
        .iter()
        .filter(|(p, _)| p != "leg_b_record")
        .cloned()
        .collect();
    let r = run_phase(&mut s, "closeout", &e).unwrap_err();
    assert!(r.message.contains("leg_b_record"), "{r}");
}

#[test]
fn every_phase_has_an_entry_point() {
    for p in PHASES {
        assert!(iu_phases::phase_fn::<iu_phases::memory::MemoryStore>(p).is_some());
    }
}
