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

/// The 4-bit access a store role has (or needs) on one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Privileges {
    /// SELECT
    pub select: bool,
    /// INSERT
    pub insert: bool,
    /// UPDATE
    pub update: bool,
    /// DELETE
    pub delete: bool,
}

/// One entry of the append-only runs index.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndexEntry {
    /// Position (1-based).
    pub seq: u64,
    /// The hash of the previous entry ("" for the first).
    pub prev_hash: String,
    /// sha256(prev_hash ‖ entry), hex.
    pub hash: String,
}

/// A store the capabilities call into. Plugin-facing calls (select … delete)
/// are scoped to a document and run inside the transaction the host opened
/// with [`StoreBackend::begin`].
pub trait StoreBackend: Send {
    /// `sqlite` or `postgres`.
    fn kind(&self) -> &'static str;
    /// Open a transaction (one at a time).
    fn begin(&mut self) -> Result<(), StoreError>;
    /// Commit the open transaction.
    fn commit(&mut self) -> Result<(), StoreError>;
    /// Roll the open transaction back (a no-op when none is open).
    fn rollback(&mut self) -> Result<(), StoreError>;
    /// sha256 (hex) over every row of the plugin tables that belongs to
    /// `document_id`, in primary-key order, in a canonical encoding: the
    /// drift check compares it before and after a pause.
    fn document_digest(&mut self, document_id: &str) -> Result<String, StoreError>;
    /// The privileges the connected role has on each plugin table
    /// (PostgreSQL: from `has_table_privilege`; SQLite: `None`, the host's
    /// own per-plugin grants are the matrix).
    fn role_privileges(
        &mut self,
    ) -> Result<Option<std::collections::BTreeMap<String, Privileges>>, StoreError>;
    /// Append `entry` (JSON text) for `run_id` to the runs index, in its own
    /// transaction, chaining its hash to the previous entry's.
    fn append_index(
        &mut self,
        run_id: &str,
        document_id: &str,
        entry: &str,
    ) -> Result<IndexEntry, StoreError>;
    /// Recompute the index's hash chain; the number of entries, or an error
    /// naming the first broken entry.
    fn verify_index(&mut self) -> Result<u64, StoreError>;
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
