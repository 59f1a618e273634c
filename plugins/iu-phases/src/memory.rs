//! An in-memory [`Caps`] that implements the store contract of
//! `docs/STORE.md`: every call scoped to one document, rows as JSON objects
//! checked against the schema, `insert` idempotent on the primary key (an
//! identical row is skipped, a different one is a conflict), `select`
//! ordered by primary key (units by `seq`), primary keys not updatable.
//! Optional per-phase grants are enforced like the host does; calls are
//! counted, so tests can check that phases cross the boundary per batch.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::domain::Bits;
use crate::{CapError, Caps, Level};

/// A column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Text,
    NullableText,
    Int,
}

/// (table, columns, primary key, order-by columns).
type TableDef = (
    &'static str,
    &'static [(&'static str, Ty)],
    &'static [&'static str],
    &'static [&'static str],
);

const SCHEMA: &[TableDef] = &[
    (
        "documents",
        &[
            ("document_id", Ty::Text),
            ("title", Ty::Text),
            ("first_seen_run", Ty::Text),
        ],
        &["document_id"],
        &["document_id"],
    ),
    (
        "source_versions",
        &[
            ("document_id", Ty::Text),
            ("version", Ty::Text),
            ("seq", Ty::Int),
            ("raw_sha256", Ty::Text),
            ("normalized_sha256", Ty::Text),
            ("raw_bytes", Ty::Int),
            ("normalized_bytes", Ty::Int),
            ("chars", Ty::Int),
            ("status", Ty::Text),
        ],
        &["document_id", "version"],
        &["document_id", "version"],
    ),
    (
        "units",
        &[
            ("document_id", Ty::Text),
            ("version", Ty::Text),
            ("eid", Ty::Text),
            ("parent_eid", Ty::NullableText),
            ("kind", Ty::Text),
            ("ordinal", Ty::Int),
            ("number", Ty::Text),
            ("heading", Ty::Text),
            ("text", Ty::Text),
            ("text_sha", Ty::Text),
            ("seq", Ty::Int),
            ("status", Ty::Text),
        ],
        &["document_id", "version", "eid"],
        &["document_id", "version", "seq"],
    ),
    (
        "envelopes",
        &[
            ("envelope_id", Ty::Text),
            ("document_id", Ty::Text),
            ("version", Ty::Text),
            ("eid", Ty::Text),
            ("text_sha", Ty::Text),
            ("plan_digest", Ty::Text),
            ("source_sha256", Ty::Text),
        ],
        &["document_id", "envelope_id"],
        &["document_id", "envelope_id"],
    ),
];

fn table_def(table: &str) -> Result<&'static TableDef, CapError> {
    SCHEMA
        .iter()
        .find(|t| t.0 == table)
        .ok_or_else(|| CapError::NotFound(format!("table `{table}`")))
}

/// The grants of one phase, as a plan writes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhaseGrants {
    /// `source = true`
    pub source: bool,
    /// `log = true`
    pub log: bool,
    /// `store = { table = "letters" }`
    pub store: BTreeMap<String, String>,
    /// `artifacts = { name = "letters" }`
    pub artifacts: BTreeMap<String, String>,
}

/// A column value as the text filters compare with (null matches nothing).
fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The in-memory store and source of one document's run.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    /// The document every call is scoped to.
    pub document_id: String,
    /// The raw source bytes `read_source` returns.
    pub source: Vec<u8>,
    /// Rows per table (all documents).
    pub tables: BTreeMap<String, Vec<Map<String, Value>>>,
    /// Artifacts put by the phases.
    pub artifacts: BTreeMap<String, Vec<u8>>,
    /// Log lines.
    pub logs: Vec<(Level, String)>,
    /// Calls per capability function (`select`, `insert`, …).
    pub calls: BTreeMap<String, u64>,
    /// The grants in force (`None` = everything allowed).
    pub grants: Option<PhaseGrants>,
    /// Calls made without a grant (the host would not have loaded the plugin).
    pub violations: Vec<String>,
}

impl MemoryStore {
    /// An empty store for `document_id` with `source` as the pinned source.
    pub fn new(document_id: &str, source: Vec<u8>) -> Self {
        Self {
            document_id: document_id.to_string(),
            source,
            ..Self::default()
        }
    }

    /// The rows of `table` (all documents).
    pub fn rows(&self, table: &str) -> &[Map<String, Value>] {
        self.tables.get(table).map_or(&[], Vec::as_slice)
    }

    fn note(&mut self, call: &str) {
        *self.calls.entry(call.to_string()).or_insert(0) += 1;
    }

    fn check_table(&mut self, table: &str, letter: char) -> Result<(), CapError> {
        if let Some(g) = &self.grants {
            let ok = g
                .store
                .get(table)
                .and_then(|l| Bits::parse(l).ok())
                .is_some_and(|b| match letter {
                    'r' => b.r,
                    'i' => b.i,
                    'u' => b.u,
                    _ => b.d,
                });
            if !ok {
                let what = format!("store {table}:{letter}");
                self.violations.push(what.clone());
                return Err(CapError::AccessDenied(what));
            }
        }
        Ok(())
    }

    fn check_artifact(&mut self, name: &str, letter: char) -> Result<(), CapError> {
        if let Some(g) = &self.grants {
            let ok = g.artifacts.get(name).is_some_and(|l| l.contains(letter));
            if !ok {
                let what = format!("artifact {name}:{letter}");
                self.violations.push(what.clone());
                return Err(CapError::AccessDenied(what));
            }
        }
        Ok(())
    }

    fn matcher(
        &self,
        table: &str,
        filters: &[(&str, &str)],
    ) -> Result<Vec<(String, String)>, CapError> {
        let def = table_def(table)?;
        let mut out = vec![("document_id".to_string(), self.document_id.clone())];
        for (c, v) in filters {
            if !def.1.iter().any(|(name, _)| name == c) {
                return Err(CapError::Invalid(format!(
                    "unknown column `{c}` in `{table}`"
                )));
            }
            out.push((c.to_string(), v.to_string()));
        }
        Ok(out)
    }

    fn matches(row: &Map<String, Value>, filters: &[(String, String)]) -> bool {
        filters
            .iter()
            .all(|(c, v)| row.get(c).and_then(as_text).as_deref() == Some(v.as_str()))
    }

    fn check_row(&self, table: &str, row: &mut Map<String, Value>) -> Result<(), CapError> {
        let def = table_def(table)?;
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
        for k in row.keys() {
            if !def.1.iter().any(|(name, _)| name == k) {
                return Err(CapError::Invalid(format!(
                    "unknown column `{k}` in `{table}`"
                )));
            }
        }
        for (name, ty) in def.1 {
            let ok = match (row.get(*name), ty) {
                (Some(Value::String(_)), Ty::Text | Ty::NullableText) => true,
                (Some(Value::Null), Ty::NullableText) => true,
                (Some(Value::Number(n)), Ty::Int) => n.is_i64() || n.is_u64(),
                _ => false,
            };
            if !ok {
                return Err(CapError::Invalid(format!(
                    "`{table}.{name}` is missing or has the wrong type"
                )));
            }
        }
        Ok(())
    }

    fn sort_key(def: &TableDef, row: &Map<String, Value>) -> Vec<(u64, String)> {
        def.3
            .iter()
            .map(|c| match row.get(*c) {
                Some(Value::Number(n)) => (n.as_u64().unwrap_or(0), String::new()),
                Some(v) => (0, as_text(v).unwrap_or_default()),
                None => (0, String::new()),
            })
            .collect()
    }
}

impl Caps for MemoryStore {
    fn read_source(&mut self) -> Result<Vec<u8>, CapError> {
        self.note("read_source");
        if self.grants.as_ref().is_some_and(|g| !g.source) {
            self.violations.push("source".into());
            return Err(CapError::AccessDenied("source".into()));
        }
        Ok(self.source.clone())
    }

    fn select(&mut self, table: &str, filters: &[(&str, &str)]) -> Result<Vec<String>, CapError> {
        self.note("select");
        self.check_table(table, 'r')?;
        let f = self.matcher(table, filters)?;
        let def = table_def(table)?;
        let mut rows: Vec<&Map<String, Value>> = self
            .rows(table)
            .iter()
            .filter(|r| Self::matches(r, &f))
            .collect();
        rows.sort_by_key(|r| Self::sort_key(def, r));
        Ok(rows
            .into_iter()
            .map(|r| Value::Object(r.clone()).to_string())
            .collect())
    }

    fn count(&mut self, table: &str, filters: &[(&str, &str)]) -> Result<u64, CapError> {
        self.note("count");
        self.check_table(table, 'r')?;
        let f = self.matcher(table, filters)?;
        Ok(self
            .rows(table)
            .iter()
            .filter(|r| Self::matches(r, &f))
            .count() as u64)
    }

    fn insert(&mut self, table: &str, rows: &[String]) -> Result<u64, CapError> {
        self.note("insert");
        self.check_table(table, 'i')?;
        let def = table_def(table)?;
        let mut parsed = Vec::with_capacity(rows.len());
        for r in rows {
            let mut row = match serde_json::from_str::<Value>(r) {
                Ok(Value::Object(m)) => m,
                _ => {
                    return Err(CapError::Invalid(format!(
                        "a `{table}` row is not a JSON object"
                    )));
                }
            };
            self.check_row(table, &mut row)?;
            parsed.push(row);
        }
        let pk = |r: &Map<String, Value>| -> Vec<Option<String>> {
            def.2.iter().map(|c| r.get(*c).and_then(as_text)).collect()
        };
        let existing = self.tables.entry(table.to_string()).or_default();
        // All or nothing, like one statement batch in a transaction.
        let mut staged: Vec<Map<String, Value>> = Vec::new();
        for row in parsed {
            let key = pk(&row);
            let found = existing.iter().chain(staged.iter()).find(|r| pk(r) == key);
            match found {
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
        existing.extend(staged);
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
        let def = table_def(table)?;
        let f = self.matcher(table, filters)?;
        let set = match serde_json::from_str::<Value>(set) {
            Ok(Value::Object(m)) => m,
            _ => return Err(CapError::Invalid("`set` is not a JSON object".into())),
        };
        for k in set.keys() {
            if def.2.contains(&k.as_str()) {
                return Err(CapError::Invalid(format!(
                    "primary key column `{k}` cannot be updated"
                )));
            }
            if !def.1.iter().any(|(name, _)| name == k) {
                return Err(CapError::Invalid(format!(
                    "unknown column `{k}` in `{table}`"
                )));
            }
        }
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
        let f = self.matcher(table, filters)?;
        let rows = self.tables.entry(table.to_string()).or_default();
        let before = rows.len();
        rows.retain(|r| !Self::matches(r, &f));
        Ok((before - rows.len()) as u64)
    }

    fn put_artifact(&mut self, name: &str, bytes: &[u8]) -> Result<String, CapError> {
        self.note("put_artifact");
        self.check_artifact(name, 'i')?;
        self.artifacts.insert(name.to_string(), bytes.to_vec());
        Ok(iu_core::sha256_hex(bytes))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_row(doc: &str, title: &str) -> String {
        format!(r#"{{"document_id":"{doc}","title":"{title}","first_seen_run":"r1"}}"#)
    }

    #[test]
    fn insert_is_idempotent_and_conflicts_on_a_different_row() {
        let mut s = MemoryStore::new("d", vec![]);
        assert_eq!(s.insert("documents", &[doc_row("d", "T")]).unwrap(), 1);
        assert_eq!(s.insert("documents", &[doc_row("d", "T")]).unwrap(), 0);
        assert!(matches!(
            s.insert("documents", &[doc_row("d", "U")]),
            Err(CapError::Refused(_))
        ));
        assert!(matches!(
            s.insert("documents", &[doc_row("other", "T")]),
            Err(CapError::Refused(_))
        ));
        assert!(matches!(
            s.insert("documents", &[r#"{"title":"x"}"#.to_string()]),
            Err(CapError::Invalid(_))
        ));
    }

    #[test]
    fn calls_are_scoped_to_the_document() {
        let mut s = MemoryStore::new("d", vec![]);
        s.insert("documents", &[doc_row("d", "T")]).unwrap();
        s.tables
            .get_mut("documents")
            .unwrap()
            .push(serde_json::from_str(&doc_row("e", "T")).unwrap());
        assert_eq!(s.count("documents", &[]).unwrap(), 1);
        assert_eq!(s.select("documents", &[]).unwrap().len(), 1);
        assert_eq!(s.delete("documents", &[]).unwrap(), 1);
        assert_eq!(s.rows("documents").len(), 1);
        assert!(matches!(
            s.count("documents", &[("nope", "x")]),
            Err(CapError::Invalid(_))
        ));
        assert!(matches!(s.count("nope", &[]), Err(CapError::NotFound(_))));
    }

    #[test]
    fn primary_keys_cannot_be_updated_and_grants_are_enforced() {
        let mut s = MemoryStore::new("d", vec![]);
        s.insert("documents", &[doc_row("d", "T")]).unwrap();
        assert!(
            s.update("documents", &[], r#"{"document_id":"x"}"#)
                .is_err()
        );
        assert_eq!(s.update("documents", &[], r#"{"title":"U"}"#).unwrap(), 1);
        s.grants = Some(PhaseGrants::default());
        assert!(matches!(
            s.count("documents", &[]),
            Err(CapError::AccessDenied(_))
        ));
        assert!(s.read_source().is_err());
        assert_eq!(s.violations, ["store documents:r", "source"]);
    }
}
