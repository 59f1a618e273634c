//! The store behind the `store-read` and `store-write` capabilities: one
//! host-side trait, implemented for SQLite and PostgreSQL.

use serde_json::{Map, Value};

/// A JSON object: one row.
pub type Row = Map<String, Value>;

/// The document (and version) every store call of a run is scoped to. The
/// host adds these to every filter and every inserted row, so a plugin cannot
/// touch another document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The run's document id.
    pub document_id: String,
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The table is not part of the schema.
    #[error("unknown table `{0}`")]
    UnknownTable(String),
    /// A column is not part of the table.
    #[error("unknown column `{column}` in table `{table}`")]
    UnknownColumn {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// A row or value is malformed.
    #[error("invalid: {0}")]
    Invalid(String),
    /// The row exists with different content.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database failed.
    #[error("store failed: {0}")]
    Backend(String),
}

/// A store the capabilities call into. Implementations run every call inside
/// the run's open transaction.
pub trait StoreBackend: Send {
    /// Rows of `table` in `scope` matching every filter, ordered by primary key.
    fn select(
        &mut self,
        table: &str,
        scope: &Scope,
        filters: &[(String, String)],
    ) -> Result<Vec<Row>, StoreError>;
    /// How many rows of `table` in `scope` match every filter.
    fn count(
        &mut self,
        table: &str,
        scope: &Scope,
        filters: &[(String, String)],
    ) -> Result<u64, StoreError>;
    /// Insert rows (idempotent on the primary key); returns rows inserted.
    fn insert(&mut self, table: &str, scope: &Scope, rows: &[Row]) -> Result<u64, StoreError>;
    /// Update matching rows; returns rows changed.
    fn update(
        &mut self,
        table: &str,
        scope: &Scope,
        filters: &[(String, String)],
        set: &Row,
    ) -> Result<u64, StoreError>;
    /// Delete matching rows; returns rows deleted.
    fn delete(
        &mut self,
        table: &str,
        scope: &Scope,
        filters: &[(String, String)],
    ) -> Result<u64, StoreError>;
}

/// A store shared by the phases of one run.
pub type SharedStore = std::sync::Arc<std::sync::Mutex<dyn StoreBackend>>;
