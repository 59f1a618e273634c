//! Behavioural tests written once, run against both backends.

use phasehost_store::StoreError;
use serde_json::json;

use crate::support::*;

/// A plan digest to enqueue under.
pub const PLAN_SHA: &str = "5f1c9d0e7a3b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d";

pub fn is_invalid<T: std::fmt::Debug>(r: Result<T, StoreError>) -> String {
    match r {
        Err(StoreError::Invalid(m)) => m,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

pub fn is_conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) -> String {
    match r {
        Err(StoreError::Conflict(m)) => m,
        other => panic!("expected Conflict, got {other:?}"),
    }
}

pub fn scoping(h: &dyn Harness) {
    let mut store = h.open();
    seed(store.as_mut(), "d1");
    seed(store.as_mut(), "d2");
    let (s1, s2) = (scope("d1"), scope("d2"));
    store.begin().expect("begin");
    let units = store.select("units", &s1, &[]).expect("select");
    assert_eq!(units.len(), 5);
    assert!(units.iter().all(|u| u["document_id"] == "d1"));
    // Naming another document in a filter finds nothing.
    assert_eq!(
        store
            .count("units", &s1, &filters(&[("document_id", "d2")]))
            .expect("count"),
        0
    );
    assert_eq!(
        store
            .count("units", &s1, &filters(&[("document_id", "d1")]))
            .expect("count"),
        5
    );
    // Writes in one scope do not touch the other.
    assert_eq!(
        store
            .delete("units", &s1, &filters(&[("document_id", "d2")]))
            .expect("delete"),
        0
    );
    assert_eq!(store.delete("units", &s1, &[]).expect("delete"), 5);
    let set = row(json!({"status": "retired"}));
    assert_eq!(
        store
            .update("source_versions", &s1, &[], &set)
            .expect("update"),
        1
    );
    assert_eq!(store.count("units", &s2, &[]).expect("count"), 5);
    let v2 = store.select("source_versions", &s2, &[]).expect("select");
    assert_eq!(v2[0]["status"], "staged");
    // A row naming another document is refused.
    let mut other = document("x");
    other.insert("document_id".into(), json!("d2"));
    is_invalid(store.insert("documents", &s1, &[other]));
    store.rollback().expect("rollback");
}

pub fn validation(h: &dyn Harness) {
    let mut store = h.open();
    let s = scope("d1");
    // Outside a transaction every plugin call is refused.
    assert_eq!(
        is_invalid(store.select("units", &s, &[])),
        "no open transaction"
    );
    is_invalid(store.count("units", &s, &[]));
    is_invalid(store.insert("documents", &s, &[document("t")]));
    is_invalid(store.update("units", &s, &[], &row(json!({"status": "retired"}))));
    is_invalid(store.delete("units", &s, &[]));
    is_invalid(store.commit());
    store
        .rollback()
        .expect("rollback without a transaction is a no-op");
    store.begin().expect("begin");
    is_invalid(store.begin());
    assert!(store.in_transaction());
    for table in [
        "nope",
        "runs",
        "consumed_approvals",
        "runs_index",
        "queue",
        "schema_version",
    ] {
        assert!(
            matches!(
                store.select(table, &s, &[]),
                Err(StoreError::UnknownTable(_))
            ),
            "{table}"
        );
        assert!(matches!(
            store.insert(table, &s, &[document("t")]),
            Err(StoreError::UnknownTable(_))
        ));
    }
    let unknown_col = |r: Result<u64, StoreError>| {
        assert!(matches!(r, Err(StoreError::UnknownColumn { .. })), "{r:?}");
    };
    unknown_col(store.count("units", &s, &filters(&[("bogus", "1")])));
    let mut bad = unit("v1", "e1", 1, "t");
    bad.insert("bogus".into(), json!(1));
    unknown_col(store.insert("units", &s, &[bad]));
    unknown_col(store.update("units", &s, &[], &row(json!({"bogus": "x"}))));
    // Wrong types, missing columns, bad enum values.
    let mut wrong = unit("v1", "e1", 1, "t");
    wrong.insert("seq".into(), json!("1"));
    is_invalid(store.insert("units", &s, &[wrong]));
    let mut float = unit("v1", "e1", 1, "t");
    float.insert("ordinal".into(), json!(1.5));
    is_invalid(store.insert("units", &s, &[float]));
    let mut null_text = unit("v1", "e1", 1, "t");
    null_text.insert("heading".into(), json!(null));
    is_invalid(store.insert("units", &s, &[null_text]));
    let mut missing = unit("v1", "e1", 1, "t");
    missing.remove("text");
    is_invalid(store.insert("units", &s, &[missing]));
    let mut status = unit("v1", "e1", 1, "t");
    status.insert("status".into(), json!("published"));
    is_invalid(store.insert("units", &s, &[status]));
    // Primary-key columns cannot be updated; an empty set is refused.
    for key in ["document_id", "version", "eid"] {
        let set = row(json!({ key: "x" }));
        is_invalid(store.update("units", &s, &[], &set));
    }
    is_invalid(store.update("units", &s, &[], &row(json!({}))));
    is_invalid(store.select("units", &scope(""), &[]));
    // NUL cannot be stored (PostgreSQL cannot hold it), so both refuse it.
    is_invalid(store.insert("documents", &s, &[document("a\0b")]));
    assert_eq!(
        store
            .count("units", &s, &filters(&[("eid", "a\0b")]))
            .expect("count"),
        0
    );
    // A valid row with a missing nullable column works; nothing leaked from the refusals.
    let mut no_parent = unit("v1", "e1", 1, "t");
    no_parent.remove("parent_eid");
    assert_eq!(store.insert("units", &s, &[no_parent]).expect("insert"), 1);
    assert_eq!(store.count("units", &s, &[]).expect("count"), 1);
    store.rollback().expect("rollback");
    assert!(!store.in_transaction());
}

pub fn idempotent_insert(h: &dyn Harness) {
    let mut store = h.open();
    let s = scope("d1");
    store.begin().expect("begin");
    let rows = vec![unit("v1", "e1", 1, "a"), unit("v1", "e2", 2, "b")];
    assert_eq!(store.insert("units", &s, &rows).expect("insert"), 2);
    assert_eq!(store.insert("units", &s, &rows).expect("again"), 0);
    // An identical row repeated in one call is inserted once.
    let dup = vec![unit("v1", "e3", 3, "c"), unit("v1", "e3", 3, "c")];
    assert_eq!(store.insert("units", &s, &dup).expect("dup"), 1);
    // A different row under an existing key is a conflict naming the key,
    // and the call leaves nothing (e4 is not kept).
    let changed = vec![unit("v1", "e4", 4, "d"), unit("v1", "e2", 2, "CHANGED")];
    let msg = is_conflict(store.insert("units", &s, &changed));
    assert!(
        msg.contains("units") && msg.contains("eid=e2") && msg.contains("version=v1"),
        "{msg}"
    );
    assert_eq!(
        store
            .count("units", &s, &filters(&[("eid", "e4")]))
            .expect("count"),
        0
    );
    // Conflicting rows within one call.
    let clash = vec![unit("v1", "e5", 5, "x"), unit("v1", "e5", 5, "y")];
    is_conflict(store.insert("units", &s, &clash));
    assert_eq!(
        store
            .count("units", &s, &filters(&[("eid", "e5")]))
            .expect("count"),
        0
    );
    // The transaction is still usable after a refused call.
    assert_eq!(store.count("units", &s, &[]).expect("count"), 3);
    store.commit().expect("commit");
}

pub fn rollback_leaves_nothing(h: &dyn Harness) {
    let mut store = h.open();
    let s = scope("d1");
    store.begin().expect("begin");
    store
        .insert("documents", &s, &[document("t")])
        .expect("insert");
    assert_eq!(store.count("documents", &s, &[]).expect("count"), 1);
    store.rollback().expect("rollback");
    store.begin().expect("begin");
    assert_eq!(store.count("documents", &s, &[]).expect("count"), 0);
    store.rollback().expect("rollback");
    drop(store);
    let mut again = h.open();
    again.begin().expect("begin");
    assert_eq!(again.count("documents", &s, &[]).expect("count"), 0);
    again.rollback().expect("rollback");
}

pub fn commit_persists(h: &dyn Harness) {
    let mut store = h.open();
    seed(store.as_mut(), "d1");
    let digest = store.document_digest("d1").expect("digest");
    drop(store);
    let mut again = h.open();
    assert_eq!(again.document_digest("d1").expect("digest"), digest);
    again.begin().expect("begin");
    assert_eq!(again.count("units", &scope("d1"), &[]).expect("count"), 5);
    again.rollback().expect("rollback");
}

pub fn select_order_and_filters(h: &dyn Harness) {
    let mut store = h.open();
    seed(store.as_mut(), "d1");
    let s = scope("d1");
    store.begin().expect("begin");
    // Units come in document order (seq), envelopes in key order.
    let units = store.select("units", &s, &[]).expect("select");
    let seqs: Vec<i64> = units
        .iter()
        .map(|u| u["seq"].as_i64().expect("int"))
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    assert_eq!(units[0]["parent_eid"], json!(null));
    assert_eq!(units[0]["text"], "text 1 ünïcode");
    assert_eq!(units[0].len(), 12);
    let envelopes = store.select("envelopes", &s, &[]).expect("select");
    assert_eq!(envelopes[0]["envelope_id"], "env-a");
    // Integer filters compare as text.
    assert_eq!(
        store
            .count("units", &s, &filters(&[("seq", "3")]))
            .expect("count"),
        1
    );
    assert_eq!(
        store
            .count("units", &s, &filters(&[("seq", "03")]))
            .expect("count"),
        0
    );
    assert_eq!(
        store
            .count("units", &s, &filters(&[("seq", "x")]))
            .expect("count"),
        0
    );
    assert_eq!(
        store
            .count("units", &s, &filters(&[("version", "v1"), ("eid", "e2")]))
            .expect("count"),
        1
    );
    // Update sets only the given columns; a null into a nullable column.
    let set = row(json!({"status": "in_force", "parent_eid": "e1"}));
    assert_eq!(
        store
            .update("units", &s, &filters(&[("eid", "e2")]), &set)
            .expect("update"),
        1
    );
    let e2 = store
        .select("units", &s, &filters(&[("eid", "e2")]))
        .expect("select");
    assert_eq!(e2[0]["status"], "in_force");
    assert_eq!(e2[0]["parent_eid"], "e1");
    assert_eq!(e2[0]["text"], "text 2 ünïcode");
    let set = row(json!({"parent_eid": null}));
    store
        .update("units", &s, &filters(&[("eid", "e2")]), &set)
        .expect("update");
    assert_eq!(
        store
            .count("units", &s, &filters(&[("parent_eid", "e1")]))
            .expect("c"),
        0
    );
    assert_eq!(
        store
            .delete("units", &s, &filters(&[("seq", "5")]))
            .expect("delete"),
        1
    );
    assert_eq!(store.count("units", &s, &[]).expect("count"), 4);
    store.commit().expect("commit");
}

pub fn digest_tracks_content(h: &dyn Harness) {
    let mut store = h.open();
    let empty = store.document_digest("d1").expect("digest");
    seed(store.as_mut(), "d1");
    let seeded = store.document_digest("d1").expect("digest");
    assert_ne!(empty, seeded);
    assert_eq!(seeded.len(), 64);
    // Another document's rows do not change it.
    seed(store.as_mut(), "d2");
    assert_eq!(store.document_digest("d1").expect("digest"), seeded);
    // Inside a transaction it sees the transaction's writes.
    store.begin().expect("begin");
    let set = row(json!({"heading": "changed"}));
    store
        .update("units", &scope("d1"), &filters(&[("eid", "e3")]), &set)
        .expect("update");
    let changed = store.document_digest("d1").expect("digest");
    assert_ne!(changed, seeded);
    store.rollback().expect("rollback");
    assert_eq!(store.document_digest("d1").expect("digest"), seeded);
}

pub fn index_chain(h: &dyn Harness) {
    let mut store = h.open();
    assert_eq!(store.verify_index().expect("empty"), 0);
    let first = store
        .append_index("r1", "d1", r#"{"run":"r1"}"#)
        .expect("append");
    assert_eq!(first.seq, 1);
    assert_eq!(first.prev_hash, "");
    assert_eq!(
        first.hash,
        phasehost_store::chain_hash("", r#"{"run":"r1"}"#)
    );
    let second = store
        .append_index("r2", "d1", r#"{"run":"r2"}"#)
        .expect("append");
    assert_eq!(second.seq, 2);
    assert_eq!(second.prev_hash, first.hash);
    store
        .append_index("r3", "d2", r#"{"run":"r3"}"#)
        .expect("append");
    assert_eq!(store.verify_index().expect("verify"), 3);
    // A run appends once: the same entry again is the first append, another
    // entry for the run is refused; neither adds a row.
    let again = store
        .append_index("r2", "d1", r#"{"run":"r2"}"#)
        .expect("append again");
    assert_eq!(again, second);
    is_conflict(store.append_index("r2", "d1", r#"{"run":"other"}"#));
    assert_eq!(store.verify_index().expect("verify"), 3);
    is_invalid(store.append_index("r4", "d1", "not json"));
    // Inside a transaction it joins it: rolled back with it.
    store.begin().expect("begin");
    assert_eq!(store.append_index("r4", "d1", "{}").expect("append").seq, 4);
    store.rollback().expect("rollback");
    assert_eq!(store.verify_index().expect("verify"), 3);
    // The table guards itself against rewriting.
    assert!(
        h.raw("UPDATE runs_index SET entry = '{}' WHERE seq = 2")
            .is_err()
    );
    assert!(h.raw("DELETE FROM runs_index WHERE seq = 2").is_err());
    // Tampered with anyway: verification names the first broken entry.
    h.raw(h.unguard_index_sql()).expect("unguard");
    h.raw(r#"UPDATE runs_index SET entry = '{"run":"forged"}' WHERE seq = 2"#)
        .expect("tamper");
    let msg = is_conflict(store.verify_index());
    assert!(msg.contains("seq 2"), "{msg}");
}

pub fn approvals_ledger(h: &dyn Harness) {
    let mut store = h.open();
    assert!(!store.approval_consumed("a1").expect("q"));
    store
        .consume_approval("a1", Some("rd1"), "run-1", "SG_1", "dig", "key")
        .expect("consume");
    assert!(store.approval_consumed("a1").expect("q"));
    assert!(store.review_decision_seen("rd1").expect("q"));
    assert!(!store.review_decision_seen("rd2").expect("q"));
    let msg = is_conflict(store.consume_approval("a1", Some("rd9"), "run-1", "SG_1", "dig", "key"));
    assert!(msg.starts_with("approval already consumed"), "{msg}");
    assert!(!store.review_decision_seen("rd9").expect("nothing written"));
    let msg = is_conflict(store.consume_approval("a2", Some("rd1"), "run-2", "SG_2", "dig", "key"));
    assert!(msg.starts_with("review decision already used"), "{msg}");
    assert!(!store.approval_consumed("a2").expect("nothing written"));
    // Approvals without a review decision do not collide with each other.
    store
        .consume_approval("a3", None, "run-3", "SG_1", "dig", "key")
        .expect("a3");
    store
        .consume_approval("a4", None, "run-4", "SG_1", "dig", "key")
        .expect("a4");
    // Refused while a transaction is open.
    store.begin().expect("begin");
    is_invalid(store.consume_approval("a5", None, "run-5", "SG_1", "dig", "key"));
    assert!(
        store
            .approval_consumed("a1")
            .expect("reads work in a transaction")
    );
    store.rollback().expect("rollback");
    // Durable, and guarded against rewriting.
    drop(store);
    let mut again = h.open();
    assert!(again.approval_consumed("a1").expect("q"));
    is_conflict(again.consume_approval("a1", None, "run-9", "SG_1", "dig", "key"));
    assert!(h.raw("DELETE FROM consumed_approvals").is_err());
}

fn queue_ids(n: usize, prefix: &str) -> Vec<(String, String)> {
    (0..n)
        .map(|i| (format!("{prefix}{i}"), format!("/src/{prefix}{i}.txt")))
        .collect()
}

pub fn queue_semantics(h: &dyn Harness) {
    let mut store = h.open();
    assert_eq!(store.claim("w1", 60).expect("claim"), None);
    assert_eq!(
        store
            .enqueue(&queue_ids(3, "doc"), PLAN_SHA)
            .expect("enqueue"),
        3
    );
    // Duplicates in the list, or already queued: a conflict, nothing queued.
    let mut dup = queue_ids(1, "new");
    dup.push(("new0".into(), "/x".into()));
    let msg = is_conflict(store.enqueue(&dup, PLAN_SHA));
    assert!(msg.contains("new0"), "{msg}");
    let again = vec![
        ("fresh".to_string(), "/f".to_string()),
        ("doc1".to_string(), "/d".to_string()),
    ];
    let msg = is_conflict(store.enqueue(&again, PLAN_SHA));
    assert!(msg.contains("doc1"), "{msg}");
    assert_eq!(store.queue_counts().expect("counts").pending, 3);
    // Claims come oldest first; a live lease is not handed out again.
    let c0 = store.claim("w1", 60).expect("claim").expect("some");
    assert_eq!(
        (
            c0.document_id.as_str(),
            c0.source_path.as_str(),
            c0.attempts
        ),
        ("doc0", "/src/doc0.txt", 1)
    );
    assert_eq!(c0.run_id, None);
    let c1 = store.claim("w2", 60).expect("claim").expect("some");
    assert_eq!(c1.document_id, "doc1");
    // Only the lease holder may renew, complete or fail.
    is_conflict(store.complete("doc0", "w2", "run-x"));
    is_conflict(store.renew("doc0", "w2", 60));
    store.renew("doc0", "w1", 120).expect("renew");
    store.complete("doc0", "w1", "run-0").expect("complete");
    is_conflict(store.complete("doc0", "w1", "run-0"));
    store.fail("doc1", "w2", "boom").expect("fail");
    is_invalid(store.claim("w1", 0));
    let counts = store.queue_counts().expect("counts");
    assert_eq!(
        (counts.pending, counts.claimed, counts.done, counts.failed),
        (1, 0, 1, 1)
    );
    // An expired lease is taken over; the old holder loses it.
    let c2 = store.claim("w1", 1).expect("claim").expect("some");
    assert_eq!(c2.document_id, "doc2");
    assert_eq!(store.claim("w2", 60).expect("claim"), None);
    std::thread::sleep(std::time::Duration::from_millis(1300));
    assert_eq!(store.queue_counts().expect("counts").expired, 1);
    let taken = store.claim("w2", 60).expect("claim").expect("taken over");
    assert_eq!((taken.document_id.as_str(), taken.attempts), ("doc2", 2));
    is_conflict(store.complete("doc2", "w1", "run-late"));
    store.complete("doc2", "w2", "run-2").expect("complete");
    assert_eq!(store.claim("w3", 60).expect("claim"), None);
    // Queue calls run in their own transactions.
    store.begin().expect("begin");
    is_invalid(store.enqueue(&queue_ids(1, "late"), PLAN_SHA));
    is_invalid(store.claim("w1", 60));
    store.rollback().expect("rollback");
    assert_eq!(store.enqueue(&[], PLAN_SHA).expect("empty"), 0);
}

pub fn bulk_insert(h: &dyn Harness) {
    const N: i64 = 50_000;
    let mut store = h.open();
    let s = scope("big");
    let rows: Vec<_> = (1..=N)
        .map(|i| {
            unit(
                "v1",
                &format!("e{i:06}"),
                i,
                &format!("unit text number {i}"),
            )
        })
        .collect();
    let started = std::time::Instant::now();
    store.begin().expect("begin");
    assert_eq!(store.insert("units", &s, &rows).expect("insert"), N as u64);
    store.commit().expect("commit");
    let inserted = started.elapsed();
    store.begin().expect("begin");
    assert_eq!(store.insert("units", &s, &rows).expect("idempotent"), 0);
    assert_eq!(store.count("units", &s, &[]).expect("count"), N as u64);
    let all = store.select("units", &s, &[]).expect("select");
    assert_eq!(all.len(), N as usize);
    assert_eq!(all[(N - 1) as usize]["seq"], json!(N));
    store.rollback().expect("rollback");
    eprintln!("{}: {N} units inserted in {inserted:?}", store.kind());
}

pub fn newer_schema_refused(h: &dyn Harness) {
    drop(h.open());
    h.raw("INSERT INTO schema_version (version, applied_at) VALUES (999, 0)")
        .expect("raw");
    let err = match h.try_open() {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a newer schema must be refused"),
    };
    assert!(err.contains("newer"), "{err}");
}

pub fn database_errors_keep_the_transaction_usable(h: &dyn Harness) {
    let mut store = h.open();
    h.raw(h.forbid_title_sql()).expect("constraint");
    let s = scope("d1");
    store.begin().expect("begin");
    store
        .insert("units", &s, &[unit("v1", "e1", 1, "a")])
        .expect("insert");
    let err = store
        .insert("documents", &s, &[document("forbidden")])
        .expect_err("refused by the database");
    assert!(
        matches!(err, StoreError::Invalid(_) | StoreError::Backend(_)),
        "{err:?}"
    );
    // The failed call left nothing; earlier writes of the transaction stay.
    assert_eq!(store.count("documents", &s, &[]).expect("usable"), 0);
    assert_eq!(store.count("units", &s, &[]).expect("usable"), 1);
    store
        .insert("documents", &s, &[document("fine")])
        .expect("insert");
    store.commit().expect("commit");
    store.begin().expect("begin");
    assert_eq!(store.count("documents", &s, &[]).expect("count"), 1);
    assert_eq!(store.count("units", &s, &[]).expect("count"), 1);
    store.rollback().expect("rollback");
}

/// The edit of one column of every row of `table` in document `d1` that an
/// out-of-band writer could make: text gains a character (a null becomes
/// text), an integer moves, a column with allowed values takes another one,
/// a digest becomes another 32 bytes.
fn out_of_band_edit(
    h: &dyn Harness,
    table: &str,
    column: &phasehost_store::schema::Column,
) -> String {
    use phasehost_store::schema::ColumnType;
    let c = format!("\"{}\"", column.name);
    let value = match (&column.ty, column.allowed.as_slice()) {
        (ColumnType::Sha256, _) => {
            let (zeros, ones) = (
                h.bytes_literal(&"00".repeat(32)),
                h.bytes_literal(&"11".repeat(32)),
            );
            format!("CASE WHEN {c} = {zeros} THEN {ones} ELSE {zeros} END")
        }
        (_, [first, second, ..]) => {
            format!("CASE WHEN {c} = '{first}' THEN '{second}' ELSE '{first}' END")
        }
        (ColumnType::Int | ColumnType::NullableInt, _) => format!("COALESCE({c}, 0) + 1000000"),
        (ColumnType::Text | ColumnType::NullableText, _) => format!("COALESCE({c}, '') || 'x'"),
    };
    format!("UPDATE \"{table}\" SET {c} = {value} WHERE document_id = 'd1'")
}

/// An edit made behind the store's back (not through it) of any one column
/// of any plugin table changes the document digest, which a resume compares
/// with the one the run recorded after its last write (drift).
pub fn digest_sees_every_out_of_band_column_edit(h: &dyn Harness) {
    let mut store = h.open();
    seed(store.as_mut(), "d1");
    let mut before = store.document_digest("d1").expect("digest");
    let mut edited = 0;
    for table in phasehost_store::schema::PLUGIN_TABLES.iter() {
        // The scope column last: the rows then leave the document.
        let mut columns: Vec<_> = table.columns.iter().collect();
        columns.sort_by_key(|c| c.name == "document_id");
        for column in columns {
            let edit = out_of_band_edit(h, &table.name, column);
            if h.raw(&edit).is_err() {
                continue;
            }
            let after = store.document_digest("d1").expect("digest");
            if after != before {
                edited += 1;
            } else {
                // Only a table without rows of d1 may keep its digest.
                let mut check = h.open();
                check.begin().expect("begin");
                let rows = check.count(&table.name, &scope("d1"), &[]).expect("count");
                check.rollback().expect("rollback");
                assert_eq!(rows, 0, "{edit} left the digest unchanged");
            }
            before = after;
        }
    }
    // units, documents, source_versions and envelopes hold rows of d1.
    assert!(edited >= 20, "only {edited} column edits were seen");
}

/// A digest column is written as its 32 bytes and read back as the 64 hex
/// digits it was given; any other spelling is refused before SQL runs (one
/// digest, one spelling: idempotent inserts and filters compare bytes), and
/// bytes of another length written behind the store's back are refused by
/// every read, the document digest included, never passed on.
pub fn digest_columns_hold_32_bytes(h: &dyn Harness) {
    let mut store = h.open();
    seed(store.as_mut(), "d1");
    let s = scope("d1");
    store.begin().expect("begin");
    let rows = store.select("envelopes", &s, &[]).expect("select");
    let digest = rows[0]["plan_digest"].as_str().expect("hex").to_string();
    assert_eq!(digest, "0d".repeat(32));
    let by_digest = store
        .select("envelopes", &s, &filters(&[("plan_digest", &digest)]))
        .expect("select by digest");
    assert_eq!(by_digest.len(), rows.len());
    // Another spelling of the same digest matches nothing, as for integers.
    let upper = digest.to_uppercase();
    assert!(
        store
            .select("envelopes", &s, &filters(&[("plan_digest", &upper)]))
            .expect("select")
            .is_empty()
    );
    for bad in [
        upper.as_str(),
        &digest[..62],
        "",
        &format!("{digest}00"),
        &"zz".repeat(32),
    ] {
        let mut row = envelope("e-bad", "art_9");
        row.insert("plan_digest".into(), bad.into());
        let err = store.insert("envelopes", &s, &[row]).expect_err("refused");
        assert!(
            matches!(&err, StoreError::Invalid(m) if m.contains("64 lowercase hex")),
            "{bad:?}: {err:?}"
        );
    }
    store.commit().expect("commit");
    let short = h.bytes_literal(&"ab".repeat(31));
    h.raw(&format!(
        "UPDATE envelopes SET text_sha = {short} WHERE document_id = 'd1'"
    ))
    .expect("a 31-byte value behind the store's back");
    assert!(
        store.document_digest("d1").is_err(),
        "the digest refuses it"
    );
    store.begin().expect("begin");
    assert!(
        store.select("envelopes", &s, &[]).is_err(),
        "select refuses it"
    );
    store.rollback().expect("rollback");
}

/// `select_json` writes each row as exactly the text serializing `select`'s
/// row makes (key order, escapes, nulls, integers), on every plugin table.
pub fn select_json_is_select_serialized(h: &dyn Harness) {
    let mut store = h.open();
    seed(store.as_mut(), "d1");
    let s = scope("d1");
    store.begin().expect("begin");
    let set = row(json!({"text": "quote \" back \\ line \n tab \t ctl \u{1} é 𝄞 </"}));
    store
        .update("units", &s, &filters(&[("eid", "e2")]), &set)
        .expect("update");
    let mut rows = 0;
    for table in phasehost_store::schema::PLUGIN_TABLES.iter() {
        for f in [vec![], filters(&[("document_id", "d1")])] {
            let Ok(json) = store.select_json(&table.name, &s, &f) else {
                continue;
            };
            let expected: Vec<String> = store
                .select(&table.name, &s, &f)
                .expect("select")
                .iter()
                .map(|r| serde_json::to_string(r).expect("json"))
                .collect();
            assert_eq!(json, expected, "{}", table.name);
            rows += json.len();
        }
    }
    assert!(rows >= 9, "{rows}");
    store.rollback().expect("rollback");
}
