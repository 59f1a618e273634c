//! What a multi-worker batch needs (schema version 2), on both backends:
//! parking at a gate, attached runs, checkpoints, the v1 → v2 migration.

use phasehost_store::schema::{HOST_TABLES, PLUGIN_TABLES};
use phasehost_store::{Checkpoint, QueueEntry, StoreBackend, StoreError};

use crate::cases::{PLAN_SHA, is_conflict, is_invalid};
use crate::support::*;

fn docs(ids: &[&str]) -> Vec<(String, String)> {
    ids.iter()
        .map(|id| (id.to_string(), format!("/src/{id}")))
        .collect()
}

fn entry(store: &mut dyn StoreBackend, id: &str) -> QueueEntry {
    store
        .queue_entries()
        .expect("entries")
        .into_iter()
        .find(|e| e.document_id == id)
        .expect("queued")
}

fn checkpoint(run_id: &str, phase_index: u64) -> Checkpoint {
    Checkpoint {
        run_id: run_id.into(),
        phase_index,
        phase: format!("phase-{phase_index}"),
        evidence_digest: format!("ev-{phase_index}"),
        store_digest: format!("st-{phase_index}"),
        inputs_digest: format!("in-{run_id}"),
    }
}

pub fn park_and_unpark(h: &dyn Harness) {
    let mut store = h.open();
    store
        .enqueue(&docs(&["a", "b"]), PLAN_SHA)
        .expect("enqueue");
    let a = store.claim("w1", 60).expect("claim").expect("some");
    assert_eq!((a.document_id.as_str(), a.run_id.as_deref()), ("a", None));
    store.attach_run("a", "w1", "run-a").expect("attach");
    store.park("a", "w1", "run-a", "SG_1").expect("park");
    let parked = entry(store.as_mut(), "a");
    assert_eq!(parked.state, "waiting");
    assert_eq!(parked.run_id.as_deref(), Some("run-a"));
    assert_eq!(parked.waiting_gate.as_deref(), Some("SG_1"));
    assert_eq!(parked.lease_owner, None);
    let counts = store.queue_counts().expect("counts");
    assert_eq!(
        (
            counts.pending,
            counts.claimed,
            counts.expired,
            counts.waiting
        ),
        (1, 0, 0, 1)
    );
    // A waiting entry is never claimed; the parking worker no longer holds it.
    let b = store.claim("w2", 60).expect("claim").expect("some");
    assert_eq!(b.document_id, "b");
    assert_eq!(store.claim("w3", 60).expect("claim"), None);
    is_conflict(store.park("a", "w1", "run-a", "SG_1"));
    is_conflict(store.complete("a", "w1", "run-a"));
    // Unpark: only a waiting entry with that run.
    assert!(!store.unpark("run-nope").expect("unpark"));
    assert!(store.unpark("run-a").expect("unpark"));
    let unparked = entry(store.as_mut(), "a");
    assert_eq!(
        (
            unparked.state.as_str(),
            unparked.run_id.as_deref(),
            unparked.waiting_gate.as_deref()
        ),
        ("pending", Some("run-a"), None)
    );
    let counts = store.queue_counts().expect("counts");
    assert_eq!((counts.pending, counts.waiting), (1, 0));
    // Claimable again, carrying the run to resume.
    let again = store.claim("w3", 60).expect("claim").expect("some");
    assert_eq!(
        (
            again.document_id.as_str(),
            again.run_id.as_deref(),
            again.attempts
        ),
        ("a", Some("run-a"), 2)
    );
    assert!(!store.unpark("run-a").expect("no longer waiting"));
    store.complete("a", "w3", "run-a").expect("complete");
    assert!(!store.unpark("run-a").expect("done is not waiting"));
    // Queue writes run in their own transactions.
    store.begin().expect("begin");
    is_invalid(store.attach_run("b", "w2", "run-b"));
    is_invalid(store.park("b", "w2", "run-b", "SG_1"));
    is_invalid(store.unpark("run-b"));
    store.rollback().expect("rollback");
    assert_eq!(entry(store.as_mut(), "b").state, "claimed");
}

pub fn takeover_carries_the_attached_run(h: &dyn Harness) {
    let mut store = h.open();
    store.enqueue(&docs(&["a"]), PLAN_SHA).expect("enqueue");
    store.claim("w1", 1).expect("claim").expect("some");
    store.attach_run("a", "w1", "run-1").expect("attach");
    std::thread::sleep(std::time::Duration::from_millis(1300));
    let taken = store.claim("w2", 60).expect("claim").expect("taken over");
    assert_eq!(
        (taken.document_id.as_str(), taken.run_id.as_deref()),
        ("a", Some("run-1"))
    );
    is_conflict(store.attach_run("a", "w1", "run-late"));
    // Failing keeps the run and records why.
    store.fail("a", "w2", "boom").expect("fail");
    let failed = entry(store.as_mut(), "a");
    assert_eq!(
        (
            failed.state.as_str(),
            failed.run_id.as_deref(),
            failed.last_error.as_deref()
        ),
        ("failed", Some("run-1"), Some("boom"))
    );
}

pub fn lease_refusals_change_nothing(h: &dyn Harness) {
    let mut store = h.open();
    store
        .enqueue(&docs(&["a", "b"]), PLAN_SHA)
        .expect("enqueue");
    store.claim("w1", 60).expect("claim").expect("a");
    let before = store.queue_entries().expect("entries");
    assert_eq!(
        before
            .iter()
            .map(|e| (e.document_id.as_str(), e.state.as_str()))
            .collect::<Vec<_>>(),
        vec![("a", "claimed"), ("b", "pending")]
    );
    // Another worker, a pending entry, an unknown entry: all refused.
    let msg = is_conflict(store.attach_run("a", "w2", "run-x"));
    assert!(msg.contains("w2") && msg.contains("`a`"), "{msg}");
    let msg = is_conflict(store.park("a", "w2", "run-x", "SG_1"));
    assert!(msg.contains("w2") && msg.contains("`a`"), "{msg}");
    is_conflict(store.attach_run("b", "w1", "run-x"));
    is_conflict(store.park("b", "w1", "run-x", "SG_1"));
    is_conflict(store.park("nope", "w1", "run-x", "SG_1"));
    assert_eq!(store.queue_entries().expect("entries"), before);
    assert_eq!(store.queue_counts().expect("counts").waiting, 0);
    // The holder can.
    store.attach_run("a", "w1", "run-a").expect("attach");
    assert_eq!(entry(store.as_mut(), "a").run_id.as_deref(), Some("run-a"));
}

pub fn checkpoints_follow_the_transaction(h: &dyn Harness) {
    let mut store = h.open();
    let s = scope("d1");
    assert_eq!(
        is_invalid(store.record_checkpoint(&checkpoint("run-1", 0))),
        "no open transaction"
    );
    assert_eq!(store.last_checkpoint("run-1").expect("last"), None);
    // Rolled back with the phase's writes.
    store.begin().expect("begin");
    store
        .insert("documents", &s, &[document("t")])
        .expect("insert");
    store
        .record_checkpoint(&checkpoint("run-1", 0))
        .expect("record");
    assert_eq!(
        store.last_checkpoint("run-1").expect("seen inside"),
        Some(checkpoint("run-1", 0))
    );
    store.rollback().expect("rollback");
    assert_eq!(store.last_checkpoint("run-1").expect("last"), None);
    // Committed with them.
    store.begin().expect("begin");
    store
        .insert("documents", &s, &[document("t")])
        .expect("insert");
    store
        .record_checkpoint(&checkpoint("run-1", 0))
        .expect("record");
    store.commit().expect("commit");
    drop(store);
    let mut store = h.open();
    assert_eq!(
        store.last_checkpoint("run-1").expect("last"),
        Some(checkpoint("run-1", 0))
    );
    // A phase recorded twice is a conflict; the transaction stays usable.
    store.begin().expect("begin");
    let mut changed = checkpoint("run-1", 0);
    changed.phase = "other".into();
    let msg = is_conflict(store.record_checkpoint(&changed));
    assert!(msg.contains("run-1") && msg.contains("phase 0"), "{msg}");
    store
        .record_checkpoint(&checkpoint("run-1", 2))
        .expect("record");
    store
        .record_checkpoint(&checkpoint("run-1", 1))
        .expect("record");
    store
        .record_checkpoint(&checkpoint("run-2", 7))
        .expect("record");
    is_invalid(store.record_checkpoint(&checkpoint("run-3", u64::MAX)));
    store.commit().expect("commit");
    // The highest phase index, per run; the refused duplicate left nothing.
    assert_eq!(
        store.last_checkpoint("run-1").expect("last"),
        Some(checkpoint("run-1", 2))
    );
    assert_eq!(
        store.last_checkpoint("run-2").expect("last"),
        Some(checkpoint("run-2", 7))
    );
    assert_eq!(store.last_checkpoint("run-3").expect("last"), None);
}

pub fn checkpoints_are_host_only_and_append_only(h: &dyn Harness) {
    let mut store = h.open();
    store.begin().expect("begin");
    store
        .record_checkpoint(&checkpoint("run-1", 0))
        .expect("record");
    store.commit().expect("commit");
    // Plugins never reach the table.
    let s = scope("d1");
    store.begin().expect("begin");
    let unknown = |r: Result<u64, StoreError>| {
        assert!(matches!(r, Err(StoreError::UnknownTable(_))), "{r:?}");
    };
    assert!(matches!(
        store.select("run_checkpoints", &s, &[]),
        Err(StoreError::UnknownTable(_))
    ));
    unknown(store.count("run_checkpoints", &s, &[]));
    unknown(store.insert(
        "run_checkpoints",
        &s,
        &[row(
            serde_json::json!({"run_id": "run-x", "phase_index": 0}),
        )],
    ));
    unknown(store.delete("run_checkpoints", &s, &[]));
    store.rollback().expect("rollback");
    assert!(HOST_TABLES.contains(&"run_checkpoints"));
    // The table guards itself against rewriting.
    let err = h
        .raw("UPDATE run_checkpoints SET phase = 'forged'")
        .expect_err("update refused");
    assert!(err.contains("append-only"), "{err}");
    let err = h
        .raw("DELETE FROM run_checkpoints")
        .expect_err("delete refused");
    assert!(err.contains("append-only"), "{err}");
    assert_eq!(
        store.last_checkpoint("run-1").expect("last"),
        Some(checkpoint("run-1", 0))
    );
}

pub fn migration_from_v1_keeps_the_queue(h: &dyn Harness) {
    h.create_v1();
    h.raw(h.v1_queue_sql()).expect("queue at version 1");
    // The version 1 schema refuses the new state: the migration is what allows it.
    assert!(
        h.raw("UPDATE queue SET state = 'waiting' WHERE document_id = 'zeta'")
            .is_err()
    );
    let mut store = h.open();
    let entries = store.queue_entries().expect("entries");
    let summary: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e.document_id.as_str(),
                e.state.as_str(),
                e.run_id.as_deref(),
                e.attempts,
                e.last_error.as_deref(),
                e.lease_owner.as_deref(),
                e.waiting_gate.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("zeta", "pending", None, 0, None, None, None),
            (
                "alpha",
                "claimed",
                Some("run-alpha"),
                1,
                None,
                Some("w-old"),
                None
            ),
            (
                "mid",
                "failed",
                Some("run-mid"),
                1,
                Some("boom"),
                Some("w-old"),
                None
            ),
        ]
    );
    // New entries come after the migrated ones.
    store.enqueue(&docs(&["new"]), PLAN_SHA).expect("enqueue");
    let order: Vec<(String, String)> = store
        .queue_entries()
        .expect("entries")
        .into_iter()
        .map(|e| (e.document_id, e.plan_sha256))
        .collect();
    // Rows from before version 3 carry no plan digest.
    let expected: Vec<(String, String)> =
        [("zeta", ""), ("alpha", ""), ("mid", ""), ("new", PLAN_SHA)]
            .iter()
            .map(|(d, p)| (d.to_string(), p.to_string()))
            .collect();
    assert_eq!(order, expected);
    // The queue works as before: oldest first, expired lease taken over
    // with its run, and the new state is accepted.
    let first = store.claim("w1", 60).expect("claim").expect("zeta");
    assert_eq!(first.document_id, "zeta");
    let taken = store.claim("w2", 60).expect("claim").expect("alpha");
    assert_eq!(
        (
            taken.document_id.as_str(),
            taken.attempts,
            taken.run_id.as_deref()
        ),
        ("alpha", 2, Some("run-alpha"))
    );
    store
        .park("alpha", "w2", "run-alpha", "SG_1")
        .expect("park after migration");
    let next = store.claim("w3", 60).expect("claim").expect("new");
    assert_eq!(next.document_id, "new");
    let counts = store.queue_counts().expect("counts");
    assert_eq!(
        (
            counts.claimed,
            counts.waiting,
            counts.failed,
            counts.pending
        ),
        (2, 1, 1, 0)
    );
    // Reopening does not migrate again.
    drop(store);
    let mut again = h.open();
    assert_eq!(again.queue_entries().expect("entries").len(), 4);
}

pub fn every_table_is_plugin_or_host(h: &dyn Harness) {
    drop(h.open());
    let names = h.table_names();
    assert!(names.iter().any(|n| n == "run_checkpoints"), "{names:?}");
    for name in &names {
        assert!(
            PLUGIN_TABLES.iter().any(|t| t.name == *name) || HOST_TABLES.contains(&name.as_str()),
            "table `{name}` is in neither list"
        );
    }
}
