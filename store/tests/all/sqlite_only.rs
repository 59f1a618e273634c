//! SQLite specifics.

use phasehost_store::{StoreSpec, open};

use crate::cases::PLAN_SHA;
use crate::support::*;

#[test]
fn sqlite_pragmas_and_no_role_privileges() {
    let h = SqliteHarness::new();
    let mut store = h.open();
    assert_eq!(store.kind(), "sqlite");
    assert_eq!(store.role_privileges().expect("privileges"), None);
    let conn = rusqlite::Connection::open(&h.path).expect("raw");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("pragma");
    assert_eq!(mode, "wal");
    let without_rowid: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'envelopes' AND sql LIKE '%WITHOUT ROWID%'",
            [],
            |r| r.get(0),
        )
        .expect("schema");
    assert_eq!(without_rowid, 1);
    let version: i64 = conn
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, 4);
}

#[test]
fn open_spec_opens_sqlite_and_reopens_without_migrating_again() {
    let h = SqliteHarness::new();
    let spec = StoreSpec::Sqlite(h.path.clone());
    let mut store = open(&spec).expect("open");
    seed(store.as_mut(), "d1");
    drop(store);
    let mut again = open(&spec).expect("reopen");
    assert_eq!(again.kind(), "sqlite");
    again.begin().expect("begin");
    assert_eq!(
        again.count("documents", &scope("d1"), &[]).expect("count"),
        1
    );
    again.rollback().expect("rollback");
}

#[test]
fn two_connections_share_the_queue() {
    let h = SqliteHarness::new();
    let mut a = h.open();
    let mut b = h.open();
    a.enqueue(
        &[("d1".into(), "/1".into()), ("d2".into(), "/2".into())],
        PLAN_SHA,
    )
    .expect("enqueue");
    let first = a.claim("wa", 60).expect("claim").expect("some");
    let second = b.claim("wb", 60).expect("claim").expect("some");
    assert_ne!(first.document_id, second.document_id);
    assert_eq!(b.claim("wb", 60).expect("claim"), None);
}

/// Two connections opening (and so creating and migrating) one new store at
/// once — a `batch --jobs 2`, or two operators' first runs — both succeed:
/// switching a new file to WAL takes a lock SQLite does not wait for by
/// itself, so the open waits for it as for any other lock.
#[test]
fn concurrent_opens_of_a_new_store_both_succeed() {
    for round in 0..20 {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("store.sqlite");
        let barrier = std::sync::Barrier::new(4);
        std::thread::scope(|scope| {
            let opened: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        phasehost_store::SqliteStore::open(&path).map(|_| ())
                    })
                })
                .collect();
            for handle in opened {
                let result = handle.join().expect("no panic");
                assert!(result.is_ok(), "round {round}: {result:?}");
            }
        });
    }
}

/// A value of another storage class written behind the store's back (a blob
/// in a text column) is refused: by the table (STRICT), else by the digest,
/// never hashed as if it were the text it replaced.
#[test]
fn a_blob_in_a_text_column_is_refused_by_the_digest() {
    let h = SqliteHarness::new();
    let mut store = h.open();
    seed(store.as_mut(), "d1");
    store.document_digest("d1").expect("digest");
    let edit = h.raw("UPDATE units SET text = CAST(text AS BLOB) WHERE eid = 'e2'");
    assert!(edit.is_err() || store.document_digest("d1").is_err());
}
