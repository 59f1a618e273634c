//! Opening a store from a spec.

use std::path::PathBuf;

use crate::{
    PgStore, PgTls, SqliteStore, SslMode, StoreBackend, StoreError, check_password_env, redact_url,
};

/// Which store to open.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// A SQLite database file (created if missing).
    Sqlite(PathBuf),
    /// A PostgreSQL schema.
    Postgres {
        /// Connection URL, normally without a password.
        url: String,
        /// The environment variable holding the password, if any; its name
        /// must match `PHASEHOST_[A-Z0-9_]+`.
        password_env: Option<String>,
        /// The schema (created if missing).
        schema: String,
        /// The TLS mode; `None`: `disable` for a loopback host, else
        /// `verify-full`.
        sslmode: Option<SslMode>,
        /// A PEM file of the root certificate(s) to trust instead of the
        /// system's.
        sslrootcert: Option<PathBuf>,
    },
}

impl std::fmt::Debug for StoreSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Self::Postgres {
                url,
                password_env,
                schema,
                sslmode,
                sslrootcert,
            } => f
                .debug_struct("Postgres")
                .field("url", &redact_url(url))
                .field("password_env", password_env)
                .field("schema", schema)
                .field("sslmode", sslmode)
                .field("sslrootcert", sslrootcert)
                .finish(),
        }
    }
}

/// Opens the store `spec` names. For PostgreSQL the password is read from
/// the environment variable named, which must match `PHASEHOST_[A-Z0-9_]+`
/// (an unset or non-UTF-8 variable is an error naming the variable, never
/// showing a value); it is only ever sent over TLS.
pub fn open(spec: &StoreSpec) -> Result<Box<dyn StoreBackend>, StoreError> {
    match spec {
        StoreSpec::Sqlite(path) => Ok(Box::new(SqliteStore::open(path)?)),
        StoreSpec::Postgres {
            url,
            password_env,
            schema,
            sslmode,
            sslrootcert,
        } => {
            let password = match password_env {
                None => None,
                Some(var) => {
                    check_password_env(var)?;
                    Some(std::env::var(var).map_err(|_| {
                        StoreError::Invalid(format!(
                            "the password environment variable `{var}` is not set (or not UTF-8)"
                        ))
                    })?)
                }
            };
            let tls = PgTls {
                sslmode: *sslmode,
                sslrootcert: sslrootcert.clone(),
            };
            Ok(Box::new(PgStore::connect(
                url,
                password.as_deref(),
                schema,
                &tls,
            )?))
        }
    }
}
