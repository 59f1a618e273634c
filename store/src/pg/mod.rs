//! The PostgreSQL backend: one connection, one schema, real transactions,
//! batched inserts, and the batch queue (`FOR UPDATE SKIP LOCKED`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use ::postgres::error::SqlState;
use ::postgres::types::ToSql;
use ::postgres::{Client, Config, NoTls, Statement};

use crate::error_text::{redact_url, scrub};
use crate::host_sql::{self as h};
use crate::schema::{self, ColumnType, SqlValue, Table};
use crate::sql::{self, Dialect};
use crate::{
    Checkpoint, Claim, HostTables, IndexEntry, Privileges, QueueCounts, QueueEntry, Row, Scope,
    StoreBackend, StoreError, digest, migrations,
};

mod checkpoints;
mod host_tables;
mod insert;
mod tls;

pub use tls::{PASSWORD_ENV_PREFIX, PgTls, SslMode, check_password_env, pg_sslmode};

/// Why a password was not sent (the end of an error message).
const ONLY_OVER_TLS: &str = "a password is only sent over TLS: set sslmode = \"require\" or \"verify-full\" (sslmode \"disable\" never sends one)";

const D: Dialect = Dialect::Postgres;

type Param = Box<dyn ToSql + Sync>;

/// A store in one PostgreSQL schema, over one connection (TLS unless
/// `sslmode` is `disable`, which only a loopback host may use). The password
/// is never kept, logged or shown: not in errors, not in `Debug`; and it is
/// only ever sent over TLS.
pub struct PgStore {
    client: Client,
    schema: String,
    url: String,
    sslmode: SslMode,
    in_tx: bool,
    /// A failed call could not be undone: the transaction must not commit.
    aborted: bool,
    statements: HashMap<String, Statement>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.url)
            .field("schema", &self.schema)
            .field("sslmode", &self.sslmode)
            .field("in_tx", &self.in_tx)
            .finish_non_exhaustive()
    }
}

/// Checks a schema name is a plain lower-case identifier (it is quoted
/// into SQL).
fn check_schema_name(schema: &str) -> Result<(), StoreError> {
    let mut chars = schema.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !first_ok || !rest_ok || schema.len() > 63 {
        return Err(StoreError::Invalid(format!(
            "schema name `{schema}` must match [a-z_][a-z0-9_]* (at most 63 bytes)"
        )));
    }
    Ok(())
}

/// A database error as a [`StoreError`]: uniqueness → conflict, other
/// integrity violations → invalid.
fn db(e: ::postgres::Error) -> StoreError {
    let text = error_text(&e);
    match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION => StoreError::Conflict(text),
        Some(c)
            if *c == SqlState::CHECK_VIOLATION
                || *c == SqlState::NOT_NULL_VIOLATION
                || *c == SqlState::RAISE_EXCEPTION =>
        {
            StoreError::Invalid(text)
        }
        _ => StoreError::Backend(text),
    }
}

/// The full text of an error (its causes included).
fn error_text(e: &::postgres::Error) -> String {
    if let Some(dbe) = e.as_db_error() {
        let mut text = format!("{}: {}", dbe.severity(), dbe.message());
        if let Some(detail) = dbe.detail() {
            text.push_str(&format!(" ({detail})"));
        }
        return text;
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn param(value: &SqlValue) -> Param {
    match value {
        SqlValue::Null => Box::new(None::<String>),
        SqlValue::Text(s) => Box::new(s.clone()),
        SqlValue::Int(i) => Box::new(*i),
    }
}

fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

/// A row's values in schema order.
fn read_values(table: &Table, row: &::postgres::Row) -> Result<Vec<SqlValue>, StoreError> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Ok(match c.ty {
                ColumnType::Int => SqlValue::Int(row.try_get(i).map_err(db)?),
                ColumnType::Text => SqlValue::Text(row.try_get(i).map_err(db)?),
                ColumnType::NullableText => row
                    .try_get::<_, Option<String>>(i)
                    .map_err(db)?
                    .map_or(SqlValue::Null, SqlValue::Text),
            })
        })
        .collect()
}

impl PgStore {
    /// Connects to `url` (e.g. `postgres://phasehost@127.0.0.1:5432/db`)
    /// with the TLS settings `tls`, creates `schema` if missing, sets the
    /// `search_path` to it and migrates it. Refuses a schema whose version
    /// is newer than this code. Errors name the URL with any password
    /// redacted and never contain the password.
    ///
    /// `password` (if given) is only ever sent over TLS: with `sslmode`
    /// `disable` it is not configured at all (and a URL carrying one is
    /// refused), so a server asking for a password gets none and the
    /// connection fails. With `require` or `verify-full` the connection
    /// fails when TLS cannot be set up; it never falls back to plain text.
    pub fn connect(
        url: &str,
        password: Option<&str>,
        schema: &str,
        tls: &PgTls,
    ) -> Result<Self, StoreError> {
        check_schema_name(schema)?;
        let shown = redact_url(url);
        let parsed: Result<Config, _> = url.parse();
        let url_password = parsed
            .as_ref()
            .ok()
            .and_then(|c: &Config| c.get_password())
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let secrets: Vec<&str> = password
            .into_iter()
            .chain(url_password.as_deref())
            .collect();
        let mut config = parsed.map_err(|e| {
            StoreError::Invalid(scrub(&format!("bad PostgreSQL URL {shown}: {e}"), &secrets))
        })?;
        let mode = tls::effective_mode(&config, tls.sslmode).map_err(|e| match e {
            StoreError::Invalid(text) => {
                StoreError::Invalid(scrub(&format!("{shown}: {text}"), &secrets))
            }
            other => other,
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let connected = if mode == SslMode::Disable {
            if url_password.is_some() {
                return Err(StoreError::Invalid(format!(
                    "{shown} carries a password, and {ONLY_OVER_TLS}"
                )));
            }
            config.ssl_mode(::postgres::config::SslMode::Disable);
            config.connect(NoTls)
        } else {
            if let Some(password) = password {
                config.password(password);
            }
            // Require: TLS or no connection, never a plain-text fallback.
            config.ssl_mode(::postgres::config::SslMode::Require);
            let connector = tls::connector(mode, tls.sslrootcert.as_deref())?;
            config.connect(connector)
        };
        drop(config);
        let client = connected.map_err(|e| {
            let asked_for_password =
                e.as_db_error().is_none() && error_text(&e).contains("password missing");
            let text = if asked_for_password && mode == SslMode::Disable {
                format!(
                    "cannot connect to {shown}: the server asks for a password, and {ONLY_OVER_TLS}"
                )
            } else if asked_for_password {
                format!(
                    "cannot connect to {shown}: the server asks for a password and none is given \
                     (name its environment variable in password_env)"
                )
            } else {
                let detail = error_text(&e);
                let hint = if detail.contains("certificate verify failed") {
                    " (the server's certificate must chain to a trusted root: the system's, \
                     or only sslrootcert's when given; with verify-full it must also name the host)"
                } else {
                    ""
                };
                format!("cannot connect to {shown} (sslmode {mode}): {detail}{hint}")
            };
            StoreError::Backend(scrub(&text, &secrets))
        })?;
        let mut store = Self {
            client,
            schema: schema.to_string(),
            url: shown,
            sslmode: mode,
            in_tx: false,
            aborted: false,
            statements: HashMap::new(),
        };
        store.migrate()?;
        Ok(store)
    }

    /// The schema this store works in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The TLS mode the connection was made with.
    pub fn sslmode(&self) -> SslMode {
        self.sslmode
    }

    /// Whether the server sees this session as encrypted (`pg_stat_ssl`).
    pub fn tls_in_use(&mut self) -> Result<bool, StoreError> {
        let row = self
            .client
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .map_err(db)?;
        row.try_get(0).map_err(db)
    }

    /// The schema's version, `None` when it has no `schema_version` table.
    fn current_version(client: &mut Client, schema: &str) -> Result<Option<i64>, StoreError> {
        let exists: bool = client
            .query_one(
                "SELECT to_regclass($1::text) IS NOT NULL",
                &[&format!("\"{schema}\".schema_version")],
            )
            .map_err(db)?
            .get(0);
        if !exists {
            return Ok(None);
        }
        let version: i64 = client
            .query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_version",
                &[],
            )
            .map_err(db)?
            .get(0);
        Ok(Some(version))
    }

    /// Sets the search path and brings the schema to [`migrations::LATEST`].
    /// A schema already there needs no DDL (nor any privilege to run it), so
    /// a least-privilege role can connect to a schema an owner migrated.
    fn migrate(&mut self) -> Result<(), StoreError> {
        let schema = self.schema.clone();
        self.client
            .batch_execute(&format!("SET search_path TO \"{schema}\""))
            .map_err(db)?;
        if let Some(version) = Self::current_version(&mut self.client, &schema)? {
            migrations::check_version(version)?;
            if version == migrations::LATEST {
                return Ok(());
            }
        }
        self.own_tx("migrating", |client| {
            client
                .execute(
                    "SELECT pg_advisory_xact_lock(hashtext($1::text))",
                    &[&format!("phasehost-store:{schema}")],
                )
                .map_err(db)?;
            let schema_exists = client
                .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
                .map_err(db)?
                .is_some();
            if !schema_exists {
                client
                    .batch_execute(&format!("CREATE SCHEMA \"{schema}\""))
                    .map_err(db)?;
            }
            let found = match Self::current_version(client, &schema)? {
                Some(version) => version,
                None => {
                    client
                        .batch_execute(migrations::VERSION_TABLE)
                        .map_err(db)?;
                    0
                }
            };
            migrations::check_version(found)?;
            for m in migrations::pending(migrations::POSTGRES, found) {
                client.batch_execute(m.sql).map_err(db)?;
                client
                    .execute(
                        &format!(
                            "INSERT INTO schema_version (version, applied_at) VALUES ($1, {})",
                            D.now_ms()
                        ),
                        &[&m.version],
                    )
                    .map_err(db)?;
            }
            Ok(())
        })
    }

    /// A prepared statement, from the cache when prepared before.
    fn statement(
        client: &mut Client,
        cache: &mut HashMap<String, Statement>,
        sql: &str,
    ) -> Result<Statement, StoreError> {
        if let Some(s) = cache.get(sql) {
            return Ok(s.clone());
        }
        let s = client.prepare(sql).map_err(db)?;
        cache.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    /// Runs `f` in its own transaction; refused while one is open.
    fn own_tx<T>(
        &mut self,
        what: &str,
        f: impl FnOnce(&mut Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.in_tx {
            return Err(h::transaction_open(what));
        }
        self.client.batch_execute("BEGIN").map_err(db)?;
        match f(&mut self.client) {
            Ok(value) => match self.client.batch_execute("COMMIT") {
                Ok(()) => Ok(value),
                Err(e) => {
                    let _ = self.client.batch_execute("ROLLBACK");
                    Err(db(e))
                }
            },
            Err(e) => {
                let _ = self.client.batch_execute("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Runs a plugin call inside the open transaction, atomically (a
    /// savepoint): when it fails, none of its writes stay and the
    /// transaction stays usable.
    fn in_call<T>(
        &mut self,
        f: impl FnOnce(&mut Client, &mut HashMap<String, Statement>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if !self.in_tx {
            return Err(h::no_transaction());
        }
        self.client
            .batch_execute("SAVEPOINT plugin_call")
            .map_err(db)?;
        match f(&mut self.client, &mut self.statements) {
            Ok(value) => match self.client.batch_execute("RELEASE SAVEPOINT plugin_call") {
                Ok(()) => Ok(value),
                Err(e) => {
                    self.aborted = true;
                    Err(db(e))
                }
            },
            Err(e) => {
                if self
                    .client
                    .batch_execute(
                        "ROLLBACK TO SAVEPOINT plugin_call; RELEASE SAVEPOINT plugin_call",
                    )
                    .is_err()
                {
                    self.aborted = true;
                }
                Err(e)
            }
        }
    }

    /// Runs a read: in the open transaction (under a savepoint), or in a
    /// read-only repeatable read transaction of its own (one consistent
    /// snapshot).
    fn read<T>(
        &mut self,
        f: impl FnOnce(&mut Client, &mut HashMap<String, Statement>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.in_tx {
            // A failed statement aborts a PostgreSQL transaction: guard it.
            return self.in_call(f);
        }
        self.client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .map_err(db)?;
        let result = f(&mut self.client, &mut self.statements);
        let _ = self.client.batch_execute("COMMIT");
        result
    }

    /// Runs one statement outside any transaction (autocommit); refused
    /// while one is open.
    fn host_query(
        &mut self,
        what: &str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<::postgres::Row>, StoreError> {
        if self.in_tx {
            return Err(h::transaction_open(what));
        }
        let stmt = Self::statement(&mut self.client, &mut self.statements, sql)?;
        self.client.query(&stmt, params).map_err(db)
    }
}

fn conditions_params(conditions: &[schema::Condition]) -> Vec<Param> {
    conditions.iter().map(|(_, v)| param(v)).collect()
}

impl StoreBackend for PgStore {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn begin(&mut self) -> Result<(), StoreError> {
        if self.in_tx {
            return Err(StoreError::Invalid("a transaction is already open".into()));
        }
        self.client.batch_execute("BEGIN").map_err(db)?;
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
        self.in_tx = false;
        // On a transaction the server already aborted, COMMIT answers
        // ROLLBACK without an error; `aborted` covers every way we know of.
        self.client.batch_execute("COMMIT").map_err(db)
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        if !self.in_tx {
            return Ok(());
        }
        self.in_tx = false;
        self.client.batch_execute("ROLLBACK").map_err(db)
    }

    fn in_transaction(&self) -> bool {
        self.in_tx
    }

    fn document_digest(&mut self, document_id: &str) -> Result<String, StoreError> {
        self.read(|client, cache| {
            let mut digest = digest::DocumentDigest::new();
            for table in schema::PLUGIN_TABLES {
                digest.table(table.name);
                let stmt = Self::statement(client, cache, &sql::select_document(D, table))?;
                for row in client.query(&stmt, &[&document_id]).map_err(db)? {
                    digest.row(&read_values(table, &row)?);
                }
                digest.end_table();
            }
            Ok(digest.finish())
        })
    }

    fn role_privileges(&mut self) -> Result<Option<BTreeMap<String, Privileges>>, StoreError> {
        let schema = self.schema.clone();
        self.read(|client, cache| {
            let stmt = Self::statement(
                client,
                cache,
                "SELECT has_table_privilege(current_user, $1::text, 'SELECT'), \
                 has_table_privilege(current_user, $1::text, 'INSERT'), \
                 has_table_privilege(current_user, $1::text, 'UPDATE'), \
                 has_table_privilege(current_user, $1::text, 'DELETE')",
            )?;
            let mut out = BTreeMap::new();
            for table in schema::PLUGIN_TABLES {
                let qualified = format!("\"{schema}\".{}", table.name);
                let row = client.query_one(&stmt, &[&qualified]).map_err(db)?;
                out.insert(
                    table.name.to_string(),
                    Privileges {
                        select: row.get(0),
                        insert: row.get(1),
                        update: row.get(2),
                        delete: row.get(3),
                    },
                );
            }
            Ok(Some(out))
        })
    }

    fn append_index(
        &mut self,
        run_id: &str,
        document_id: &str,
        entry: &str,
    ) -> Result<IndexEntry, StoreError> {
        h::check_entry(entry)?;
        if self.in_tx {
            // Joins the open transaction, atomically (a savepoint); the
            // table lock then holds until that transaction ends.
            return self.in_call(|client, _| {
                host_tables::append_index_in(client, run_id, document_id, entry)
            });
        }
        self.own_tx("appending to the runs index", |client| {
            host_tables::append_index_in(client, run_id, document_id, entry)
        })
    }

    fn verify_index(&mut self) -> Result<u64, StoreError> {
        self.read(|client, _| {
            let rows = client
                .query(
                    "SELECT seq, entry, prev_hash, hash FROM runs_index ORDER BY seq",
                    &[],
                )
                .map_err(db)?;
            digest::verify_chain(
                rows.iter()
                    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))),
            )
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
            return self.in_call(|_, _| Ok(Vec::new()));
        };
        self.in_call(|client, cache| {
            let stmt = Self::statement(client, cache, &sql::select(D, table, &conditions))?;
            let params = conditions_params(&conditions);
            client
                .query(&stmt, &refs(&params))
                .map_err(db)?
                .iter()
                .map(|r| Ok(table.row_json(&read_values(table, r)?)))
                .collect()
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
            return self.in_call(|_, _| Ok(0));
        };
        self.in_call(|client, cache| {
            let stmt = Self::statement(client, cache, &sql::count(D, table, &conditions))?;
            let params = conditions_params(&conditions);
            let n: i64 = client.query_one(&stmt, &refs(&params)).map_err(db)?.get(0);
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
        self.in_call(|client, cache| {
            let mut inserted = 0;
            for chunk in rows.chunks(insert::INSERT_CHUNK) {
                inserted += insert::insert_chunk(client, cache, table, chunk)?;
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
            return self.in_call(|_, _| Ok(0));
        };
        self.in_call(|client, cache| {
            let stmt = Self::statement(client, cache, &sql::update(D, table, &set, &conditions))?;
            let mut params = conditions_params(&set);
            params.extend(conditions_params(&conditions));
            client.execute(&stmt, &refs(&params)).map_err(db)
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
            return self.in_call(|_, _| Ok(0));
        };
        self.in_call(|client, cache| {
            let stmt = Self::statement(client, cache, &sql::delete(D, table, &conditions))?;
            let params = conditions_params(&conditions);
            client.execute(&stmt, &refs(&params)).map_err(db)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(check_schema_name("phasehost").is_ok());
        assert!(check_schema_name("t_1_2").is_ok());
        for bad in ["", "Public", "a-b", "a\"b", "1a", "a b", &"x".repeat(64)] {
            assert!(check_schema_name(bad).is_err(), "{bad}");
        }
    }
}
