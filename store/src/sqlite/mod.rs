//! The SQLite backend: one file, WAL, real transactions, cached statements.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql, params, params_from_iter};

use crate::host_sql::{self as h};
use crate::schema::{self, ColumnType, SqlValue, Table};
use crate::sql::{self, Dialect};
use crate::{
    Checkpoint, Claim, HostTables, IndexEntry, Privileges, QueueCounts, QueueEntry, Row, Scope,
    StoreBackend, StoreError, digest, migrations,
};

mod checkpoints;
mod host_tables;

const D: Dialect = Dialect::Sqlite;

/// A store in one SQLite file (WAL, `synchronous=NORMAL`, foreign keys on,
/// a busy timeout), migrated on open.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    in_tx: bool,
    /// A failed call could not be undone: the transaction must not commit.
    aborted: bool,
}

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database at `path`.
    /// Refuses a database whose schema version is newer than this code.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let conn = Connection::open(&path)
            .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(db)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(db)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "{} cannot use WAL (journal mode {mode})",
                path.display()
            )));
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
        conn.set_prepared_statement_cache_capacity(128);
        let mut store = Self {
            conn,
            path,
            in_tx: false,
            aborted: false,
        };
        store.migrate()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        self.own_tx("migrating", |conn| {
            conn.execute_batch(migrations::VERSION_TABLE).map_err(db)?;
            let found: i64 = conn
                .query_row(
                    "SELECT COALESCE(MAX(version), 0) FROM schema_version",
                    [],
                    |r| r.get(0),
                )
                .map_err(db)?;
            migrations::check_version(found)?;
            for m in migrations::pending(migrations::SQLITE, found) {
                conn.execute_batch(m.sql).map_err(db)?;
                conn.execute(
                    &format!(
                        "INSERT INTO schema_version (version, applied_at) VALUES (?1, {})",
                        D.now_ms()
                    ),
                    [m.version],
                )
                .map_err(db)?;
            }
            Ok(())
        })
    }

    /// Runs `f` in its own IMMEDIATE transaction; refused while one is open.
    fn own_tx<T>(
        &mut self,
        what: &str,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.in_tx {
            return Err(h::transaction_open(what));
        }
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(db)?;
        match f(&self.conn) {
            Ok(value) => match self.conn.execute_batch("COMMIT") {
                Ok(()) => Ok(value),
                Err(e) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    Err(db(e))
                }
            },
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Runs a plugin call inside the open transaction, atomically (a
    /// savepoint): when it fails, none of its writes stay.
    fn in_call<T>(
        &mut self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if !self.in_tx {
            return Err(h::no_transaction());
        }
        self.conn
            .execute_batch("SAVEPOINT plugin_call")
            .map_err(db)?;
        match f(&self.conn) {
            Ok(value) => match self.conn.execute_batch("RELEASE plugin_call") {
                Ok(()) => Ok(value),
                Err(e) => {
                    self.aborted = true;
                    Err(db(e))
                }
            },
            Err(e) => {
                if self
                    .conn
                    .execute_batch("ROLLBACK TO plugin_call; RELEASE plugin_call")
                    .is_err()
                {
                    self.aborted = true;
                }
                Err(e)
            }
        }
    }

    /// Runs a read: in the open transaction, or in a read transaction of
    /// its own (one consistent snapshot).
    fn read<T>(
        &mut self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.in_tx {
            return f(&self.conn);
        }
        self.conn.execute_batch("BEGIN DEFERRED").map_err(db)?;
        let result = f(&self.conn);
        let _ = self.conn.execute_batch("COMMIT");
        result
    }
}

/// A database error as a [`StoreError`]: uniqueness → conflict, other
/// constraints → invalid.
fn db(e: rusqlite::Error) -> StoreError {
    use rusqlite::ffi;
    if let rusqlite::Error::SqliteFailure(code, _) = &e
        && code.code == rusqlite::ErrorCode::ConstraintViolation
    {
        return match code.extended_code {
            ffi::SQLITE_CONSTRAINT_PRIMARYKEY | ffi::SQLITE_CONSTRAINT_UNIQUE => {
                StoreError::Conflict(e.to_string())
            }
            _ => StoreError::Invalid(e.to_string()),
        };
    }
    StoreError::Backend(e.to_string())
}

impl ToSql for SqlValue {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            SqlValue::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            SqlValue::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            SqlValue::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
        })
    }
}

/// A row's values in schema order.
fn read_values(table: &Table, row: &rusqlite::Row<'_>) -> rusqlite::Result<Vec<SqlValue>> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Ok(match c.ty {
                ColumnType::Int => SqlValue::Int(row.get(i)?),
                ColumnType::Text => SqlValue::Text(row.get(i)?),
                ColumnType::NullableText => row
                    .get::<_, Option<String>>(i)?
                    .map_or(SqlValue::Null, SqlValue::Text),
            })
        })
        .collect()
}

fn values_of(conditions: &[schema::Condition]) -> impl Iterator<Item = &SqlValue> {
    conditions.iter().map(|(_, v)| v)
}

/// Appends `entry` for `run_id` to the runs index in the transaction open
/// on `conn` (which holds SQLite's write lock, so seqs are consecutive).
fn append(
    conn: &Connection,
    run_id: &str,
    document_id: &str,
    entry: &str,
) -> Result<IndexEntry, StoreError> {
    let earlier: Option<(i64, String, String, String)> = conn
        .query_row(
            "SELECT seq, entry, prev_hash, hash FROM runs_index WHERE run_id = ?1 \
             ORDER BY seq LIMIT 1",
            params![run_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .map_err(db)?;
    if let Some((seq, earlier, prev_hash, hash)) = earlier {
        return h::index_entry_again(run_id, entry, seq, &earlier, prev_hash, hash);
    }
    let last: Option<(i64, String)> = conn
        .query_row(
            "SELECT seq, hash FROM runs_index ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(db)?;
    let (seq, prev_hash) = last.map_or((1, String::new()), |(s, h)| (s + 1, h));
    let hash = digest::chain_hash(&prev_hash, entry);
    conn.prepare_cached(&format!(
        "INSERT INTO runs_index (seq, run_id, document_id, entry, prev_hash, hash, appended_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, {})",
        D.now_ms()
    ))
    .map_err(db)?
    .execute(params![seq, run_id, document_id, entry, prev_hash, hash])
    .map_err(db)?;
    Ok(IndexEntry {
        seq: seq as u64,
        prev_hash,
        hash,
    })
}

impl StoreBackend for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn begin(&mut self) -> Result<(), StoreError> {
        if self.in_tx {
            return Err(StoreError::Invalid("a transaction is already open".into()));
        }
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(db)?;
        self.in_tx = true;
        self.aborted = false;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        if !self.in_tx {
            return Err(h::no_transaction());
        }
        if self.aborted {
            self.rollback()?;
            return Err(h::aborted());
        }
        match self.conn.execute_batch("COMMIT") {
            Ok(()) => {
                self.in_tx = false;
                Ok(())
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                self.in_tx = false;
                Err(db(e))
            }
        }
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        if !self.in_tx {
            return Ok(());
        }
        self.in_tx = false;
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.conn.execute_batch("ROLLBACK").map_err(db)
    }

    fn in_transaction(&self) -> bool {
        self.in_tx
    }

    fn document_digest(&mut self, document_id: &str) -> Result<String, StoreError> {
        self.read(|conn| {
            let mut digest = digest::DocumentDigest::new();
            for table in schema::PLUGIN_TABLES {
                digest.table(table.name);
                let mut stmt = conn
                    .prepare_cached(&sql::select_document(D, table))
                    .map_err(db)?;
                let mut rows = stmt.query([document_id]).map_err(db)?;
                while let Some(row) = rows.next().map_err(db)? {
                    digest.row(&read_values(table, row).map_err(db)?);
                }
                digest.end_table();
            }
            Ok(digest.finish())
        })
    }

    fn role_privileges(&mut self) -> Result<Option<BTreeMap<String, Privileges>>, StoreError> {
        Ok(None)
    }

    fn append_index(
        &mut self,
        run_id: &str,
        document_id: &str,
        entry: &str,
    ) -> Result<IndexEntry, StoreError> {
        h::check_entry(entry)?;
        if self.in_tx {
            // Joins the open transaction, atomically (a savepoint).
            return self.in_call(|conn| append(conn, run_id, document_id, entry));
        }
        self.own_tx("appending to the runs index", |conn| {
            append(conn, run_id, document_id, entry)
        })
    }

    fn verify_index(&mut self) -> Result<u64, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT seq, entry, prev_hash, hash FROM runs_index ORDER BY seq")
                .map_err(db)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?;
            digest::verify_chain(rows)
        })
    }

    fn select(
        &mut self,
        table: &str,
        scope: &Scope,
        filters: &[(String, String)],
    ) -> Result<Vec<Row>, StoreError> {
        let table = schema::table(table)?;
        let Some(conditions) = table.conditions(scope, filters)? else {
            return self.in_call(|_| Ok(Vec::new()));
        };
        self.in_call(|conn| {
            let mut stmt = conn
                .prepare_cached(&sql::select(D, table, &conditions))
                .map_err(db)?;
            let mut rows = stmt
                .query(params_from_iter(values_of(&conditions)))
                .map_err(db)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(db)? {
                out.push(table.row_json(&read_values(table, row).map_err(db)?));
            }
            Ok(out)
        })
    }

    fn count(
        &mut self,
        table: &str,
        scope: &Scope,
        filters: &[(String, String)],
    ) -> Result<u64, StoreError> {
        let table = schema::table(table)?;
        let Some(conditions) = table.conditions(scope, filters)? else {
            return self.in_call(|_| Ok(0));
        };
        self.in_call(|conn| {
            let n: i64 = conn
                .prepare_cached(&sql::count(D, table, &conditions))
                .map_err(db)?
                .query_row(params_from_iter(values_of(&conditions)), |r| r.get(0))
                .map_err(db)?;
            Ok(n as u64)
        })
    }

    fn insert(&mut self, table: &str, scope: &Scope, rows: &[Row]) -> Result<u64, StoreError> {
        let table = schema::table(table)?;
        schema::check_scope(scope)?;
        let rows = rows
            .iter()
            .map(|row| table.row_values(scope, row))
            .collect::<Result<Vec<_>, _>>()?;
        self.in_call(|conn| {
            let mut insert = conn
                .prepare_cached(&sql::insert_one(D, table))
                .map_err(db)?;
            let mut existing = conn
                .prepare_cached(&sql::select_by_key(D, table))
                .map_err(db)?;
            let mut inserted = 0u64;
            for values in &rows {
                if insert.execute(params_from_iter(values)).map_err(db)? == 1 {
                    inserted += 1;
                    continue;
                }
                let found = existing
                    .query_row(params_from_iter(table.key_of(values)), |r| {
                        read_values(table, r)
                    })
                    .optional()
                    .map_err(db)?;
                if found.as_ref() != Some(values) {
                    return Err(StoreError::Conflict(format!(
                        "{} exists with different content",
                        table.describe_key(values)
                    )));
                }
            }
            Ok(inserted)
        })
    }

    fn update(
        &mut self,
        table: &str,
        scope: &Scope,
        filters: &[(String, String)],
        set: &Row,
    ) -> Result<u64, StoreError> {
        let table = schema::table(table)?;
        let set = table.set_values(set)?;
        let Some(conditions) = table.conditions(scope, filters)? else {
            return self.in_call(|_| Ok(0));
        };
        self.in_call(|conn| {
            let n = conn
                .prepare_cached(&sql::update(D, table, &set, &conditions))
                .map_err(db)?
                .execute(params_from_iter(
                    values_of(&set).chain(values_of(&conditions)),
                ))
                .map_err(db)?;
            Ok(n as u64)
        })
    }

    fn delete(
        &mut self,
        table: &str,
        scope: &Scope,
        filters: &[(String, String)],
    ) -> Result<u64, StoreError> {
        let table = schema::table(table)?;
        let Some(conditions) = table.conditions(scope, filters)? else {
            return self.in_call(|_| Ok(0));
        };
        self.in_call(|conn| {
            let n = conn
                .prepare_cached(&sql::delete(D, table, &conditions))
                .map_err(db)?
                .execute(params_from_iter(values_of(&conditions)))
                .map_err(db)?;
            Ok(n as u64)
        })
    }
}
