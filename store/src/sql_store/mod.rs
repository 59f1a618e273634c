//! The SQL store core: [`SqlStore`] implements [`StoreBackend`] and
//! [`HostTables`] once, over any [`Connection`]. It owns the transaction
//! bookkeeping (the host's transaction, a savepoint per plugin call, a
//! transaction of its own per host write, read snapshots), the scoping and
//! validation of plugin calls, the runs index and the queue. A backend
//! supplies only its dialect ([`Dialect`]: placeholders, clock, locking
//! clauses, transaction openers) and a [`Connection`]: run a statement,
//! read typed rows, and optionally a batched insert and a privilege probe.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::declared::{self, Declared, Found, TableDecl};
use crate::host_sql as h;
use crate::schema::{self, ColumnType, SqlValue, Table};
use crate::sql::{self, Dialect};
use crate::{IndexEntry, Privileges, Row, Scope, StoreBackend, StoreError, digest, migrations};

mod catalog;
mod host_tables;

/// One row as read: values in the order of the column types asked for.
pub type Values = Vec<SqlValue>;

/// The rows a query read ([`Connection::query`]).
pub type Rows = Result<Vec<Values>, StoreError>;

/// What a backend supplies: one database connection in its dialect.
/// Statements may be cached by the connection; values are always bound
/// parameters.
pub trait Connection: Send {
    /// The SQL dialect of the connection.
    const DIALECT: Dialect;

    /// Runs parameterless statements (transaction control, DDL).
    fn batch(&mut self, sql: &str) -> Result<(), StoreError>;

    /// Runs one statement; the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError>;

    /// Runs one query; every row's first `types.len()` columns, read as
    /// `types` says.
    fn query(&mut self, sql: &str, params: &[SqlValue], types: &[ColumnType]) -> Rows;

    /// Runs one query and streams every row's first `types.len()` columns
    /// into `digest` ([`digest::DocumentDigest::row`]'s encoding). By
    /// default through [`Connection::query`]; a backend may hash the
    /// column values where they lie instead of building each row, but must
    /// refuse a value that `query` would refuse (a wrong type, a null in a
    /// not-null column) rather than digest it.
    fn digest_rows(
        &mut self,
        sql: &str,
        params: &[SqlValue],
        types: &[ColumnType],
        digest: &mut digest::DocumentDigest,
    ) -> Result<(), StoreError> {
        for row in self.query(sql, params, types)? {
            digest.row(&row);
        }
        Ok(())
    }

    /// Make the transactions committed so far durable
    /// ([`StoreBackend::make_durable`]); by default nothing (a commit is).
    fn make_durable(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    /// False when the database ended the open transaction on its own
    /// (SQLite rolls back on some errors); then `rollback` sends nothing.
    fn transaction_open(&self) -> bool {
        true
    }

    /// Inserts validated rows (schema order) idempotently on the primary
    /// key, in the open transaction: an identical existing row is skipped,
    /// a different one is a [`StoreError::Conflict`]. Rows inserted.
    /// By default one statement per row ([`insert_each`]).
    fn insert_rows(&mut self, table: &Table, rows: &[Values]) -> Result<u64, StoreError>
    where
        Self: Sized,
    {
        insert_each(self, table, rows)
    }

    /// The privileges the connected role has on each of `tables`; `None`
    /// where the database has no roles (SQLite).
    fn role_privileges(
        &mut self,
        tables: &[&Table],
    ) -> Result<Option<BTreeMap<String, Privileges>>, StoreError> {
        let _ = tables;
        Ok(None)
    }

    /// Locks `table` against other writers until the transaction ends,
    /// where the dialect needs it ([`Dialect::lock_table`]).
    fn lock_table(&mut self, table: &str) -> Result<(), StoreError> {
        match Self::DIALECT.lock_table(table) {
            Some(sql) => self.batch(&sql),
            None => Ok(()),
        }
    }
}

/// [`Connection::insert_rows`] one row at a time: insert skipping a key
/// conflict, and compare a skipped row with the one stored.
pub(crate) fn insert_each<C: Connection>(
    conn: &mut C,
    table: &Table,
    rows: &[Values],
) -> Result<u64, StoreError> {
    let insert = sql::insert_one(C::DIALECT, table);
    let by_key = sql::select_by_key(C::DIALECT, table);
    let types = table.column_types();
    let mut inserted = 0u64;
    for values in rows {
        if conn.execute(&insert, values)? == 1 {
            inserted += 1;
            continue;
        }
        let found = conn.query(&by_key, &table.key_of(values), &types)?;
        if found.first() != Some(values) {
            return Err(different_content(table, values));
        }
    }
    Ok(inserted)
}

/// The conflict for a row whose key exists with other values.
pub(crate) fn different_content(table: &Table, values: &[SqlValue]) -> StoreError {
    StoreError::Conflict(format!(
        "{} exists with different content",
        table.describe_key(values)
    ))
}

/// Applies the migrations of `all` newer than `found`, recording each in
/// `schema_version`, in the transaction open on `conn`.
pub(crate) fn apply_migrations<C: Connection>(
    conn: &mut C,
    all: &'static [migrations::Migration],
    found: i64,
) -> Result<(), StoreError> {
    migrations::check_version(found)?;
    let record = format!(
        "INSERT INTO schema_version (version, applied_at) VALUES ({}, {})",
        C::DIALECT.param(1),
        C::DIALECT.now_ms()
    );
    for m in migrations::pending(all, found) {
        let failed = |e: StoreError| {
            let says = |why: String| {
                format!(
                    "the migration to schema version {} failed, nothing of it applied: {why}",
                    m.version
                )
            };
            match e {
                StoreError::Invalid(why) => StoreError::Invalid(says(why)),
                StoreError::Backend(why) => StoreError::Backend(says(why)),
                other => StoreError::Backend(says(other.to_string())),
            }
        };
        conn.batch(m.sql).map_err(failed)?;
        conn.execute(&record, &[m.version.into()]).map_err(failed)?;
    }
    Ok(())
}

/// The cells of one row, read in order. The types were fixed by the query
/// ([`Connection::query`] checks them), so a mismatch cannot happen; it
/// would read as empty.
pub(crate) struct Cells(std::vec::IntoIter<SqlValue>);

impl Cells {
    pub(crate) fn new(values: Values) -> Self {
        Self(values.into_iter())
    }

    pub(crate) fn text(&mut self) -> String {
        match self.0.next() {
            Some(SqlValue::Text(s)) => s,
            _ => String::new(),
        }
    }

    pub(crate) fn opt(&mut self) -> Option<String> {
        match self.0.next() {
            Some(SqlValue::Text(s)) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn int(&mut self) -> i64 {
        match self.0.next() {
            Some(SqlValue::Int(i)) => i,
            _ => 0,
        }
    }

    pub(crate) fn count(&mut self) -> u64 {
        self.int() as u64
    }
}

/// A store over one connection: every [`StoreBackend`] and [`HostTables`]
/// method, for any [`Connection`]. [`crate::SqliteStore`] and
/// [`crate::PgStore`] are this over their connections.
///
/// [`HostTables`]: crate::HostTables
pub struct SqlStore<C: Connection> {
    pub(crate) conn: C,
    in_tx: bool,
    /// A failed call could not be undone: the transaction must not commit.
    aborted: bool,
    /// The schema version found on connect, before migrating (0: new).
    pub(crate) version_on_open: i64,
    /// The plugin tables: built-in, then those the plan declared
    /// ([`StoreBackend::declare_tables`]).
    tables: Arc<Vec<Table>>,
}

impl<C: Connection + std::fmt::Debug> std::fmt::Debug for SqlStore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("conn", &self.conn)
            .field("in_tx", &self.in_tx)
            .field("aborted", &self.aborted)
            .finish()
    }
}

impl<C: Connection> SqlStore<C> {
    /// A store over `conn`, with no transaction open.
    pub(crate) fn new(conn: C) -> Self {
        Self {
            conn,
            in_tx: false,
            aborted: false,
            version_on_open: 0,
            tables: Arc::new(schema::PLUGIN_TABLES.clone()),
        }
    }

    /// Every plugin table: the built-in ones, then the declared ones in
    /// declaration order (the digest's order). Shared, so a call can hold
    /// a table while it uses the connection.
    fn tables(&self) -> Arc<Vec<Table>> {
        Arc::clone(&self.tables)
    }

    /// Opens the host's transaction with `sql` (the dialect's `BEGIN …`);
    /// refused when one is open already.
    fn open_tx(&mut self, sql: &str) -> Result<(), StoreError> {
        if self.in_tx {
            return Err(StoreError::Invalid("a transaction is already open".into()));
        }
        self.conn.batch(sql)?;
        self.in_tx = true;
        self.aborted = false;
        Ok(())
    }

    /// Runs `f` in a transaction of its own, committed before returning;
    /// refused while the host's transaction is open.
    pub(crate) fn own_tx<T>(
        &mut self,
        what: &str,
        f: impl FnOnce(&mut C) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.in_tx {
            return Err(h::transaction_open(what));
        }
        self.conn.batch(C::DIALECT.begin_write())?;
        match f(&mut self.conn) {
            Ok(value) => match self.conn.batch("COMMIT") {
                Ok(()) => Ok(value),
                Err(e) => {
                    let _ = self.conn.batch("ROLLBACK");
                    Err(e)
                }
            },
            Err(e) => {
                let _ = self.conn.batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Runs a call inside the open transaction, atomically (a savepoint):
    /// when it fails, none of its writes stay and the transaction stays
    /// usable (a failed statement aborts a PostgreSQL transaction; the
    /// savepoint guards it). When the savepoint cannot be undone the
    /// transaction refuses to commit.
    pub(crate) fn in_call<T>(
        &mut self,
        f: impl FnOnce(&mut C) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if !self.in_tx {
            return Err(h::no_transaction());
        }
        self.conn.batch("SAVEPOINT plugin_call")?;
        match f(&mut self.conn) {
            Ok(value) => match self.conn.batch("RELEASE SAVEPOINT plugin_call") {
                Ok(()) => Ok(value),
                Err(e) => {
                    self.aborted = true;
                    Err(e)
                }
            },
            Err(e) => {
                if self
                    .conn
                    .batch("ROLLBACK TO SAVEPOINT plugin_call; RELEASE SAVEPOINT plugin_call")
                    .is_err()
                {
                    self.aborted = true;
                }
                Err(e)
            }
        }
    }

    /// Runs a read: in the open transaction (under a savepoint), or in a
    /// read transaction of its own (one consistent snapshot).
    pub(crate) fn read<T>(
        &mut self,
        f: impl FnOnce(&mut C) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.in_tx {
            return self.in_call(f);
        }
        self.conn.batch(C::DIALECT.begin_read())?;
        let result = f(&mut self.conn);
        let _ = self.conn.batch("COMMIT");
        result
    }

    /// Runs a plugin-facing read or write on the rows of `table` in `scope`
    /// matching `filters`, in the open transaction; `none` when the filters
    /// can never match.
    fn on_matching<T>(
        &mut self,
        table: &str,
        scope: &Scope,
        filters: &[(String, String)],
        none: T,
        f: impl FnOnce(&mut C, &Table, Vec<schema::Condition<'_>>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tables = self.tables();
        let table = find(&tables, table)?;
        match table.conditions(scope, filters)? {
            None => self.in_call(|_| Ok(none)),
            Some(conditions) => self.in_call(|conn| f(conn, table, conditions)),
        }
    }
}

/// The plugin table `name` of `tables`; any other name (a host table, an
/// undeclared one) is [`StoreError::UnknownTable`].
fn find<'a>(tables: &'a [Table], name: &str) -> Result<&'a Table, StoreError> {
    tables
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| StoreError::UnknownTable(name.to_string()))
}

/// The values of conditions, in order.
fn values_of(conditions: &[schema::Condition<'_>]) -> Vec<SqlValue> {
    conditions.iter().map(|(_, v)| v.clone()).collect()
}

/// Appends `entry` for `run_id` to the runs index in the transaction open on
/// `conn`, which holds the write lock (SQLite) or takes a table lock held
/// until the transaction ends (PostgreSQL), so seqs are consecutive.
fn append<C: Connection>(
    conn: &mut C,
    run_id: &str,
    document_id: &str,
    entry: &str,
) -> Result<IndexEntry, StoreError> {
    use ColumnType::{Int, Text};
    let d = C::DIALECT;
    conn.lock_table("runs_index")?;
    let earlier = conn.query(
        &h::index_entry_of_run(d),
        &[run_id.into()],
        &[Int, Text, Text, Text],
    )?;
    if let Some(row) = earlier.into_iter().next() {
        let mut r = Cells::new(row);
        let (seq, earlier) = (r.int(), r.text());
        return h::index_entry_again(run_id, entry, seq, &earlier, r.text(), r.text());
    }
    let last = conn.query(h::LAST_INDEX_ENTRY, &[], &[Int, Text])?;
    let (seq, prev_hash) = last.into_iter().next().map_or((1, String::new()), |row| {
        let mut r = Cells::new(row);
        (r.int() + 1, r.text())
    });
    let hash = digest::chain_hash(&prev_hash, entry);
    conn.execute(
        &h::insert_index(d),
        &[
            seq.into(),
            run_id.into(),
            document_id.into(),
            entry.into(),
            prev_hash.as_str().into(),
            hash.as_str().into(),
        ],
    )?;
    Ok(IndexEntry {
        seq: seq as u64,
        prev_hash,
        hash,
    })
}

impl<C: Connection> StoreBackend for SqlStore<C> {
    fn kind(&self) -> &'static str {
        C::DIALECT.kind()
    }

    fn begin(&mut self) -> Result<(), StoreError> {
        self.open_tx(C::DIALECT.begin_write())
    }

    fn begin_read(&mut self) -> Result<(), StoreError> {
        self.open_tx(C::DIALECT.begin_read())
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
        // On a transaction the server already aborted, PostgreSQL's COMMIT
        // answers ROLLBACK without an error; `aborted` covers every way we
        // know of.
        self.conn.batch("COMMIT").inspect_err(|_| {
            let _ = self.conn.batch("ROLLBACK");
        })
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        if !self.in_tx {
            return Ok(());
        }
        self.in_tx = false;
        if !self.conn.transaction_open() {
            return Ok(());
        }
        self.conn.batch("ROLLBACK")
    }

    fn in_transaction(&self) -> bool {
        self.in_tx
    }

    fn make_durable(&mut self) -> Result<(), StoreError> {
        self.conn.make_durable()
    }

    fn document_digest(&mut self, document_id: &str) -> Result<String, StoreError> {
        let tables = self.tables();
        self.read(|conn| {
            let mut digest = digest::DocumentDigest::new();
            for table in tables.iter() {
                digest.table(&table.name);
                let sql = sql::select_document(C::DIALECT, table);
                conn.digest_rows(
                    &sql,
                    &[document_id.into()],
                    &table.column_types(),
                    &mut digest,
                )?;
                digest.end_table();
            }
            Ok(digest.finish())
        })
    }

    fn role_privileges(&mut self) -> Result<Option<BTreeMap<String, Privileges>>, StoreError> {
        let tables = self.tables();
        let all: Vec<&Table> = tables.iter().collect();
        self.read(|conn| conn.role_privileges(&all))
    }

    fn declare_tables(
        &mut self,
        decls: &[TableDecl],
        create: bool,
    ) -> Result<Vec<Declared>, StoreError> {
        let declared = declared::tables(decls).map_err(StoreError::Invalid)?;
        let report = self.own_tx("declaring tables", |conn| {
            let mut report = Vec::with_capacity(declared.len());
            for table in &declared {
                let found = catalog::find_table(conn, &table.name)?;
                declared::check_shape(table, &found)?;
                let created = found == Found::Nothing;
                if created && !create {
                    return Err(StoreError::Invalid(format!(
                        "the plan declares table `{}`, which the store does not have: \
                         the store's owner creates it with `phasehost migrate <plan>`",
                        table.name
                    )));
                }
                if created {
                    conn.batch(&declared::create_sql(C::DIALECT, table))?;
                    declared::check_shape(table, &catalog::find_table(conn, &table.name)?)?;
                }
                report.push(Declared {
                    table: table.name.clone(),
                    created,
                });
            }
            Ok(report)
        })?;
        let mut tables = schema::PLUGIN_TABLES.clone();
        tables.extend(declared);
        self.tables = Arc::new(tables);
        Ok(report)
    }

    fn declared_tables(&self) -> Vec<Table> {
        self.tables[schema::PLUGIN_TABLES.len()..].to_vec()
    }

    fn append_index(
        &mut self,
        run_id: &str,
        document_id: &str,
        entry: &str,
    ) -> Result<IndexEntry, StoreError> {
        h::check_entry(entry)?;
        if self.in_tx {
            // Joins the open transaction, atomically (a savepoint); a table
            // lock then holds until that transaction ends.
            return self.in_call(|conn| append(conn, run_id, document_id, entry));
        }
        self.own_tx("appending to the runs index", |conn| {
            append(conn, run_id, document_id, entry)
        })
    }

    fn check_index(&mut self) -> Result<crate::IndexCheck, StoreError> {
        use ColumnType::{Int, Text};
        self.read(|conn| {
            let rows = conn.query(
                "SELECT seq, run_id, entry, prev_hash, hash FROM runs_index ORDER BY seq",
                &[],
                &[Int, Text, Text, Text, Text],
            )?;
            Ok(digest::check_chain(rows.into_iter().map(|row| {
                let mut r = Cells::new(row);
                (r.int(), r.text(), r.text(), r.text(), r.text())
            })))
        })
    }

    fn version_on_open(&self) -> i64 {
        self.version_on_open
    }

    fn schema_version(&mut self) -> Result<i64, StoreError> {
        self.read(|conn| {
            let rows = conn.query(
                "SELECT COALESCE(MAX(version), 0) FROM schema_version",
                &[],
                &[ColumnType::Int],
            )?;
            Ok(rows.into_iter().next().map_or(0, |r| Cells::new(r).int()))
        })
    }

    fn verify_index(&mut self) -> Result<u64, StoreError> {
        use ColumnType::{Int, Text};
        self.read(|conn| {
            let rows = conn.query(h::INDEX, &[], &[Int, Text, Text, Text])?;
            digest::verify_chain(rows.into_iter().map(|row| {
                let mut r = Cells::new(row);
                (r.int(), r.text(), r.text(), r.text())
            }))
        })
    }

    fn select(
        &mut self,
        table: &str,
        scope: &Scope,
        filters: &[(String, String)],
    ) -> Result<Vec<Row>, StoreError> {
        self.on_matching(table, scope, filters, Vec::new(), |conn, table, cond| {
            let sql = sql::select(C::DIALECT, table, &cond);
            let rows = conn.query(&sql, &values_of(&cond), &table.column_types())?;
            Ok(rows.iter().map(|values| table.row_json(values)).collect())
        })
    }

    fn select_json(
        &mut self,
        table: &str,
        scope: &Scope,
        filters: &[(String, String)],
    ) -> Result<Vec<String>, StoreError> {
        self.on_matching(table, scope, filters, Vec::new(), |conn, table, cond| {
            let sql = sql::select(C::DIALECT, table, &cond);
            let rows = conn.query(&sql, &values_of(&cond), &table.column_types())?;
            let writer = schema::JsonRows::new(table);
            Ok(rows.iter().map(|values| writer.row(values)).collect())
        })
    }

    fn count(
        &mut self,
        table: &str,
        scope: &Scope,
        filters: &[(String, String)],
    ) -> Result<u64, StoreError> {
        self.on_matching(table, scope, filters, 0, |conn, table, cond| {
            let sql = sql::count(C::DIALECT, table, &cond);
            let rows = conn.query(&sql, &values_of(&cond), &[ColumnType::Int])?;
            Ok(rows
                .into_iter()
                .next()
                .map_or(0, |row| Cells::new(row).count()))
        })
    }

    fn insert(&mut self, table: &str, scope: &Scope, rows: &[Row]) -> Result<u64, StoreError> {
        let tables = self.tables();
        let table = find(&tables, table)?;
        schema::check_scope(scope)?;
        let rows = rows
            .iter()
            .map(|row| table.row_values(scope, row))
            .collect::<Result<Vec<_>, _>>()?;
        self.in_call(|conn| conn.insert_rows(table, &rows))
    }

    fn update(
        &mut self,
        table: &str,
        scope: &Scope,
        filters: &[(String, String)],
        set: &Row,
    ) -> Result<u64, StoreError> {
        let tables = self.tables();
        let set = find(&tables, table)?.set_values(set)?;
        self.on_matching(table, scope, filters, 0, |conn, table, cond| {
            let mut params = values_of(&set);
            params.extend(values_of(&cond));
            conn.execute(&sql::update(C::DIALECT, table, &set, &cond), &params)
        })
    }

    fn delete(
        &mut self,
        table: &str,
        scope: &Scope,
        filters: &[(String, String)],
    ) -> Result<u64, StoreError> {
        self.on_matching(table, scope, filters, 0, |conn, table, cond| {
            conn.execute(&sql::delete(C::DIALECT, table, &cond), &values_of(&cond))
        })
    }
}
