//! Declared tables: columns and types, primary key, select order.

use serde_json::{Map, Value};

use crate::CapError;

/// A column's type, as rows must carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// A JSON string.
    Text,
    /// A JSON string or `null`.
    NullableText,
    /// A JSON integer.
    Int,
    /// A SHA-256 digest: a JSON string of exactly 64 lowercase hex digits
    /// (the host's store keeps its 32 bytes and refuses any other
    /// spelling, as this store does).
    Sha256,
}

/// Whether `s` is a digest as [`ColumnType::Sha256`] accepts it.
fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A table a test declares on a [`MemoryStore`](super::MemoryStore).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDef {
    /// The table name, as the phase passes it.
    pub name: &'static str,
    /// Every column and its type; must include `document_id` (text).
    pub columns: &'static [(&'static str, ColumnType)],
    /// The primary key columns.
    pub primary_key: &'static [&'static str],
}

/// A declared table and its select order.
#[derive(Debug, Clone)]
pub(super) struct Table {
    def: TableDef,
    order_by: &'static [&'static str],
}

/// The declared tables.
#[derive(Debug, Clone, Default)]
pub(super) struct Schema {
    tables: Vec<Table>,
}

/// A column value as the text filters compare with (null matches nothing).
pub(super) fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Schema {
    pub(super) fn add(&mut self, def: TableDef, order_by: &'static [&'static str]) {
        let name = def.name;
        assert!(
            self.tables.iter().all(|t| t.def.name != name),
            "table `{name}` declared twice"
        );
        assert!(
            def.columns.contains(&("document_id", ColumnType::Text)),
            "table `{name}` has no `document_id` text column: every call is scoped to a document"
        );
        assert!(
            !def.primary_key.is_empty(),
            "table `{name}` has no primary key"
        );
        for c in def.primary_key.iter().chain(order_by) {
            assert!(
                def.columns.iter().any(|(n, _)| n == c),
                "table `{name}`: key or order column `{c}` is not a column"
            );
        }
        self.tables.push(Table { def, order_by });
    }

    pub(super) fn get(&self, table: &str) -> Result<&Table, CapError> {
        self.tables
            .iter()
            .find(|t| t.def.name == table)
            .ok_or_else(|| CapError::NotFound(format!("table `{table}`")))
    }
}

impl Table {
    pub(super) fn check_column(&self, column: &str) -> Result<(), CapError> {
        if self.def.columns.iter().any(|(n, _)| *n == column) {
            Ok(())
        } else {
            Err(CapError::Invalid(format!(
                "unknown column `{column}` in `{}`",
                self.def.name
            )))
        }
    }

    /// Every key is a column and every column has a value of its type.
    pub(super) fn check_row(&self, row: &Map<String, Value>) -> Result<(), CapError> {
        for k in row.keys() {
            self.check_column(k)?;
        }
        for (name, ty) in self.def.columns {
            let ok = match (row.get(*name), ty) {
                (Some(Value::String(_)), ColumnType::Text | ColumnType::NullableText) => true,
                (Some(Value::Null), ColumnType::NullableText) => true,
                (Some(Value::Number(n)), ColumnType::Int) => n.is_i64() || n.is_u64(),
                (Some(Value::String(s)), ColumnType::Sha256) => is_sha256_hex(s),
                _ => false,
            };
            if !ok {
                return Err(CapError::Invalid(format!(
                    "`{}.{name}` is missing or has the wrong type",
                    self.def.name
                )));
            }
        }
        Ok(())
    }

    /// An update may set known columns, never a primary-key column.
    pub(super) fn check_update(&self, set: &Map<String, Value>) -> Result<(), CapError> {
        for k in set.keys() {
            if self.def.primary_key.contains(&k.as_str()) {
                return Err(CapError::Invalid(format!(
                    "primary key column `{k}` cannot be updated"
                )));
            }
            self.check_column(k)?;
        }
        let mut probe = Map::new();
        for (name, ty) in self.def.columns {
            if let Some(v) = set.get(*name) {
                probe.insert((*name).to_string(), v.clone());
            } else {
                probe.insert((*name).to_string(), placeholder(*ty));
            }
        }
        self.check_row(&probe)
    }

    /// The primary key of a row, as text.
    pub(super) fn key(&self, row: &Map<String, Value>) -> Vec<Option<String>> {
        self.def
            .primary_key
            .iter()
            .map(|c| row.get(*c).and_then(as_text))
            .collect()
    }

    /// The select order of a row: integers as numbers, the rest as text.
    pub(super) fn sort_key(&self, row: &Map<String, Value>) -> Vec<(i128, String)> {
        self.order_by
            .iter()
            .map(|c| match row.get(*c) {
                Some(Value::Number(n)) => (
                    n.as_i64()
                        .map(i128::from)
                        .or(n.as_u64().map(i128::from))
                        .unwrap_or(0),
                    String::new(),
                ),
                Some(v) => (0, as_text(v).unwrap_or_default()),
                None => (0, String::new()),
            })
            .collect()
    }
}

/// A value of `ty`, to type-check the columns an update does not set.
fn placeholder(ty: ColumnType) -> Value {
    match ty {
        ColumnType::Text | ColumnType::NullableText => Value::String(String::new()),
        ColumnType::Int => Value::from(0),
        ColumnType::Sha256 => Value::String("0".repeat(64)),
    }
}
