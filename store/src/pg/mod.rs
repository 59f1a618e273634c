//! The PostgreSQL backend: one connection, one schema, cached statements,
//! batched inserts. Only the connection and the dialect live here; the store
//! (transactions, queue with `FOR UPDATE SKIP LOCKED`, runs index under
//! `LOCK TABLE`) is [`SqlStore`].

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use ::postgres::error::SqlState;
use ::postgres::types::ToSql;
use ::postgres::{Client, Config, NoTls, Statement};

use crate::error_text::{redact_url, scrub};
use crate::schema::{ColumnType, SqlValue, Table};
use crate::sql::Dialect;
use crate::sql::q;
use crate::sql_store::{self, Connection, Rows, SqlStore, Values};
use crate::{Privileges, StoreError, migrations};

mod insert;
mod tls;

pub use tls::{PASSWORD_ENV_PREFIX, PgTls, SslMode, check_password_env, pg_sslmode};

/// Why a password was not sent (the end of an error message).
const ONLY_OVER_TLS: &str = "a password is only sent over TLS: set sslmode = \"require\" or \"verify-full\" (sslmode \"disable\" never sends one)";

type Param = Box<dyn ToSql + Sync>;

/// A store in one PostgreSQL schema, over one connection (TLS unless
/// `sslmode` is `disable`, which only a loopback host may use). The password
/// is never kept, logged or shown: not in errors, not in `Debug`; and it is
/// only ever sent over TLS.
pub type PgStore = SqlStore<PgConnection>;

/// A connection to one PostgreSQL schema, with a statement cache.
pub struct PgConnection {
    client: Client,
    schema: String,
    url: String,
    sslmode: SslMode,
    statements: HashMap<String, Statement>,
}

impl std::fmt::Debug for PgConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConnection")
            .field("url", &self.url)
            .field("schema", &self.schema)
            .field("sslmode", &self.sslmode)
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

/// Why a connection to `shown` failed, said for the operator: a password
/// the server asks for (and why none was sent), an untrusted certificate,
/// or the driver's error.
fn connect_failure(e: &::postgres::Error, shown: &str, mode: SslMode) -> String {
    let asked_for_password =
        e.as_db_error().is_none() && error_text(e).contains("password missing");
    if asked_for_password && mode == SslMode::Disable {
        format!("cannot connect to {shown}: the server asks for a password, and {ONLY_OVER_TLS}")
    } else if asked_for_password {
        format!(
            "cannot connect to {shown}: the server asks for a password and none is given \
             (name its environment variable in password_env)"
        )
    } else {
        let detail = error_text(e);
        let hint = if detail.contains("certificate verify failed") {
            " (the server's certificate must chain to a trusted root: the system's, \
             or only sslrootcert's when given; with verify-full it must also name the host)"
        } else {
            ""
        };
        format!("cannot connect to {shown} (sslmode {mode}): {detail}{hint}")
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
        SqlValue::Sha256(d) => Box::new(d.to_vec()),
    }
}

fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

/// A row's first `types.len()` values.
fn read_values(types: &[ColumnType], row: &::postgres::Row) -> Result<Values, StoreError> {
    types
        .iter()
        .enumerate()
        .map(|(i, ty)| {
            Ok(match ty {
                ColumnType::Int => SqlValue::Int(row.try_get(i).map_err(db)?),
                ColumnType::Text => SqlValue::Text(row.try_get(i).map_err(db)?),
                ColumnType::NullableText => row
                    .try_get::<_, Option<String>>(i)
                    .map_err(db)?
                    .map_or(SqlValue::Null, SqlValue::Text),
                ColumnType::NullableInt => row
                    .try_get::<_, Option<i64>>(i)
                    .map_err(db)?
                    .map_or(SqlValue::Null, SqlValue::Int),
                ColumnType::Sha256 => {
                    let bytes: &[u8] = row.try_get(i).map_err(db)?;
                    SqlValue::sha256_from_bytes(bytes).ok_or_else(|| {
                        StoreError::Backend(format!(
                            "a sha256 column holds {} bytes, not 32",
                            bytes.len()
                        ))
                    })?
                }
            })
        })
        .collect()
}

impl SqlStore<PgConnection> {
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
            StoreError::Backend(scrub(&connect_failure(&e, &shown, mode), &secrets))
        })?;
        let mut store = SqlStore::new(PgConnection {
            client,
            schema: schema.to_string(),
            url: shown,
            sslmode: mode,
            statements: HashMap::new(),
        });
        store.migrate()?;
        Ok(store)
    }

    /// The schema this store works in.
    pub fn schema(&self) -> &str {
        &self.conn.schema
    }

    /// The TLS mode the connection was made with.
    pub fn sslmode(&self) -> SslMode {
        self.conn.sslmode
    }

    /// Whether the server sees this session as encrypted (`pg_stat_ssl`).
    pub fn tls_in_use(&mut self) -> Result<bool, StoreError> {
        let row = self
            .conn
            .client
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .map_err(db)?;
        row.try_get(0).map_err(db)
    }

    /// Sets the search path and brings the schema to [`migrations::LATEST`].
    /// A schema already there needs no DDL (nor any privilege to run it), so
    /// a least-privilege role can connect to a schema an owner migrated.
    fn migrate(&mut self) -> Result<(), StoreError> {
        let schema = self.conn.schema.clone();
        self.conn
            .batch(&format!("SET search_path TO \"{schema}\""))?;
        if let Some(version) = self.conn.current_version()? {
            migrations::check_version(version)?;
            if version == migrations::LATEST {
                self.version_on_open = version;
                return Ok(());
            }
        }
        self.version_on_open = self.own_tx("migrating", |conn| {
            conn.client
                .execute(
                    "SELECT pg_advisory_xact_lock(hashtext($1::text))",
                    &[&format!("phasehost-store:{schema}")],
                )
                .map_err(db)?;
            let schema_exists = conn
                .client
                .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
                .map_err(db)?
                .is_some();
            if !schema_exists {
                conn.batch(&format!("CREATE SCHEMA \"{schema}\""))?;
            }
            let found = match conn.current_version()? {
                Some(version) => version,
                None => {
                    conn.batch(migrations::VERSION_TABLE)?;
                    0
                }
            };
            sql_store::apply_migrations(conn, migrations::POSTGRES, found)?;
            Ok(found)
        })?;
        Ok(())
    }
}

impl PgConnection {
    /// The schema's version, `None` when it has no `schema_version` table.
    fn current_version(&mut self) -> Result<Option<i64>, StoreError> {
        let exists: bool = self
            .client
            .query_one(
                "SELECT to_regclass($1::text) IS NOT NULL",
                &[&format!("\"{}\".schema_version", self.schema)],
            )
            .map_err(db)?
            .get(0);
        if !exists {
            return Ok(None);
        }
        let version: i64 = self
            .client
            .query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_version",
                &[],
            )
            .map_err(db)?
            .get(0);
        Ok(Some(version))
    }

    /// A prepared statement, from the cache when prepared before.
    fn statement(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).map_err(db)?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }
}

impl Connection for PgConnection {
    const DIALECT: Dialect = Dialect::Postgres;

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.client.batch_execute(sql).map_err(db)
    }

    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError> {
        let stmt = self.statement(sql)?;
        let params: Vec<Param> = params.iter().map(param).collect();
        self.client.execute(&stmt, &refs(&params)).map_err(db)
    }

    fn query(&mut self, sql: &str, params: &[SqlValue], types: &[ColumnType]) -> Rows {
        let stmt = self.statement(sql)?;
        let params: Vec<Param> = params.iter().map(param).collect();
        self.client
            .query(&stmt, &refs(&params))
            .map_err(db)?
            .iter()
            .map(|row| read_values(types, row))
            .collect()
    }

    fn insert_rows(&mut self, table: &Table, rows: &[Values]) -> Result<u64, StoreError> {
        let mut inserted = 0;
        for chunk in rows.chunks(insert::INSERT_CHUNK) {
            inserted += insert::insert_chunk(self, table, chunk)?;
        }
        Ok(inserted)
    }

    fn role_privileges(
        &mut self,
        tables: &[&Table],
    ) -> Result<Option<BTreeMap<String, Privileges>>, StoreError> {
        let stmt = self.statement(
            "SELECT has_table_privilege(current_user, $1::text, 'SELECT'), \
             has_table_privilege(current_user, $1::text, 'INSERT'), \
             has_table_privilege(current_user, $1::text, 'UPDATE'), \
             has_table_privilege(current_user, $1::text, 'DELETE')",
        )?;
        let mut out = BTreeMap::new();
        for table in tables {
            let qualified = format!("{}.{}", q(&self.schema), q(&table.name));
            let row = self.client.query_one(&stmt, &[&qualified]).map_err(db)?;
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
