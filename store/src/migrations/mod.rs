//! Embedded migrations, one list per SQL dialect, and the version check.
//!
//! Each migration runs once, in a transaction, and records its version in
//! `schema_version`. A database whose version is newer than [`LATEST`] is
//! refused: this code does not know its schema.

use crate::StoreError;

#[cfg(test)]
mod agreement;

/// One schema change.
pub(crate) struct Migration {
    /// The version it brings the schema to.
    pub(crate) version: i64,
    /// Its SQL (several statements).
    pub(crate) sql: &'static str,
}

/// The newest schema version this code knows.
pub(crate) const LATEST: i64 = 4;

/// SQLite migrations, oldest first.
pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("sqlite/0002_worker.sql"),
    },
    Migration {
        version: 3,
        sql: include_str!("sqlite/0003_inputs.sql"),
    },
    Migration {
        version: 4,
        sql: include_str!("sqlite/0004_digests.sql"),
    },
];

/// PostgreSQL migrations, oldest first.
pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("postgres/0002_worker.sql"),
    },
    Migration {
        version: 3,
        sql: include_str!("postgres/0003_inputs.sql"),
    },
    Migration {
        version: 4,
        sql: include_str!("postgres/0004_digests.sql"),
    },
];

/// Creates the version table (both dialects accept it).
pub(crate) const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_version (\
     version BIGINT NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)";

/// Refuses a database newer than this code.
pub(crate) fn check_version(found: i64) -> Result<(), StoreError> {
    if found > LATEST {
        return Err(StoreError::Invalid(format!(
            "the database's schema version {found} is newer than this phasehost knows ({LATEST}); \
             upgrade phasehost"
        )));
    }
    Ok(())
}

/// The migrations still to apply to a database at version `found`.
pub(crate) fn pending(
    all: &'static [Migration],
    found: i64,
) -> impl Iterator<Item = &'static Migration> {
    all.iter().filter(move |m| m.version > found)
}
