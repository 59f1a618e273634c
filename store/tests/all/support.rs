//! Test harnesses: a fresh SQLite file or a fresh PostgreSQL schema per test,
//! plus raw SQL access to the same database (for tampering).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use phasehost_store::{PgStore, PgTls, Row, Scope, SqliteStore, StoreBackend, StoreError};
use serde_json::{Value, json};

/// One test's database.
pub trait Harness {
    /// A new connection to the test's database (migrated), or why not.
    fn try_open(&self) -> Result<Box<dyn StoreBackend>, StoreError>;
    /// A new connection to the test's database (migrated).
    fn open(&self) -> Box<dyn StoreBackend> {
        self.try_open().expect("open the store")
    }
    /// Runs raw SQL against the same database, bypassing the store.
    fn raw(&self, sql: &str) -> Result<(), String>;
    /// SQL that lets the runs index be tampered with (drops the guard).
    fn unguard_index_sql(&self) -> &'static str;
    /// SQL adding a database-side refusal of documents titled `forbidden`
    /// (an error only the database sees).
    fn forbid_title_sql(&self) -> &'static str;
    /// The SQL literal of the bytes `hex` spells (SQLite BLOB, PostgreSQL
    /// bytea), for edits of digest columns behind the store's back.
    fn bytes_literal(&self, hex: &str) -> String;
    /// Creates the test's database at schema version 1 (the first migration
    /// only, run by hand, as the previous release left it).
    fn create_v1(&self);
    /// SQL queueing, at version 1, `zeta` (pending), `alpha` (claimed by
    /// `w-old`, lease expired, run `run-alpha`) and `mid` (failed, run
    /// `run-mid`), in that queue order.
    fn v1_queue_sql(&self) -> &'static str;
    /// The names of the tables in the test's database.
    fn table_names(&self) -> Vec<String>;
}

/// The version table as every release creates it.
const VERSION_TABLE: &str = "CREATE TABLE schema_version (\
     version BIGINT NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL); \
     INSERT INTO schema_version (version, applied_at) VALUES (1, 0);";

/// A temp SQLite file.
pub struct SqliteHarness {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl SqliteHarness {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("store.sqlite");
        Self { _dir: dir, path }
    }
}

impl Harness for SqliteHarness {
    fn try_open(&self) -> Result<Box<dyn StoreBackend>, StoreError> {
        Ok(Box::new(SqliteStore::open(&self.path)?))
    }

    fn raw(&self, sql: &str) -> Result<(), String> {
        let conn = rusqlite::Connection::open(&self.path).map_err(|e| e.to_string())?;
        conn.execute_batch(sql).map_err(|e| e.to_string())
    }

    fn unguard_index_sql(&self) -> &'static str {
        "DROP TRIGGER runs_index_no_update;"
    }

    fn bytes_literal(&self, hex: &str) -> String {
        format!("X'{hex}'")
    }

    fn forbid_title_sql(&self) -> &'static str {
        "CREATE TRIGGER forbid BEFORE INSERT ON documents WHEN NEW.title = 'forbidden' \
         BEGIN SELECT RAISE(ABORT, 'forbidden title'); END;"
    }

    fn create_v1(&self) {
        self.raw(include_str!("../../src/migrations/sqlite/0001_init.sql"))
            .expect("version 1 schema");
        self.raw(VERSION_TABLE).expect("version 1 recorded");
    }

    fn v1_queue_sql(&self) -> &'static str {
        "INSERT INTO queue (document_id, source_path, state, lease_owner, lease_until, attempts, \
             run_id, last_error, position, enqueued_at) VALUES \
         ('zeta', '/src/zeta', 'pending', NULL, NULL, 0, NULL, NULL, 5, 1), \
         ('alpha', '/src/alpha', 'claimed', 'w-old', 0, 1, 'run-alpha', NULL, 7, 2), \
         ('mid', '/src/mid', 'failed', 'w-old', NULL, 1, 'run-mid', 'boom', 9, 3);"
    }

    fn table_names(&self) -> Vec<String> {
        let conn = rusqlite::Connection::open(&self.path).expect("raw");
        let mut stmt = conn
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )
            .expect("prepare");
        stmt.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("names")
    }
}

/// The test server's URL.
pub fn pg_url() -> String {
    std::env::var("PHASEHOST_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A uniquely named schema, dropped at the end.
pub fn unique_schema() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .subsec_nanos();
    format!(
        "t_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        nanos
    )
}

/// A fresh PostgreSQL schema.
pub struct PgHarness {
    pub schema: String,
}

impl PgHarness {
    pub fn new() -> Self {
        Self {
            schema: unique_schema(),
        }
    }

    /// A raw client with the search path on the schema.
    pub fn client(&self) -> postgres::Client {
        let mut client =
            postgres::Client::connect(&pg_url(), postgres::NoTls).expect("connect raw");
        client
            .batch_execute(&format!("SET search_path TO \"{}\"", self.schema))
            .expect("search_path");
        client
    }
}

impl Harness for PgHarness {
    fn try_open(&self) -> Result<Box<dyn StoreBackend>, StoreError> {
        Ok(Box::new(PgStore::connect(
            &pg_url(),
            None,
            &self.schema,
            &PgTls::default(),
        )?))
    }

    fn raw(&self, sql: &str) -> Result<(), String> {
        self.client().batch_execute(sql).map_err(|e| {
            e.as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_string())
        })
    }

    fn unguard_index_sql(&self) -> &'static str {
        "ALTER TABLE runs_index DISABLE TRIGGER runs_index_append_only;"
    }

    fn bytes_literal(&self, hex: &str) -> String {
        format!("'\\x{hex}'::bytea")
    }

    fn forbid_title_sql(&self) -> &'static str {
        "ALTER TABLE documents ADD CONSTRAINT forbid CHECK (title <> 'forbidden');"
    }

    fn create_v1(&self) {
        self.raw(&format!("CREATE SCHEMA \"{}\"", self.schema))
            .expect("schema");
        self.raw(include_str!("../../src/migrations/postgres/0001_init.sql"))
            .expect("version 1 schema");
        self.raw(VERSION_TABLE).expect("version 1 recorded");
    }

    fn v1_queue_sql(&self) -> &'static str {
        // One statement per row: the identity column numbers them in order.
        "INSERT INTO queue (document_id, source_path, enqueued_at) VALUES ('zeta', '/src/zeta', 1); \
         INSERT INTO queue (document_id, source_path, state, lease_owner, lease_until, attempts, \
             run_id, enqueued_at) \
             VALUES ('alpha', '/src/alpha', 'claimed', 'w-old', 0, 1, 'run-alpha', 2); \
         INSERT INTO queue (document_id, source_path, state, lease_owner, attempts, run_id, \
             last_error, enqueued_at) \
             VALUES ('mid', '/src/mid', 'failed', 'w-old', 1, 'run-mid', 'boom', 3);"
    }

    fn table_names(&self) -> Vec<String> {
        self.client()
            .query(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = $1 ORDER BY 1",
                &[&self.schema],
            )
            .expect("tables")
            .iter()
            .map(|r| r.get(0))
            .collect()
    }
}

impl Drop for PgHarness {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&pg_url(), postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                self.schema
            ));
        }
    }
}

/// A scope.
pub fn scope(document_id: &str) -> Scope {
    Scope {
        document_id: document_id.into(),
    }
}

/// A JSON object as a row.
pub fn row(value: Value) -> Row {
    value.as_object().cloned().expect("a JSON object")
}

/// A `documents` row (document_id comes from the scope).
pub fn document(title: &str) -> Row {
    row(json!({"title": title, "first_seen_run": "run-1"}))
}

/// The sha256 of `text`, as digest columns take it (64 lowercase hex).
pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// A `units` row.
pub fn unit(version: &str, eid: &str, seq: i64, text: &str) -> Row {
    row(json!({
        "version": version, "eid": eid, "parent_eid": null, "kind": "article",
        "ordinal": seq, "number": format!("{seq}"), "heading": format!("Art. {seq}"),
        "text": text, "text_sha": sha256_hex(text), "seq": seq, "status": "staged",
    }))
}

/// A `source_versions` row.
pub fn source_version(version: &str) -> Row {
    row(json!({
        "version": version, "seq": 1, "raw_sha256": "aa".repeat(32), "normalized_sha256": "bb".repeat(32),
        "raw_bytes": 10, "normalized_bytes": 9, "chars": 9, "status": "staged",
    }))
}

/// An `envelopes` row.
pub fn envelope(id: &str, eid: &str) -> Row {
    row(json!({
        "envelope_id": id, "version": "v1", "eid": eid, "text_sha": sha256_hex(eid),
        "plan_digest": "0d".repeat(32), "source_sha256": "5e".repeat(32),
    }))
}

/// Filters from pairs.
pub fn filters(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The same small document in every plugin table, committed.
pub fn seed(store: &mut dyn StoreBackend, document_id: &str) {
    let s = scope(document_id);
    store.begin().expect("begin");
    store
        .insert("documents", &s, &[document("Title")])
        .expect("documents");
    store
        .insert("source_versions", &s, &[source_version("v1")])
        .expect("source_versions");
    let units: Vec<Row> = (1..=5)
        .rev()
        .map(|i| unit("v1", &format!("e{i}"), i, &format!("text {i} ünïcode")))
        .collect();
    store.insert("units", &s, &units).expect("units");
    store
        .insert(
            "envelopes",
            &s,
            &[envelope("env-b", "e2"), envelope("env-a", "e1")],
        )
        .expect("envelopes");
    store.commit().expect("commit");
}
