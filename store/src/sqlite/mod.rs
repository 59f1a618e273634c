//! The SQLite backend: one file, WAL, real transactions, cached statements.
//! Only the connection and the dialect live here; the store is
//! [`SqlStore`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{ToSql, params_from_iter};

use crate::StoreError;
use crate::digest::DocumentDigest;
use crate::migrations;
use crate::schema::{ColumnType, SqlValue, Table};
use crate::sql::{self, Dialect};
use crate::sql_store::{self, Cells, Connection, Rows, SqlStore, Values};

/// A store in one SQLite file (WAL, `synchronous=NORMAL`, foreign keys on,
/// a busy timeout), migrated on open.
pub type SqliteStore = SqlStore<SqliteConnection>;

/// A connection to one SQLite file, with a statement cache.
#[derive(Debug)]
pub struct SqliteConnection {
    conn: rusqlite::Connection,
    path: PathBuf,
}

impl SqlStore<SqliteConnection> {
    /// Opens (creating if missing) and migrates the database at `path`.
    /// Refuses a database whose schema version is newer than this code.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let conn = rusqlite::Connection::open(&path)
            .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(db)?;
        let mode: String = retry_while_busy(|| {
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        })
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
        let mut store = SqlStore::new(SqliteConnection { conn, path });
        store.version_on_open = store.own_tx("migrating", |conn| {
            conn.batch(migrations::VERSION_TABLE)?;
            let found = conn.query(
                "SELECT COALESCE(MAX(version), 0) FROM schema_version",
                &[],
                &[ColumnType::Int],
            )?;
            let found = found.into_iter().next().map_or(0, |r| Cells::new(r).int());
            sql_store::apply_migrations(conn, migrations::SQLITE, found)?;
            Ok(found)
        })?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.conn.path
    }
}

/// How long an open waits for a lock SQLite does not wait for by itself.
const OPEN_BUSY_WAIT: Duration = Duration::from_secs(30);

/// Runs `f` again while SQLite answers "busy", for up to [`OPEN_BUSY_WAIT`].
/// Switching a new file to WAL takes a lock for which SQLite does not call
/// the busy handler, so two connections creating one store at once (a
/// parallel batch, two first runs) would otherwise fail at once.
fn retry_while_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let started = std::time::Instant::now();
    loop {
        match f() {
            Err(rusqlite::Error::SqliteFailure(code, _))
                if code.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < OPEN_BUSY_WAIT =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
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
            SqlValue::Sha256(d) => ToSqlOutput::Borrowed(ValueRef::Blob(d)),
        })
    }
}

/// A digest column holding a BLOB of another length than 32 (written
/// behind the store's back: the store writes only 32).
fn not_a_digest(i: usize, len: usize) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        i,
        rusqlite::types::Type::Blob,
        format!("a sha256 column holds {len} bytes, not 32").into(),
    )
}

/// A row's first `types.len()` values.
fn read_values(types: &[ColumnType], row: &rusqlite::Row<'_>) -> rusqlite::Result<Values> {
    types
        .iter()
        .enumerate()
        .map(|(i, ty)| {
            Ok(match ty {
                ColumnType::Int => SqlValue::Int(row.get(i)?),
                ColumnType::Text => SqlValue::Text(row.get(i)?),
                ColumnType::NullableText => row
                    .get::<_, Option<String>>(i)?
                    .map_or(SqlValue::Null, SqlValue::Text),
                ColumnType::NullableInt => row
                    .get::<_, Option<i64>>(i)?
                    .map_or(SqlValue::Null, SqlValue::Int),
                ColumnType::Sha256 => {
                    let bytes = row.get_ref(i)?.as_blob()?;
                    SqlValue::sha256_from_bytes(bytes)
                        .ok_or_else(|| not_a_digest(i, bytes.len()))?
                }
            })
        })
        .collect()
}

/// Hashes column `i`'s value as [`read_values`] would read it, refusing
/// what it would refuse (another storage class, a null in a not-null
/// column, text that is not UTF-8), without copying it.
fn digest_value(
    digest: &mut DocumentDigest,
    ty: ColumnType,
    i: usize,
    value: ValueRef<'_>,
) -> Result<(), StoreError> {
    use rusqlite::types::FromSqlError;
    match (ty, value) {
        (ColumnType::Int | ColumnType::NullableInt, ValueRef::Integer(n)) => digest.int(n),
        (ColumnType::Text | ColumnType::NullableText, ValueRef::Text(bytes)) => {
            let text = std::str::from_utf8(bytes).map_err(|e| {
                db(rusqlite::Error::FromSqlConversionFailure(
                    i,
                    value.data_type(),
                    Box::new(FromSqlError::Other(Box::new(e))),
                ))
            })?;
            digest.text(text);
        }
        (ColumnType::NullableInt | ColumnType::NullableText, ValueRef::Null) => digest.null(),
        (ColumnType::Sha256, ValueRef::Blob(bytes)) => match <&[u8; 32]>::try_from(bytes) {
            Ok(d) => digest.sha256(d),
            Err(_) => return Err(db(not_a_digest(i, bytes.len()))),
        },
        _ => {
            return Err(db(rusqlite::Error::InvalidColumnType(
                i,
                format!("column {i}"),
                value.data_type(),
            )));
        }
    }
    Ok(())
}

impl Connection for SqliteConnection {
    const DIALECT: Dialect = Dialect::Sqlite;

    /// fsync the write-ahead log. With `synchronous=NORMAL` a commit is
    /// appended to the WAL without an fsync, and the database file is
    /// synced after each complete checkpoint, before the WAL is reused; so
    /// an fsync of the WAL makes every commit so far durable, as
    /// `synchronous=FULL` would at each commit. Unlike
    /// `PRAGMA wal_checkpoint(FULL)` it waits for no reader or writer of
    /// the other connections (a parallel batch's runs go on).
    fn make_durable(&mut self) -> Result<(), StoreError> {
        let db_file = self
            .conn
            .path()
            .filter(|p| !p.is_empty())
            .map_or_else(|| self.path.clone(), PathBuf::from);
        let mut wal = db_file.into_os_string();
        wal.push("-wal");
        let synced = std::fs::File::open(&wal).and_then(|wal| wal.sync_all());
        match synced {
            Ok(()) => Ok(()),
            // No WAL: every commit is in the database file, synced when the
            // last checkpoint ended.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::Backend(format!(
                "cannot make {} durable: {e}",
                PathBuf::from(wal).display()
            ))),
        }
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.conn.execute_batch(sql).map_err(db)
    }

    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError> {
        let n = self
            .conn
            .prepare_cached(sql)
            .map_err(db)?
            .execute(params_from_iter(params))
            .map_err(db)?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[SqlValue], types: &[ColumnType]) -> Rows {
        let mut stmt = self.conn.prepare_cached(sql).map_err(db)?;
        let mut rows = stmt.query(params_from_iter(params)).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(read_values(types, row).map_err(db)?);
        }
        Ok(out)
    }

    fn digest_rows(
        &mut self,
        sql: &str,
        params: &[SqlValue],
        types: &[ColumnType],
        digest: &mut DocumentDigest,
    ) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(db)?;
        let mut rows = stmt.query(params_from_iter(params)).map_err(db)?;
        while let Some(row) = rows.next().map_err(db)? {
            digest.begin_row();
            for (i, ty) in types.iter().enumerate() {
                digest_value(digest, *ty, i, row.get_ref(i).map_err(db)?)?;
            }
        }
        Ok(())
    }

    /// [`sql_store::insert_each`]'s statements, each prepared once per call
    /// rather than looked up in the cache per row.
    fn insert_rows(&mut self, table: &Table, rows: &[Values]) -> Result<u64, StoreError> {
        let mut insert = self
            .conn
            .prepare_cached(&sql::insert_one(Self::DIALECT, table))
            .map_err(db)?;
        let mut by_key = self
            .conn
            .prepare_cached(&sql::select_by_key(Self::DIALECT, table))
            .map_err(db)?;
        let types = table.column_types();
        let mut inserted = 0u64;
        for values in rows {
            if insert.execute(params_from_iter(values)).map_err(db)? == 1 {
                inserted += 1;
                continue;
            }
            let mut found = by_key
                .query(params_from_iter(table.key_of(values)))
                .map_err(db)?;
            let same = match found.next().map_err(db)? {
                Some(row) => read_values(&types, row).map_err(db)? == *values,
                None => false,
            };
            if !same {
                return Err(sql_store::different_content(table, values));
            }
        }
        Ok(inserted)
    }

    fn transaction_open(&self) -> bool {
        !self.conn.is_autocommit()
    }
}
