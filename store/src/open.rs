//! Opening a store from a spec.

use std::path::PathBuf;

use crate::{PgStore, SqliteStore, StoreBackend, StoreError, redact_url};

/// Which store to open.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// A SQLite database file (created if missing).
    Sqlite(PathBuf),
    /// A PostgreSQL schema.
    Postgres {
        /// Connection URL, normally without a password.
        url: String,
        /// The environment variable holding the password, if any.
        password_env: Option<String>,
        /// The schema (created if missing).
        schema: String,
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
            } => f
                .debug_struct("Postgres")
                .field("url", &redact_url(url))
                .field("password_env", password_env)
                .field("schema", schema)
                .finish(),
        }
    }
}

/// Opens the store `spec` names. For PostgreSQL the password is read from
/// the environment variable named (an unset or non-UTF-8 variable is an
/// error naming the variable, never showing a value).
pub fn open(spec: &StoreSpec) -> Result<Box<dyn StoreBackend>, StoreError> {
    match spec {
        StoreSpec::Sqlite(path) => Ok(Box::new(SqliteStore::open(path)?)),
        StoreSpec::Postgres {
            url,
            password_env,
            schema,
        } => {
            let password = match password_env {
                None => None,
                Some(var) => Some(std::env::var(var).map_err(|_| {
                    StoreError::Invalid(format!(
                        "the password environment variable `{var}` is not set (or not UTF-8)"
                    ))
                })?),
            };
            Ok(Box::new(PgStore::connect(
                url,
                password.as_deref(),
                schema,
            )?))
        }
    }
}
