//! An in-memory [`Caps`] for native tests, implementing the host's store
//! contract (see the repository's `docs/STORE.md` and `plugins/README.md`)
//! over tables the test declares:
//!
//! - every call is scoped to one document: `document_id` is added to every
//!   filter and set on every inserted row (a row naming another document is
//!   refused), so every declared table must have a `document_id` column;
//! - rows are JSON objects checked against the declared columns and types;
//! - `insert` is idempotent on the primary key: an identical row is skipped
//!   and not counted, a different row with the same key is refused, and a
//!   refused batch inserts nothing;
//! - `select` returns rows in primary-key order (or the order the table
//!   declares); primary-key columns cannot be updated;
//! - optional [`Grants`] are enforced like the host does (a call without a
//!   grant is `access-denied` and recorded in `violations`);
//! - every call is counted per capability function, so a test can check that
//!   a phase crosses the boundary per batch, not per row.
//!
//! ```
//! use phasehost_sdk::Caps;
//! use phasehost_sdk::memory::{ColumnType, MemoryStore, TableDef};
//!
//! const NOTES: TableDef = TableDef {
//!     name: "notes",
//!     columns: &[("document_id", ColumnType::Text), ("n", ColumnType::Int)],
//!     primary_key: &["document_id", "n"],
//! };
//! let mut store = MemoryStore::new().table(NOTES).with_document("doc-1");
//! assert_eq!(store.insert("notes", &[r#"{"n": 1}"#.into()]).unwrap(), 1);
//! assert_eq!(store.insert("notes", &[r#"{"n": 1}"#.into()]).unwrap(), 0);
//! assert_eq!(store.count("notes", &[]).unwrap(), 1);
//! ```

mod grants;
mod table;

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::{CapError, Caps, Level};
pub use grants::Grants;
pub use table::{ColumnType, TableDef};
use table::{Schema, as_text};

/// A row as stored: a JSON object.
pub type Row = Map<String, Value>;

/// The in-memory store, source, artifacts and log of one document's run.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    /// The document every call is scoped to (`"document"` unless set).
    pub document_id: String,
    /// The raw source bytes `read_source` returns.
    pub source: Vec<u8>,
    /// Rows per table, of all documents.
    pub tables: BTreeMap<String, Vec<Row>>,
    /// Artifacts put by the phases.
    pub artifacts: BTreeMap<String, Vec<u8>>,
    /// Log lines, in order.
    pub logs: Vec<(Level, String)>,
    /// Calls per capability function (`read_source`, `select`, `insert`, …).
    pub calls: BTreeMap<String, u64>,
    /// The grants in force (`None` = everything allowed).
    pub grants: Option<Grants>,
    /// Calls made without a grant (the host would have refused them).
    pub violations: Vec<String>,
    schema: Schema,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store without tables, scoped to the document `"document"`,
    /// with an empty source and no grants (everything allowed).
    pub fn new() -> Self {
        Self {
            document_id: "document".into(),
            source: Vec::new(),
            tables: BTreeMap::new(),
            artifacts: BTreeMap::new(),
            logs: Vec::new(),
            calls: BTreeMap::new(),
            grants: None,
            violations: Vec::new(),
            schema: Schema::default(),
        }
    }

    /// Declare a table whose `select` orders rows by primary key.
    ///
    /// # Panics
    /// When the table is declared twice, has no `document_id` text column,
    /// or its primary key names a column it does not have: a test's schema
    /// is wrong, not its input.
    pub fn table(self, def: TableDef) -> Self {
        self.table_ordered_by(def, def.primary_key)
    }

    /// Declare a table whose `select` orders rows by `order_by` (e.g. a
    /// sequence number) instead of the primary key. Integer columns sort as
    /// numbers, others as text.
    ///
    /// # Panics
    /// As [`MemoryStore::table`], and when `order_by` names an unknown column.
    pub fn table_ordered_by(mut self, def: TableDef, order_by: &'static [&'static str]) -> Self {
        self.schema.add(def, order_by);
        self
    }

    /// The document every call is scoped to.
    pub fn with_document(mut self, document_id: &str) -> Self {
        self.document_id = document_id.into();
        self
    }

    /// The source bytes `read_source` returns.
    pub fn with_source(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.source = bytes.into();
        self
    }

    /// Enforce `grants` (a call without a grant is `access-denied`).
    pub fn with_grants(mut self, grants: Grants) -> Self {
        self.grants = Some(grants);
        self
    }

    /// The rows of `table`, of all documents, in insertion order.
    pub fn rows(&self, table: &str) -> &[Row] {
        self.tables.get(table).map_or(&[], Vec::as_slice)
    }

    /// How many times the capability function `call` was called.
    pub fn calls_to(&self, call: &str) -> u64 {
        self.calls.get(call).copied().unwrap_or(0)
    }

    fn note(&mut self, call: &str) {
        *self.calls.entry(call.to_string()).or_insert(0) += 1;
    }

    fn deny(&mut self, what: String) -> CapError {
        self.violations.push(what.clone());
        CapError::AccessDenied(what)
    }

    fn check_table(&mut self, table: &str, letter: char) -> Result<(), CapError> {
        match &self.grants {
            Some(g) if !g.allows_table(table, letter) => {
                Err(self.deny(format!("store {table}:{letter}")))
            }
            _ => Ok(()),
        }
    }

    fn check_artifact(&mut self, name: &str, letter: char) -> Result<(), CapError> {
        match &self.grants {
            Some(g) if !g.allows_artifact(name, letter) => {
                Err(self.deny(format!("artifact {name}:{letter}")))
            }
            _ => Ok(()),
        }
    }

    /// The filters of a call plus the document scope, checked against the table.
    fn scoped(
        &self,
        table: &str,
        filters: &[(&str, &str)],
    ) -> Result<Vec<(String, String)>, CapError> {
        let def = self.schema.get(table)?;
        let mut out = vec![("document_id".to_string(), self.document_id.clone())];
        for (c, v) in filters {
            def.check_column(c)?;
            out.push((c.to_string(), v.to_string()));
        }
        Ok(out)
    }

    fn matches(row: &Row, filters: &[(String, String)]) -> bool {
        filters
            .iter()
            .all(|(c, v)| row.get(c).and_then(as_text).as_deref() == Some(v.as_str()))
    }

    /// Parse a row, scope it to the document and check it against the table.
    fn parse_row(&self, table: &str, text: &str) -> Result<Row, CapError> {
        let mut row = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(CapError::Invalid(format!(
                    "a `{table}` row is not a JSON object"
                )));
            }
        };
        match row.get("document_id") {
            None => {
                row.insert(
                    "document_id".into(),
                    Value::String(self.document_id.clone()),
                );
            }
            Some(Value::String(d)) if *d == self.document_id => {}
            Some(_) => {
                return Err(CapError::Refused(format!(
                    "a `{table}` row names another document"
                )));
            }
        }
        self.schema.get(table)?.check_row(&row)?;
        Ok(row)
    }
}

impl Caps for MemoryStore {
    fn read_source(&mut self) -> Result<Vec<u8>, CapError> {
        self.note("read_source");
        if self.grants.as_ref().is_some_and(|g| !g.source) {
            return Err(self.deny("source".into()));
        }
        Ok(self.source.clone())
    }

    fn select(&mut self, table: &str, filters: &[(&str, &str)]) -> Result<Vec<String>, CapError> {
        self.note("select");
        self.check_table(table, 'r')?;
        let f = self.scoped(table, filters)?;
        let def = self.schema.get(table)?;
        let mut rows: Vec<&Row> = self
            .rows(table)
            .iter()
            .filter(|r| Self::matches(r, &f))
            .collect();
        rows.sort_by_key(|r| def.sort_key(r));
        Ok(rows
            .into_iter()
            .map(|r| Value::Object(r.clone()).to_string())
            .collect())
    }

    fn count(&mut self, table: &str, filters: &[(&str, &str)]) -> Result<u64, CapError> {
        self.note("count");
        self.check_table(table, 'r')?;
        let f = self.scoped(table, filters)?;
        Ok(self
            .rows(table)
            .iter()
            .filter(|r| Self::matches(r, &f))
            .count() as u64)
    }

    fn insert(&mut self, table: &str, rows: &[String]) -> Result<u64, CapError> {
        self.note("insert");
        self.check_table(table, 'i')?;
        let parsed = rows
            .iter()
            .map(|r| self.parse_row(table, r))
            .collect::<Result<Vec<_>, _>>()?;
        let def = self.schema.get(table)?;
        let existing = self.tables.get(table).map_or(&[][..], Vec::as_slice);
        // All or nothing, like one statement batch in a transaction.
        let mut staged: Vec<Row> = Vec::new();
        for row in parsed {
            let key = def.key(&row);
            match existing
                .iter()
                .chain(staged.iter())
                .find(|r| def.key(r) == key)
            {
                Some(old) if *old == row => {}
                Some(_) => {
                    return Err(CapError::Refused(format!(
                        "conflict: a different `{table}` row with key {key:?} exists"
                    )));
                }
                None => staged.push(row),
            }
        }
        let n = staged.len() as u64;
        self.tables
            .entry(table.to_string())
            .or_default()
            .extend(staged);
        Ok(n)
    }

    fn update(
        &mut self,
        table: &str,
        filters: &[(&str, &str)],
        set: &str,
    ) -> Result<u64, CapError> {
        self.note("update");
        self.check_table(table, 'u')?;
        let f = self.scoped(table, filters)?;
        let set = match serde_json::from_str::<Value>(set) {
            Ok(Value::Object(m)) => m,
            _ => return Err(CapError::Invalid("`set` is not a JSON object".into())),
        };
        self.schema.get(table)?.check_update(&set)?;
        let mut n = 0;
        for row in self.tables.entry(table.to_string()).or_default() {
            if Self::matches(row, &f) {
                for (k, v) in &set {
                    row.insert(k.clone(), v.clone());
                }
                n += 1;
            }
        }
        Ok(n)
    }

    fn delete(&mut self, table: &str, filters: &[(&str, &str)]) -> Result<u64, CapError> {
        self.note("delete");
        self.check_table(table, 'd')?;
        let f = self.scoped(table, filters)?;
        let rows = self.tables.entry(table.to_string()).or_default();
        let before = rows.len();
        rows.retain(|r| !Self::matches(r, &f));
        Ok((before - rows.len()) as u64)
    }

    fn put_artifact(&mut self, name: &str, bytes: &[u8]) -> Result<String, CapError> {
        self.note("put_artifact");
        self.check_artifact(name, 'i')?;
        self.artifacts.insert(name.to_string(), bytes.to_vec());
        Ok(hex::encode(Sha256::digest(bytes)))
    }

    fn get_artifact(&mut self, name: &str) -> Result<Vec<u8>, CapError> {
        self.note("get_artifact");
        self.check_artifact(name, 'r')?;
        self.artifacts
            .get(name)
            .cloned()
            .ok_or_else(|| CapError::NotFound(format!("artifact `{name}`")))
    }

    fn log(&mut self, level: Level, message: &str) {
        self.note("log");
        if self.grants.as_ref().is_some_and(|g| !g.log) {
            self.violations.push("log".into());
            return;
        }
        self.logs.push((level, message.to_string()));
    }
}
