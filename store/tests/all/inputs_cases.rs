//! Schema version 3 on both backends: the plan digest on queue rows, the
//! inputs digest on checkpoints, the runs index joining the open
//! transaction, the v2 → v3 migration; and on PostgreSQL, least-privilege
//! roles after an owner migrated and the index lock.

use std::sync::mpsc;
use std::time::Duration;

use phasehost_store::{Checkpoint, HostTables, PgStore, PgTls, StoreBackend, StoreError};

use crate::cases::{PLAN_SHA, is_conflict, is_invalid};
use crate::support::*;
use serde_json::json;

/// What these cases need beyond [`Harness`], per dialect.
pub trait Older: Harness {
    /// Creates the test's database at schema version 2 (the first two
    /// migrations, run by hand, as the previous release left it).
    fn create_v2(&self);
    /// The schema version recorded in the test's database.
    fn schema_version(&self) -> i64;
    /// SQL adding a database-side refusal of runs-index entries containing
    /// `forbidden` (an error only the database sees).
    fn forbid_entry_sql(&self) -> &'static str;
    /// The dialect's migration to version 3.
    fn v3_migration(&self) -> &'static str;
    /// Creates the test's database at schema version 3 (text digests).
    fn create_v3(&self) {
        self.create_v2();
        self.raw(self.v3_migration()).expect("version 3 schema");
        self.raw("INSERT INTO schema_version (version, applied_at) VALUES (3, 0);")
            .expect("version 3 recorded");
    }
}

const RECORD_V2: &str = "INSERT INTO schema_version (version, applied_at) VALUES (2, 0);";

impl Older for SqliteHarness {
    fn create_v2(&self) {
        self.create_v1();
        self.raw(include_str!("../../src/migrations/sqlite/0002_worker.sql"))
            .expect("version 2 schema");
        self.raw(RECORD_V2).expect("version 2 recorded");
    }

    fn schema_version(&self) -> i64 {
        rusqlite::Connection::open(&self.path)
            .expect("raw")
            .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
            .expect("version")
    }

    fn v3_migration(&self) -> &'static str {
        include_str!("../../src/migrations/sqlite/0003_inputs.sql")
    }

    fn forbid_entry_sql(&self) -> &'static str {
        "CREATE TRIGGER forbid_entry BEFORE INSERT ON runs_index \
         WHEN NEW.entry LIKE '%forbidden%' BEGIN SELECT RAISE(ABORT, 'forbidden entry'); END;"
    }
}

impl Older for PgHarness {
    fn create_v2(&self) {
        self.create_v1();
        self.raw(include_str!(
            "../../src/migrations/postgres/0002_worker.sql"
        ))
        .expect("version 2 schema");
        self.raw(RECORD_V2).expect("version 2 recorded");
    }

    fn schema_version(&self) -> i64 {
        self.client()
            .query_one("SELECT MAX(version) FROM schema_version", &[])
            .expect("version")
            .get(0)
    }

    fn v3_migration(&self) -> &'static str {
        include_str!("../../src/migrations/postgres/0003_inputs.sql")
    }

    fn forbid_entry_sql(&self) -> &'static str {
        "ALTER TABLE runs_index ADD CONSTRAINT forbid_entry CHECK (entry NOT LIKE '%forbidden%');"
    }
}

fn checkpoint(run_id: &str, phase_index: u64, inputs_digest: &str) -> Checkpoint {
    Checkpoint {
        run_id: run_id.into(),
        phase_index,
        phase: format!("phase-{phase_index}"),
        evidence_digest: format!("ev-{phase_index}"),
        store_digest: format!("st-{phase_index}"),
        inputs_digest: inputs_digest.into(),
    }
}

fn docs(ids: &[&str]) -> Vec<(String, String)> {
    ids.iter()
        .map(|id| (id.to_string(), format!("/src/{id}")))
        .collect()
}

pub fn checkpoints_carry_inputs_and_come_back_in_phase_order(h: &dyn Harness) {
    let mut store = h.open();
    assert_eq!(store.checkpoints("run-1").expect("none"), vec![]);
    // Recorded out of order, over two transactions, with another run between.
    store.begin().expect("begin");
    for index in [2, 0] {
        store
            .record_checkpoint(&checkpoint("run-1", index, "inputs-a"))
            .expect("record");
    }
    store
        .record_checkpoint(&checkpoint("run-2", 0, "inputs-b"))
        .expect("record");
    // Seen inside the transaction, in order.
    let inside: Vec<u64> = store
        .checkpoints("run-1")
        .expect("inside")
        .iter()
        .map(|c| c.phase_index)
        .collect();
    assert_eq!(inside, vec![0, 2]);
    store.commit().expect("commit");
    store.begin().expect("begin");
    store
        .record_checkpoint(&checkpoint("run-1", 1, "inputs-a"))
        .expect("record");
    // Rolled back: gone.
    store
        .record_checkpoint(&checkpoint("run-1", 3, "inputs-a"))
        .expect("record");
    store.rollback().expect("rollback");
    store.begin().expect("begin");
    store
        .record_checkpoint(&checkpoint("run-1", 1, "inputs-a"))
        .expect("record");
    store.commit().expect("commit");
    drop(store);
    let mut store = h.open();
    assert_eq!(
        store.checkpoints("run-1").expect("checkpoints"),
        vec![
            checkpoint("run-1", 0, "inputs-a"),
            checkpoint("run-1", 1, "inputs-a"),
            checkpoint("run-1", 2, "inputs-a"),
        ]
    );
    assert_eq!(
        store.checkpoints("run-2").expect("checkpoints"),
        vec![checkpoint("run-2", 0, "inputs-b")]
    );
    assert_eq!(
        store.last_checkpoint("run-1").expect("last"),
        Some(checkpoint("run-1", 2, "inputs-a"))
    );
    // A different inputs digest does not make a recorded phase new.
    store.begin().expect("begin");
    is_conflict(store.record_checkpoint(&checkpoint("run-1", 0, "inputs-other")));
    store.commit().expect("commit");
    assert_eq!(
        store.checkpoints("run-1").expect("checkpoints")[0].inputs_digest,
        "inputs-a"
    );
    // The inputs digest cannot be rewritten either.
    let err = h
        .raw("UPDATE run_checkpoints SET inputs_digest = 'forged'")
        .expect_err("update refused");
    assert!(err.contains("append-only"), "{err}");
}

pub fn enqueue_records_the_plan_digest(h: &dyn Harness) {
    let mut store = h.open();
    let other = "0".repeat(64);
    assert_eq!(
        store.enqueue(&docs(&["a", "b"]), PLAN_SHA).expect("a, b"),
        2
    );
    assert_eq!(store.enqueue(&docs(&["c"]), &other).expect("c"), 1);
    // A malformed digest is refused before anything else, nothing queued.
    for bad in [
        String::new(),
        PLAN_SHA.to_uppercase(),
        PLAN_SHA[..63].to_string(),
        format!("{PLAN_SHA}0"),
        format!("{}g", &PLAN_SHA[..63]),
        format!("sha256:{}", &PLAN_SHA[..57]),
        format!("{} ", &PLAN_SHA[..63]),
    ] {
        let msg = is_invalid(store.enqueue(&docs(&["d"]), &bad));
        assert!(msg.contains("plan digest"), "{msg}");
        is_invalid(store.enqueue(&docs(&["a", "a"]), &bad));
        is_invalid(store.enqueue(&[], &bad));
    }
    let entries = store.queue_entries().expect("entries");
    let plans: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e.document_id.as_str(), e.plan_sha256.as_str()))
        .collect();
    assert_eq!(
        plans,
        vec![("a", PLAN_SHA), ("b", PLAN_SHA), ("c", other.as_str())]
    );
    // Every claim hands the digest back, a taken-over one included.
    let a = store.claim("w1", 1).expect("claim").expect("a");
    assert_eq!(
        (a.document_id.as_str(), a.plan_sha256.as_str()),
        ("a", PLAN_SHA)
    );
    let b = store.claim("w1", 60).expect("claim").expect("b");
    assert_eq!(b.plan_sha256, PLAN_SHA);
    let c = store.claim("w1", 60).expect("claim").expect("c");
    assert_eq!(c.plan_sha256, other);
    std::thread::sleep(Duration::from_millis(1300));
    let again = store.claim("w2", 60).expect("claim").expect("a again");
    assert_eq!(
        (
            again.document_id.as_str(),
            again.attempts,
            again.plan_sha256.as_str()
        ),
        ("a", 2, PLAN_SHA)
    );
    // Parked and released, it still carries it.
    store.attach_run("a", "w2", "run-a").expect("attach");
    store.park("a", "w2", "run-a", "SG_1").expect("park");
    assert!(store.unpark("run-a").expect("unpark"));
    let resumed = store.claim("w3", 60).expect("claim").expect("a resumed");
    assert_eq!(
        (resumed.run_id.as_deref(), resumed.plan_sha256.as_str()),
        (Some("run-a"), PLAN_SHA)
    );
}

pub fn append_index_joins_the_open_transaction(h: &dyn Harness) {
    let mut store = h.open();
    let s = scope("d1");
    // Outside a transaction: its own, committed.
    let first = store
        .append_index("r1", "d1", r#"{"run":"r1"}"#)
        .expect("r1");
    assert_eq!(first.seq, 1);
    // Inside: seen there, gone with a rollback.
    store.begin().expect("begin");
    store
        .insert("documents", &s, &[document("t")])
        .expect("insert");
    let rolled = store
        .append_index("r2", "d1", r#"{"run":"r2"}"#)
        .expect("r2");
    assert_eq!(
        (rolled.seq, rolled.prev_hash.as_str()),
        (2, first.hash.as_str())
    );
    assert_eq!(store.verify_index().expect("seen inside"), 2);
    assert!(store.in_transaction(), "the transaction stays open");
    store.rollback().expect("rollback");
    assert_eq!(store.verify_index().expect("verify"), 1);
    store.begin().expect("begin");
    assert_eq!(store.count("documents", &s, &[]).expect("count"), 0);
    store.rollback().expect("rollback");
    // Kept by a commit, with the phase's writes; the same entry again is the
    // same append, another entry for the run a conflict, bad JSON invalid,
    // and none of those spoil the transaction.
    store.begin().expect("begin");
    store
        .insert("documents", &s, &[document("t")])
        .expect("insert");
    let kept = store
        .append_index("r2", "d1", r#"{"run":"r2"}"#)
        .expect("r2");
    assert_eq!(kept, rolled);
    assert_eq!(
        store
            .append_index("r2", "d1", r#"{"run":"r2"}"#)
            .expect("again"),
        kept
    );
    is_conflict(store.append_index("r2", "d1", r#"{"run":"other"}"#));
    is_invalid(store.append_index("r3", "d1", "not json"));
    let third = store
        .append_index("r3", "d1", r#"{"run":"r3"}"#)
        .expect("r3");
    assert_eq!(
        (third.seq, third.prev_hash.as_str()),
        (3, kept.hash.as_str())
    );
    store.commit().expect("commit");
    drop(store);
    let mut store = h.open();
    assert_eq!(store.verify_index().expect("verify"), 3);
    store.begin().expect("begin");
    assert_eq!(store.count("documents", &s, &[]).expect("count"), 1);
    store.rollback().expect("rollback");
}

pub fn a_failed_append_leaves_the_transaction_usable<H: Older>(h: &H) {
    let mut store = h.open();
    h.raw(h.forbid_entry_sql()).expect("constraint");
    let s = scope("d1");
    store.begin().expect("begin");
    store
        .insert("documents", &s, &[document("t")])
        .expect("insert");
    let err = store
        .append_index("r1", "d1", r#"{"run":"forbidden"}"#)
        .expect_err("refused by the database");
    assert!(
        matches!(err, StoreError::Invalid(_) | StoreError::Backend(_)),
        "{err:?}"
    );
    // Nothing of it stays; the transaction goes on and commits.
    assert_eq!(store.verify_index().expect("usable"), 0);
    let entry = store
        .append_index("r1", "d1", r#"{"run":"r1"}"#)
        .expect("r1");
    assert_eq!(entry.seq, 1);
    store
        .record_checkpoint(&checkpoint("r1", 0, "inputs"))
        .expect("record");
    store.commit().expect("commit");
    assert_eq!(store.verify_index().expect("verify"), 1);
    assert_eq!(store.checkpoints("r1").expect("checkpoints").len(), 1);
    store.begin().expect("begin");
    assert_eq!(store.count("documents", &s, &[]).expect("count"), 1);
    store.rollback().expect("rollback");
}

pub fn migration_from_v2_keeps_rows<H: Older>(h: &H) {
    h.create_v2();
    h.raw(h.v1_queue_sql()).expect("queue at version 2");
    h.raw(
        "UPDATE queue SET state = 'waiting', waiting_gate = 'SG_1' WHERE document_id = 'zeta'; \
         INSERT INTO run_checkpoints (run_id, phase_index, phase, evidence_digest, store_digest, \
             committed_at) VALUES \
         ('run-alpha', 1, 'p1', 'ev1', 'st1', 2), ('run-alpha', 0, 'p0', 'ev0', 'st0', 1);",
    )
    .expect("rows at version 2");
    // The version 2 schema has neither column: the migration adds them.
    let touch_new_columns = "UPDATE queue SET plan_sha256 = '' WHERE 0 = 1; \
         UPDATE run_checkpoints SET inputs_digest = '' WHERE 0 = 1;";
    assert!(h.raw(touch_new_columns).is_err());
    let mut store = h.open();
    assert_eq!(h.schema_version(), 4);
    h.raw(touch_new_columns).expect("the new columns exist");
    let entries = store.queue_entries().expect("entries");
    let summary: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e.document_id.as_str(),
                e.state.as_str(),
                e.run_id.as_deref(),
                e.waiting_gate.as_deref(),
                e.plan_sha256.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("zeta", "waiting", None, Some("SG_1"), ""),
            ("alpha", "claimed", Some("run-alpha"), None, ""),
            ("mid", "failed", Some("run-mid"), None, ""),
        ]
    );
    let old = |i: u64| Checkpoint {
        run_id: "run-alpha".into(),
        phase_index: i,
        phase: format!("p{i}"),
        evidence_digest: format!("ev{i}"),
        store_digest: format!("st{i}"),
        inputs_digest: String::new(),
    };
    assert_eq!(
        store.checkpoints("run-alpha").expect("checkpoints"),
        vec![old(0), old(1)]
    );
    // The old rows still work: the expired lease is taken over, with no plan
    // digest; new rows come after them with theirs.
    store.enqueue(&docs(&["new"]), PLAN_SHA).expect("enqueue");
    let taken = store.claim("w1", 60).expect("claim").expect("alpha");
    assert_eq!(
        (
            taken.document_id.as_str(),
            taken.run_id.as_deref(),
            taken.plan_sha256.as_str()
        ),
        ("alpha", Some("run-alpha"), "")
    );
    let new = store.claim("w1", 60).expect("claim").expect("new");
    assert_eq!(
        (new.document_id.as_str(), new.plan_sha256.as_str()),
        ("new", PLAN_SHA)
    );
    store.begin().expect("begin");
    store
        .record_checkpoint(&checkpoint("run-alpha", 2, "inputs"))
        .expect("record after migration");
    store.commit().expect("commit");
    let after = store.checkpoints("run-alpha").expect("checkpoints");
    assert_eq!(after.len(), 3);
    assert_eq!(after[2], checkpoint("run-alpha", 2, "inputs"));
    // The append-only guard still holds, on old rows and new.
    for sql in [
        "UPDATE run_checkpoints SET inputs_digest = 'forged'",
        "UPDATE run_checkpoints SET phase = 'forged' WHERE phase_index = 0",
        "DELETE FROM run_checkpoints WHERE phase_index = 2",
    ] {
        let err = h.raw(sql).expect_err("refused");
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(store.checkpoints("run-alpha").expect("checkpoints"), after);
    // Reopening does not migrate again.
    drop(store);
    let mut again = h.open();
    assert_eq!(h.schema_version(), 4);
    assert_eq!(again.queue_entries().expect("entries").len(), 4);
}

/// The rows of one document as a version 3 store held them (digests as
/// hex text), inserted by hand.
const V3_ROWS: &str = "\
    INSERT INTO documents (document_id, title, first_seen_run) VALUES ('d1', 'Title', 'run-1'); \
    INSERT INTO source_versions (document_id, version, seq, raw_sha256, normalized_sha256, \
        raw_bytes, normalized_bytes, chars, status) VALUES ('d1', 'v1', 1, \
        'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', \
        'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 10, 9, 9, 'staged'); \
    INSERT INTO units (document_id, version, eid, parent_eid, kind, ordinal, number, heading, \
        text, text_sha, seq, status) VALUES ('d1', 'v1', 'art_1', NULL, 'article', 1, '1', '', \
        'Điều 1.', '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', 1, 'staged'); \
    INSERT INTO envelopes (envelope_id, document_id, version, eid, text_sha, plan_digest, \
        source_sha256) VALUES ('e1', 'd1', 'v1', 'art_1', \
        '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', \
        'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc', \
        'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');";

/// Migrating to version 4 turns every digest column into its 32 bytes and
/// keeps each row, and the document digest recorded before (in checkpoints
/// and paused states) stays the same; a store holding a digest that is not
/// hex is not migrated at all: the open fails and the rows stay as they were.
pub fn migration_to_v4_keeps_rows_and_the_document_digest<H: Older>(h: &H) {
    h.create_v3();
    h.raw(V3_ROWS).expect("rows at version 3");
    // The same rows written through a store at version 4, elsewhere.
    let expected = {
        let fresh = SqliteHarness::new();
        let mut store = fresh.open();
        store.begin().expect("begin");
        let s = scope("d1");
        store
            .insert(
                "documents",
                &s,
                &[row(json!({"title": "Title", "first_seen_run": "run-1"}))],
            )
            .expect("documents");
        store.insert("source_versions", &s, &[row(json!({
            "version": "v1", "seq": 1, "raw_sha256": "a".repeat(64), "normalized_sha256": "b".repeat(64),
            "raw_bytes": 10, "normalized_bytes": 9, "chars": 9, "status": "staged"}))]).expect("versions");
        let text_sha = "0123456789abcdef".repeat(4);
        store
            .insert(
                "units",
                &s,
                &[row(json!({
            "version": "v1", "eid": "art_1", "parent_eid": null, "kind": "article", "ordinal": 1,
            "number": "1", "heading": "", "text": "Điều 1.", "text_sha": text_sha, "seq": 1,
            "status": "staged"}))],
            )
            .expect("units");
        store
            .insert(
                "envelopes",
                &s,
                &[row(json!({
            "envelope_id": "e1", "version": "v1", "eid": "art_1", "text_sha": text_sha,
            "plan_digest": "c".repeat(64), "source_sha256": "a".repeat(64)}))],
            )
            .expect("envelopes");
        store.commit().expect("commit");
        store.document_digest("d1").expect("digest")
    };
    let mut store = h.open();
    assert_eq!(h.schema_version(), 4);
    assert_eq!(store.document_digest("d1").expect("digest"), expected);
    store.begin().expect("begin");
    let units = store.select("units", &scope("d1"), &[]).expect("units");
    assert_eq!(units[0]["text_sha"], "0123456789abcdef".repeat(4));
    store.rollback().expect("rollback");
}

/// A version 3 store holding a digest that is not hex (written behind the
/// store's back) is not migrated: the open fails naming the migration, and
/// the database stays at version 3 with every row as it was.
pub fn a_digest_that_is_not_hex_stops_the_migration_to_v4<H: Older>(h: &H) {
    h.create_v3();
    h.raw(&V3_ROWS.replace("'cccccccc", "'not-hex!"))
        .expect("rows at version 3");
    let Err(err) = h.try_open() else {
        panic!("a store with a digest that is not hex was migrated")
    };
    assert!(
        err.to_string()
            .contains("the migration to schema version 4 failed, nothing of it applied"),
        "{err}"
    );
    assert_eq!(h.schema_version(), 3);
    h.raw(
        "UPDATE envelopes SET plan_digest = plan_digest || '' WHERE plan_digest LIKE 'not-hex!%'",
    )
    .expect("still text, still there");
}

/// Runs `f` as a fresh login role granted `grants` (a `{role}` placeholder;
/// run in the test's schema), then drops the role, whatever `f` did.
fn with_role<T>(h: &PgHarness, grants: &str, f: impl FnOnce(&str) -> T) -> T {
    let role = format!("r_{}", h.schema);
    h.raw(&format!(
        "CREATE ROLE {role} LOGIN; GRANT USAGE ON SCHEMA \"{}\" TO {role}; {}",
        h.schema,
        grants.replace("{role}", &role)
    ))
    .expect("role");
    let url = pg_url();
    let (_, host) = url.split_once('@').expect("a URL with a user");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        f(&format!("postgres://{role}@{host}"))
    }));
    h.raw(&format!("DROP OWNED BY {role}; DROP ROLE {role};"))
        .expect("drop role");
    result.unwrap_or_else(|p| std::panic::resume_unwind(p))
}

#[test]
fn a_least_privilege_role_works_after_the_owner_migrates_to_v3() {
    let h = PgHarness::new();
    h.create_v2();
    h.raw(h.v1_queue_sql()).expect("queue at version 2");
    // Table-level grants as a worker's role had them at version 2; no CREATE,
    // not the owner.
    let grants = "GRANT SELECT ON schema_version TO {role}; \
         GRANT SELECT, INSERT, UPDATE ON queue TO {role}; \
         GRANT SELECT, INSERT ON run_checkpoints TO {role}; \
         GRANT SELECT, INSERT, UPDATE ON runs_index TO {role}; \
         GRANT SELECT, INSERT ON documents TO {role};";
    with_role(&h, grants, |url| {
        // It cannot migrate: connecting to the version 2 schema fails and
        // changes nothing.
        let err = PgStore::connect(url, None, &h.schema, &PgTls::default())
            .map(|_| ())
            .expect_err("no rights to migrate");
        assert!(err.to_string().contains("owner"), "{err}");
        assert_eq!(h.schema_version(), 2);
        // The owner migrates; then the role works with the new columns.
        drop(h.open());
        assert_eq!(h.schema_version(), 4);
        let mut store =
            PgStore::connect(url, None, &h.schema, &PgTls::default()).expect("connect, no DDL");
        store.enqueue(&docs(&["new"]), PLAN_SHA).expect("enqueue");
        let taken = store.claim("w1", 60).expect("claim").expect("zeta");
        assert_eq!(
            (taken.document_id.as_str(), taken.plan_sha256.as_str()),
            ("zeta", "")
        );
        let entries = store.queue_entries().expect("entries");
        assert_eq!(entries.last().expect("new").plan_sha256, PLAN_SHA);
        let s = scope("alpha");
        store.begin().expect("begin");
        store
            .insert("documents", &s, &[document("t")])
            .expect("insert");
        store
            .append_index("run-alpha", "alpha", r#"{"run":"run-alpha"}"#)
            .expect("append in the transaction");
        store
            .record_checkpoint(&checkpoint("run-alpha", 0, "inputs"))
            .expect("record");
        store.commit().expect("commit");
        assert_eq!(
            store.checkpoints("run-alpha").expect("checkpoints"),
            vec![checkpoint("run-alpha", 0, "inputs")]
        );
        assert_eq!(store.verify_index().expect("verify"), 1);
    });
    // The guard holds against TRUNCATE too, after the migration.
    let err = h
        .raw("TRUNCATE run_checkpoints")
        .expect_err("truncate refused");
    assert!(err.contains("append-only"), "{err}");
}

/// Appends from another connection in a thread; reports the seq (or the
/// error) on the channel.
fn append_elsewhere(h: &PgHarness, run: &'static str) -> mpsc::Receiver<Result<u64, String>> {
    let (tx, rx) = mpsc::channel();
    let schema = h.schema.clone();
    std::thread::spawn(move || {
        let result = PgStore::connect(&pg_url(), None, &schema, &PgTls::default())
            .and_then(|mut other| other.append_index(run, "d2", r#"{"other":true}"#))
            .map(|e| e.seq)
            .map_err(|e| e.to_string());
        let _ = tx.send(result);
    });
    rx
}

#[test]
fn the_index_lock_holds_until_the_joined_transaction_ends() {
    let h = PgHarness::new();
    let mut store = h.open();
    // A failed append inside the transaction rolls its lock back with it:
    // another connection appends without waiting.
    store
        .append_index("r0", "d1", r#"{"run":"r0"}"#)
        .expect("r0");
    store.begin().expect("begin");
    is_conflict(store.append_index("r0", "d1", r#"{"run":"changed"}"#));
    let free = append_elsewhere(&h, "other-1");
    assert_eq!(
        free.recv_timeout(Duration::from_secs(10))
            .expect("not blocked"),
        Ok(2)
    );
    // A successful one holds the lock until commit: the other appender
    // waits, then chains after it.
    let mine = store
        .append_index("r1", "d1", r#"{"run":"r1"}"#)
        .expect("r1");
    assert_eq!(mine.seq, 3);
    let waiting = append_elsewhere(&h, "other-2");
    assert!(
        waiting.recv_timeout(Duration::from_millis(500)).is_err(),
        "the other appender must wait for the commit"
    );
    store.commit().expect("commit");
    assert_eq!(
        waiting
            .recv_timeout(Duration::from_secs(10))
            .expect("runs after the commit"),
        Ok(4)
    );
    assert_eq!(store.verify_index().expect("verify"), 4);
}
