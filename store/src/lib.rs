//! The store behind the `store-read` and `store-write` capabilities: one
//! host-side trait, implemented for SQLite ([`SqliteStore`]) and PostgreSQL
//! ([`PgStore`]), one schema ([`schema`]), embedded migrations.
//!
//! Plugin-facing calls ([`StoreBackend::select`] … [`StoreBackend::delete`])
//! are validated against [`schema`], scoped to one document and refused
//! outside a transaction the host opened with [`StoreBackend::begin`].
//! Host-only tables (runs index, consumed approvals, batch queue, run
//! checkpoints) are reached only through the methods of [`HostTables`] and
//! [`StoreBackend`].

pub mod declared;
mod digest;
mod error_text;
mod host_sql;
mod migrations;
mod open;
mod pg;
pub mod schema;
mod sql;
mod sql_store;
mod sqlite;

use serde_json::{Map, Value};

pub use digest::chain_hash;
pub use error_text::redact_url;
pub use open::{StoreSpec, open};
pub use pg::{PASSWORD_ENV_PREFIX, PgStore, PgTls, SslMode, check_password_env, pg_sslmode};
pub use sqlite::SqliteStore;

/// The schema version this code migrates to.
pub const SCHEMA_VERSION: i64 = migrations::LATEST;

/// A JSON object: one row.
pub type Row = Map<String, Value>;

/// The document every store call of a run is scoped to. The store adds
/// `document_id = <document_id>` to every filter and sets it on every
/// inserted row, so a plugin cannot touch another document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The run's document id.
    pub document_id: String,
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The table is not part of the schema (or is host-only).
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
    /// A row, value or call is malformed (or made outside a transaction).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The row exists with different content, an id was already used, or a
    /// lease is not held.
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

/// The first entry where the runs index's hash chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndexBreak {
    /// The entry's position (as stored).
    pub seq: i64,
    /// The run the entry names.
    pub run_id: String,
    /// What does not hold there.
    pub reason: String,
}

/// What [`StoreBackend::check_index`] found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndexCheck {
    /// How many entries the index holds.
    pub entries: u64,
    /// The first broken link; `None` when the chain is intact.
    pub first_break: Option<IndexBreak>,
}

/// A document claimed from the batch queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The claimed document.
    pub document_id: String,
    /// Where its source is.
    pub source_path: String,
    /// How many times it has been claimed, this claim included.
    pub attempts: u64,
    /// The run a previous holder recorded ([`HostTables::attach_run`] or
    /// [`HostTables::park`]): the run to resume. `None` on a first claim.
    pub run_id: Option<String>,
    /// The sha256 (hex) of the plan file the document was enqueued under
    /// ([`HostTables::enqueue`]); `""` for an entry queued before schema
    /// version 3.
    pub plan_sha256: String,
}

/// One batch-queue entry as it stands ([`HostTables::queue_entries`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QueueEntry {
    /// The queued document.
    pub document_id: String,
    /// Where its source is.
    pub source_path: String,
    /// `pending`, `claimed`, `waiting`, `done` or `failed`.
    pub state: String,
    /// The run recorded for it, if any.
    pub run_id: Option<String>,
    /// How many times it has been claimed.
    pub attempts: u64,
    /// The approval gate its run is paused at (state `waiting` only).
    pub waiting_gate: Option<String>,
    /// Why it failed (state `failed`).
    pub last_error: Option<String>,
    /// The worker holding (or that last held) its lease, if any.
    pub lease_owner: Option<String>,
    /// The sha256 (hex) of the plan file it was enqueued under; `""` for an
    /// entry queued before schema version 3.
    #[serde(default)]
    pub plan_sha256: String,
}

/// A phase of a run that committed: written in the phase's own transaction
/// ([`HostTables::record_checkpoint`]), so it exists exactly when the
/// phase's writes do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    /// The run.
    pub run_id: String,
    /// The phase's position in the run's plan (0-based); unique per run.
    pub phase_index: u64,
    /// The phase's name.
    pub phase: String,
    /// The digest of the phase's evidence.
    pub evidence_digest: String,
    /// The document digest ([`StoreBackend::document_digest`]) after the phase.
    pub store_digest: String,
    /// The digest of the run's inputs (source, plan, plugins) the phase ran
    /// on, computed by the host; `""` for a checkpoint recorded before
    /// schema version 3.
    #[serde(default)]
    pub inputs_digest: String,
}

/// How many queue entries are in each state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct QueueCounts {
    /// Waiting to be claimed.
    pub pending: u64,
    /// Claimed, lease still live.
    pub claimed: u64,
    /// Claimed, lease expired (claimable again).
    pub expired: u64,
    /// Completed.
    pub done: u64,
    /// Failed (not claimed again).
    pub failed: u64,
    /// Parked at a human approval gate (not claimable until unparked).
    pub waiting: u64,
}

/// Host-only tables: the consumed-approvals ledger, the batch queue and the
/// run checkpoints.
///
/// Every writing method here except [`HostTables::record_checkpoint`] runs in
/// its own transaction and commits before returning, so it is durable; it
/// refuses with [`StoreError::Invalid`] while a transaction opened with
/// [`StoreBackend::begin`] is open (the host must commit or roll back first).
/// `record_checkpoint` is the opposite: it writes only inside that
/// transaction. Reads work inside or outside a transaction.
pub trait HostTables {
    /// Record an approval as consumed, durably. Refuses with
    /// [`StoreError::Conflict`] an `approval_id` already consumed (message
    /// starts with `approval already consumed`) or a `review_decision_id`
    /// already recorded (message starts with `review decision already used`);
    /// nothing is written then.
    fn consume_approval(
        &mut self,
        approval_id: &str,
        review_decision_id: Option<&str>,
        run_id: &str,
        gate: &str,
        evidence_digest: &str,
        key_id: &str,
    ) -> Result<(), StoreError>;
    /// True when this approval id was consumed.
    fn approval_consumed(&mut self, approval_id: &str) -> Result<bool, StoreError>;
    /// True when a consumed approval carried this review decision id.
    fn review_decision_seen(&mut self, review_decision_id: &str) -> Result<bool, StoreError>;

    /// Queue documents `(document_id, source_path)` for the batch lane under
    /// the plan file whose sha256 is `plan_sha256` (recorded on every row and
    /// handed back in [`Claim::plan_sha256`]). A `plan_sha256` that is not 64
    /// lowercase hex digits is [`StoreError::Invalid`]; a document id
    /// repeated in the list or already queued (in any state) is a
    /// [`StoreError::Conflict`] naming it. Either way nothing is queued.
    fn enqueue(
        &mut self,
        documents: &[(String, String)],
        plan_sha256: &str,
    ) -> Result<u64, StoreError>;
    /// Claim the oldest pending document, or one whose lease expired, for
    /// `worker_id` for `lease_secs` seconds (database clock). `None` when
    /// nothing is claimable. Never hands out a document whose lease is live,
    /// nor one `waiting` at a gate. The claim carries the run id recorded
    /// for the entry, if any, and the plan digest it was enqueued under.
    fn claim(&mut self, worker_id: &str, lease_secs: u64) -> Result<Option<Claim>, StoreError>;
    /// Extend the lease `worker_id` holds on `document_id` by `lease_secs`
    /// from now; [`StoreError::Conflict`] when it does not hold it.
    fn renew(
        &mut self,
        document_id: &str,
        worker_id: &str,
        lease_secs: u64,
    ) -> Result<(), StoreError>;
    /// Mark `document_id` done by `run_id`; [`StoreError::Conflict`] when
    /// `worker_id` does not hold its lease.
    fn complete(
        &mut self,
        document_id: &str,
        worker_id: &str,
        run_id: &str,
    ) -> Result<(), StoreError>;
    /// Mark `document_id` failed with `reason`; [`StoreError::Conflict`] when
    /// `worker_id` does not hold its lease. Failed documents are not claimed
    /// again.
    fn fail(&mut self, document_id: &str, worker_id: &str, reason: &str) -> Result<(), StoreError>;
    /// How many queue entries are in each state.
    fn queue_counts(&mut self) -> Result<QueueCounts, StoreError>;
    /// Record `run_id` as the run working on `document_id`, so a worker that
    /// takes the entry over after the lease expires resumes it;
    /// [`StoreError::Conflict`] when `worker_id` does not hold its lease.
    fn attach_run(
        &mut self,
        document_id: &str,
        worker_id: &str,
        run_id: &str,
    ) -> Result<(), StoreError>;
    /// Park `document_id`: its run `run_id` is paused at the approval gate
    /// `gate`. The entry becomes `waiting` (not claimable) and the lease is
    /// released; [`StoreError::Conflict`] when `worker_id` does not hold it.
    fn park(
        &mut self,
        document_id: &str,
        worker_id: &str,
        run_id: &str,
        gate: &str,
    ) -> Result<(), StoreError>;
    /// Make the entry `waiting` with run `run_id` `pending` again (claimable,
    /// its run id kept, its gate cleared). `false` when no entry waits with
    /// that run id.
    fn unpark(&mut self, run_id: &str) -> Result<bool, StoreError>;
    /// Record that a phase of a run committed (with the digest of the run's
    /// inputs), inside the transaction opened with [`StoreBackend::begin`],
    /// so it commits or rolls back with the phase's writes. Outside one, [`StoreError::Invalid`]`("no open
    /// transaction")`; a `(run_id, phase_index)` already recorded is a
    /// [`StoreError::Conflict`] (the transaction stays usable).
    fn record_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<(), StoreError>;
    /// The checkpoint of `run_id` with the highest phase index, if any.
    fn last_checkpoint(&mut self, run_id: &str) -> Result<Option<Checkpoint>, StoreError>;
    /// Every checkpoint of `run_id`, by phase index (ascending); empty when
    /// it has none.
    fn checkpoints(&mut self, run_id: &str) -> Result<Vec<Checkpoint>, StoreError>;
    /// Every queue entry, in queue (FIFO) order.
    fn queue_entries(&mut self) -> Result<Vec<QueueEntry>, StoreError>;
}

/// A store the capabilities call into. Plugin-facing calls (select … delete)
/// are scoped to a document and run inside the transaction the host opened
/// with [`StoreBackend::begin`]; outside one they fail with
/// [`StoreError::Invalid`]`("no open transaction")`. Each plugin-facing
/// write is atomic: when it fails, none of its rows stay written.
pub trait StoreBackend: HostTables + Send {
    /// `sqlite` or `postgres`.
    fn kind(&self) -> &'static str;
    /// Open a transaction (one at a time; a second `begin` is
    /// [`StoreError::Invalid`]).
    fn begin(&mut self) -> Result<(), StoreError>;
    /// Open a read-only transaction: one consistent view for the calls
    /// until `commit`/`rollback`, without taking the write lock (SQLite
    /// `BEGIN DEFERRED` under WAL, PostgreSQL `REPEATABLE READ READ ONLY`),
    /// so other connections go on writing.
    fn begin_read(&mut self) -> Result<(), StoreError>;
    /// Commit the open transaction ([`StoreError::Invalid`] when none is open).
    fn commit(&mut self) -> Result<(), StoreError>;
    /// Roll the open transaction back (a no-op when none is open).
    fn rollback(&mut self) -> Result<(), StoreError>;
    /// True while a transaction opened with [`StoreBackend::begin`] is open.
    fn in_transaction(&self) -> bool;
    /// Make every transaction committed so far durable (it survives a
    /// power loss), for the run engine's barrier where a result is
    /// reported. By default nothing: the backend's commit is durable when
    /// it returns (PostgreSQL with `synchronous_commit` on). SQLite in WAL
    /// mode with `synchronous=NORMAL` commits without an fsync and syncs
    /// here instead.
    fn make_durable(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    /// sha256 (hex) over every row of the plugin tables that belongs to
    /// `document_id`, in primary-key order, in a canonical encoding (see
    /// docs/STORE.md): the same content gives the same digest on SQLite and
    /// PostgreSQL. The drift check compares it before and after a pause.
    /// Works inside or outside a transaction (inside, it sees its writes).
    fn document_digest(&mut self, document_id: &str) -> Result<String, StoreError>;
    /// The privileges the connected role has on each plugin table, the
    /// declared ones included (PostgreSQL: from `has_table_privilege`;
    /// SQLite: `None`, the host's own per-plugin grants are the matrix).
    fn role_privileges(
        &mut self,
    ) -> Result<Option<std::collections::BTreeMap<String, Privileges>>, StoreError>;
    /// Make the tables a plan declares ([`declared::TableDecl`]) plugin
    /// tables of this store, in one transaction of its own: each is checked
    /// (names, types, keys; never a host or built-in table's name), then
    /// compared with what the database holds under its name. A table that
    /// exists with another shape (or a view, an index … of that name) is a
    /// [`StoreError::Conflict`] and is left as it is: a declared table is
    /// never altered or dropped. A missing one is created when `create`,
    /// else refused ([`StoreError::Invalid`], naming `phasehost migrate`).
    /// On any refusal nothing is created and the store's tables stay as
    /// they were. Replaces the tables declared before.
    fn declare_tables(
        &mut self,
        decls: &[declared::TableDecl],
        create: bool,
    ) -> Result<Vec<declared::Declared>, StoreError>;
    /// The tables declared so far ([`StoreBackend::declare_tables`]).
    fn declared_tables(&self) -> Vec<schema::Table>;
    /// Append `entry` (JSON text) for `run_id` to the runs index, chaining
    /// its hash to the previous entry's. While a transaction opened with
    /// [`StoreBackend::begin`] is open the append joins it (under a
    /// savepoint): it commits or rolls back with that transaction, and when
    /// it fails nothing of it stays and the transaction stays usable (or,
    /// if it cannot be undone, refuses to commit). On PostgreSQL its table
    /// lock is then held until that transaction ends, so other appenders
    /// wait for it. With no transaction open it runs in its own and commits
    /// before returning. A run has one entry: the same entry again returns
    /// the first append unchanged (a re-run after a crash); a different one
    /// is a [`StoreError::Conflict`].
    fn append_index(
        &mut self,
        run_id: &str,
        document_id: &str,
        entry: &str,
    ) -> Result<IndexEntry, StoreError>;
    /// The schema version found when this store connected, before it
    /// migrated (0: a new, empty schema).
    fn version_on_open(&self) -> i64;
    /// The schema version now (after the migrations run on connect:
    /// [`SCHEMA_VERSION`]).
    fn schema_version(&mut self) -> Result<i64, StoreError>;
    /// Recompute the index's hash chain; the number of entries, or a
    /// [`StoreError::Conflict`] naming the first broken entry's seq.
    fn verify_index(&mut self) -> Result<u64, StoreError>;
    /// Recompute the index's hash chain like [`StoreBackend::verify_index`],
    /// reporting the first broken link (seq, run id, why) as data.
    fn check_index(&mut self) -> Result<IndexCheck, StoreError>;
    /// Rows of `table` in `scope` matching every filter, ordered by primary
    /// key (units: by version, then `seq`).
    fn select(
        &mut self,
        table: &str,
        scope: &Scope,
        filters: &[(String, String)],
    ) -> Result<Vec<Row>, StoreError>;
    /// [`StoreBackend::select`]'s rows, each as the JSON text
    /// `serde_json::to_string` makes of it (a plugin's `select` answer). A
    /// backend may write the text straight from the column values.
    fn select_json(
        &mut self,
        table: &str,
        scope: &Scope,
        filters: &[(String, String)],
    ) -> Result<Vec<String>, StoreError> {
        Ok(self
            .select(table, scope, filters)?
            .iter()
            .map(|row| serde_json::to_string(row).expect("a JSON map serializes"))
            .collect())
    }
    /// How many rows of `table` in `scope` match every filter.
    fn count(
        &mut self,
        table: &str,
        scope: &Scope,
        filters: &[(String, String)],
    ) -> Result<u64, StoreError>;
    /// Insert rows (idempotent on the primary key: an identical existing row
    /// is skipped, a different one is a [`StoreError::Conflict`] naming the
    /// key); returns rows inserted.
    fn insert(&mut self, table: &str, scope: &Scope, rows: &[Row]) -> Result<u64, StoreError>;
    /// Update matching rows (primary-key columns cannot be set); returns rows
    /// matched.
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
pub type SharedStore = std::sync::Arc<std::sync::Mutex<Box<dyn StoreBackend>>>;
