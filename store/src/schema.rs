//! The plugin tables: columns, types and keys, shared by both backends and
//! used to validate every plugin-facing call before any SQL runs.

use std::sync::LazyLock;

use serde_json::Value;

use crate::{Row, Scope, StoreError};

/// The type of a column as plugins see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// TEXT NOT NULL ↔ JSON string.
    Text,
    /// INTEGER (64-bit) NOT NULL ↔ JSON integer.
    Int,
    /// TEXT, nullable ↔ JSON string or null.
    NullableText,
    /// INTEGER (64-bit), nullable ↔ JSON integer or null.
    NullableInt,
    /// A SHA-256 digest, NOT NULL: stored as its 32 bytes (SQLite BLOB,
    /// PostgreSQL `bytea`) ↔ JSON string of 64 lowercase hex digits (the
    /// only form accepted: one digest has one spelling).
    Sha256,
}

impl ColumnType {
    /// True for the nullable types.
    pub fn nullable(self) -> bool {
        matches!(self, Self::NullableText | Self::NullableInt)
    }

    /// True for the integer types.
    pub fn is_int(self) -> bool {
        matches!(self, Self::Int | Self::NullableInt)
    }
}

/// One column of a plugin table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: ColumnType,
    /// The only values allowed (empty: any value of the type).
    pub allowed: Vec<String>,
}

/// One plugin table: one of iu-cut's built-in ones ([`PLUGIN_TABLES`]) or
/// one a plan declares ([`crate::declared`]); both are validated, scoped
/// and written through the same code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// Its columns, in schema order (the order rows are digested in).
    pub columns: Vec<Column>,
    /// The primary-key columns, in key order.
    pub primary_key: Vec<String>,
    /// The order `select` returns rows in (a superset of a unique key).
    pub select_order: Vec<String>,
}

const STATUS: &[&str] = &["staged", "in_force", "retired"];

fn column(name: &str, ty: ColumnType) -> Column {
    Column {
        name: name.to_string(),
        ty,
        allowed: Vec::new(),
    }
}

fn text(name: &str) -> Column {
    column(name, ColumnType::Text)
}

fn int(name: &str) -> Column {
    column(name, ColumnType::Int)
}

fn sha256(name: &str) -> Column {
    column(name, ColumnType::Sha256)
}

fn nullable(name: &str) -> Column {
    column(name, ColumnType::NullableText)
}

fn status() -> Column {
    Column {
        allowed: STATUS.iter().map(|s| s.to_string()).collect(),
        ..text("status")
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn built_in(name: &str, columns: Vec<Column>, key: &[&str], order: &[&str]) -> Table {
    Table {
        name: name.to_string(),
        columns,
        primary_key: names(key),
        select_order: names(order),
    }
}

/// The column every plugin table is scoped by.
pub const SCOPE_COLUMN: &str = "document_id";

/// The built-in tables plugins can be granted (iu-cut's), in digest order.
pub static PLUGIN_TABLES: LazyLock<Vec<Table>> = LazyLock::new(|| {
    vec![
        built_in(
            "documents",
            vec![text("document_id"), text("title"), text("first_seen_run")],
            &["document_id"],
            &["document_id"],
        ),
        built_in(
            "source_versions",
            vec![
                text("document_id"),
                text("version"),
                int("seq"),
                sha256("raw_sha256"),
                sha256("normalized_sha256"),
                int("raw_bytes"),
                int("normalized_bytes"),
                int("chars"),
                status(),
            ],
            &["document_id", "version"],
            &["document_id", "version"],
        ),
        built_in(
            "units",
            vec![
                text("document_id"),
                text("version"),
                text("eid"),
                nullable("parent_eid"),
                text("kind"),
                int("ordinal"),
                text("number"),
                text("heading"),
                text("text"),
                sha256("text_sha"),
                int("seq"),
                status(),
            ],
            &["document_id", "version", "eid"],
            &["document_id", "version", "seq", "eid"],
        ),
        built_in(
            "envelopes",
            vec![
                text("envelope_id"),
                text("document_id"),
                text("version"),
                text("eid"),
                sha256("text_sha"),
                sha256("plan_digest"),
                sha256("source_sha256"),
            ],
            &["document_id", "envelope_id"],
            &["document_id", "envelope_id"],
        ),
    ]
});

/// Tables only the host reaches (never through the plugin-facing calls).
pub const HOST_TABLES: &[&str] = &[
    "runs",
    "consumed_approvals",
    "runs_index",
    "queue",
    "run_checkpoints",
    "schema_version",
];

/// The built-in plugin table `name`; host-only and unknown tables are
/// [`StoreError::UnknownTable`].
pub fn table(name: &str) -> Result<&'static Table, StoreError> {
    lookup(&[], name)
}

/// The plugin table `name`: a built-in one, else one of `declared`;
/// host-only and unknown tables are [`StoreError::UnknownTable`].
pub fn lookup<'a>(declared: &'a [Table], name: &str) -> Result<&'a Table, StoreError> {
    PLUGIN_TABLES
        .iter()
        .chain(declared)
        .find(|t| t.name == name)
        .ok_or_else(|| StoreError::UnknownTable(name.to_string()))
}

/// A typed SQL value (a bound parameter or a cell read back).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SqlValue {
    /// NULL.
    Null,
    /// TEXT.
    Text(String),
    /// A 64-bit INTEGER.
    Int(i64),
    /// A SHA-256 digest's 32 bytes (a BLOB / `bytea`).
    Sha256([u8; 32]),
}

impl SqlValue {
    /// The JSON form plugins see.
    pub(crate) fn to_json(&self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Text(s) => Value::String(s.clone()),
            Self::Int(i) => Value::from(*i),
            Self::Sha256(d) => Value::String(hex::encode(d)),
        }
    }

    /// Text for messages (keys are all text).
    fn display(&self) -> String {
        match self {
            Self::Null => "null".into(),
            Self::Text(s) => s.clone(),
            Self::Int(i) => i.to_string(),
            Self::Sha256(d) => hex::encode(d),
        }
    }

    /// A digest's 32 bytes from its only accepted spelling: 64 lowercase
    /// hex digits.
    pub(crate) fn sha256_of(hex_digits: &str) -> Option<Self> {
        let canonical = hex_digits.len() == 64
            && hex_digits
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let mut out = [0u8; 32];
        (canonical && hex::decode_to_slice(hex_digits, &mut out).is_ok())
            .then_some(Self::Sha256(out))
    }

    /// A digest's 64 lowercase hex digits, without allocating (the JSON a
    /// `select` writes and the document digest, per value).
    pub(crate) fn hex_digits(digest: &[u8; 32]) -> [u8; 64] {
        let mut out = [0u8; 64];
        hex::encode_to_slice(digest, &mut out).expect("64 hex digits for 32 bytes");
        out
    }

    /// A digest read back from a column: exactly 32 bytes.
    pub(crate) fn sha256_from_bytes(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self::Sha256)
    }
}

impl From<&str> for SqlValue {
    fn from(s: &str) -> Self {
        Self::Text(s.to_string())
    }
}

impl From<Option<&str>> for SqlValue {
    fn from(s: Option<&str>) -> Self {
        s.map_or(Self::Null, Self::from)
    }
}

impl From<i64> for SqlValue {
    fn from(i: i64) -> Self {
        Self::Int(i)
    }
}

/// An equality condition on a column.
pub(crate) type Condition<'a> = (&'a Column, SqlValue);

/// Checks the scope names a document.
pub(crate) fn check_scope(scope: &Scope) -> Result<(), StoreError> {
    if scope.document_id.is_empty() {
        return Err(StoreError::Invalid("the scope names no document".into()));
    }
    Ok(())
}

impl Table {
    /// The column `name`, or [`StoreError::UnknownColumn`].
    pub fn column(&self, name: &str) -> Result<&Column, StoreError> {
        self.columns
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| StoreError::UnknownColumn {
                table: self.name.to_string(),
                column: name.to_string(),
            })
    }

    /// The column types, in schema order (what a row is read as).
    pub(crate) fn column_types(&self) -> Vec<ColumnType> {
        self.columns.iter().map(|c| c.ty).collect()
    }

    /// True when `name` is a primary-key column.
    pub fn is_key(&self, name: &str) -> bool {
        self.primary_key.iter().any(|k| k == name)
    }

    /// The types of the primary-key columns, in key order.
    pub(crate) fn key_types(&self) -> Vec<ColumnType> {
        self.key_indexes()
            .into_iter()
            .map(|i| self.columns[i].ty)
            .collect()
    }

    /// Indexes (into `columns`) of the primary-key columns, in key order.
    pub(crate) fn key_indexes(&self) -> Vec<usize> {
        self.primary_key
            .iter()
            .map(|k| {
                self.columns
                    .iter()
                    .position(|c| c.name == **k)
                    .expect("a key column is a column")
            })
            .collect()
    }

    /// Checks one JSON value against a column.
    fn value(&self, column: &Column, value: &Value) -> Result<SqlValue, StoreError> {
        let typed = match (column.ty, value) {
            (ColumnType::Text | ColumnType::NullableText, Value::String(s)) => {
                SqlValue::Text(s.clone())
            }
            (ColumnType::NullableText | ColumnType::NullableInt, Value::Null) => SqlValue::Null,
            (ColumnType::Sha256, Value::String(s)) => SqlValue::sha256_of(s).ok_or_else(|| {
                StoreError::Invalid(format!(
                    "`{}.{}` must be a sha256 as 64 lowercase hex digits, got {} characters",
                    self.name,
                    column.name,
                    s.chars().count()
                ))
            })?,
            (ColumnType::Int | ColumnType::NullableInt, Value::Number(n)) => match n.as_i64() {
                Some(i) => SqlValue::Int(i),
                None => {
                    return Err(StoreError::Invalid(format!(
                        "`{}.{}` must be a 64-bit integer, got {n}",
                        self.name, column.name
                    )));
                }
            },
            (ty, other) => {
                let want = match ty {
                    ColumnType::Text => "a string",
                    ColumnType::Int => "an integer",
                    ColumnType::NullableText => "a string or null",
                    ColumnType::NullableInt => "an integer or null",
                    ColumnType::Sha256 => "a sha256 (a string of 64 hex digits)",
                };
                return Err(StoreError::Invalid(format!(
                    "`{}.{}` must be {want}, got {}",
                    self.name,
                    column.name,
                    json_kind(other)
                )));
            }
        };
        if let SqlValue::Text(s) = &typed
            && s.contains('\0')
        {
            return Err(StoreError::Invalid(format!(
                "`{}.{}` must not contain a NUL character",
                self.name, column.name
            )));
        }
        if let SqlValue::Text(s) = &typed
            && !column.allowed.is_empty()
            && !column.allowed.iter().any(|a| a == s)
        {
            return Err(StoreError::Invalid(format!(
                "`{}.{}` must be one of {}, got `{s}`",
                self.name,
                column.name,
                column.allowed.join(", ")
            )));
        }
        Ok(typed)
    }

    /// Validates a row to insert: every column known, typed, every non-null
    /// column present; `document_id` set from the scope (a different one is
    /// refused). Returns the values in schema order.
    pub(crate) fn row_values(&self, scope: &Scope, row: &Row) -> Result<Vec<SqlValue>, StoreError> {
        for name in row.keys() {
            self.column(name)?;
        }
        let mut values = Vec::with_capacity(self.columns.len());
        for column in &self.columns {
            let value = if column.name == SCOPE_COLUMN {
                match row.get(SCOPE_COLUMN) {
                    None => {}
                    Some(Value::String(d)) if *d == scope.document_id => {}
                    Some(other) => {
                        return Err(StoreError::Invalid(format!(
                            "a row for `{}` names document {other}, not the run's document",
                            self.name
                        )));
                    }
                }
                SqlValue::Text(scope.document_id.clone())
            } else {
                match row.get(&column.name) {
                    Some(value) => self.value(column, value)?,
                    None if column.ty.nullable() => SqlValue::Null,
                    None => {
                        return Err(StoreError::Invalid(format!(
                            "a row for `{}` lacks `{}`",
                            self.name, column.name
                        )));
                    }
                }
            };
            values.push(value);
        }
        Ok(values)
    }

    /// Validates the columns an update sets: known, typed, not part of the
    /// primary key, at least one.
    pub(crate) fn set_values(&self, set: &Row) -> Result<Vec<Condition<'_>>, StoreError> {
        if set.is_empty() {
            return Err(StoreError::Invalid(format!(
                "an update of `{}` sets no column",
                self.name
            )));
        }
        let mut values = Vec::with_capacity(set.len());
        for (name, value) in set {
            let column = self.column(name)?;
            if self.is_key(name) {
                return Err(StoreError::Invalid(format!(
                    "`{}.{name}` is part of the primary key and cannot be updated",
                    self.name
                )));
            }
            values.push((column, self.value(column, value)?));
        }
        Ok(values)
    }

    /// The scope condition followed by the filters, typed. `None` when the
    /// filters can never match (values are compared as text: an integer
    /// column only matches its canonical decimal form).
    pub(crate) fn conditions(
        &self,
        scope: &Scope,
        filters: &[(String, String)],
    ) -> Result<Option<Vec<Condition<'_>>>, StoreError> {
        check_scope(scope)?;
        let scope_column = self.column(SCOPE_COLUMN)?;
        let mut conditions = vec![(scope_column, SqlValue::Text(scope.document_id.clone()))];
        let mut never = false;
        for (name, value) in filters {
            let column = self.column(name)?;
            if column.name == SCOPE_COLUMN {
                never |= *value != scope.document_id;
                continue;
            }
            match column.ty {
                // No stored text contains NUL (PostgreSQL cannot hold it).
                ColumnType::Text | ColumnType::NullableText if value.contains('\0') => never = true,
                ColumnType::Text | ColumnType::NullableText => {
                    conditions.push((column, SqlValue::Text(value.clone())));
                }
                ColumnType::Int | ColumnType::NullableInt => match value.parse::<i64>() {
                    Ok(i) if i.to_string() == *value => conditions.push((column, SqlValue::Int(i))),
                    _ => never = true,
                },
                // Only the canonical spelling is stored: any other matches
                // nothing, as for integers.
                ColumnType::Sha256 => match SqlValue::sha256_of(value) {
                    Some(digest) => conditions.push((column, digest)),
                    None => never = true,
                },
            }
        }
        Ok((!never).then_some(conditions))
    }

    /// The row as JSON, from values in schema order.
    pub(crate) fn row_json(&self, values: &[SqlValue]) -> Row {
        self.columns
            .iter()
            .zip(values)
            .map(|(c, v)| (c.name.clone(), v.to_json()))
            .collect()
    }

    /// `table (k1=v1, k2=v2)` for messages.
    pub(crate) fn describe_key(&self, values: &[SqlValue]) -> String {
        let parts: Vec<String> = self
            .key_indexes()
            .into_iter()
            .map(|i| format!("{}={}", self.columns[i].name, values[i].display()))
            .collect();
        format!("`{}` ({})", self.name, parts.join(", "))
    }

    /// The key values of a row (schema-ordered values).
    pub(crate) fn key_of(&self, values: &[SqlValue]) -> Vec<SqlValue> {
        self.key_indexes()
            .into_iter()
            .map(|i| values[i].clone())
            .collect()
    }
}

/// Writes rows of one table as the JSON text `serde_json::to_string` makes
/// of [`Table::row_json`]'s map, without building the map: the keys in the
/// order a [`Row`] holds them (asked of a `Row` once, so it holds whether or
/// not serde_json preserves insertion order), each escaped once up front.
pub(crate) struct JsonRows {
    /// `(column index, "\"name\":")` in the map's key order.
    keys: Vec<(usize, String)>,
}

impl JsonRows {
    pub(crate) fn new(table: &Table) -> Self {
        let map: Row = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), Value::from(i)))
            .collect();
        let keys = map
            .iter()
            .map(|(name, index)| {
                let key = serde_json::to_string(name).expect("a string serializes");
                (
                    index.as_u64().expect("an index") as usize,
                    format!("{key}:"),
                )
            })
            .collect();
        Self { keys }
    }

    /// One row (schema-ordered values) as JSON text.
    pub(crate) fn row(&self, values: &[SqlValue]) -> String {
        let mut out = Vec::with_capacity(64);
        out.push(b'{');
        for (n, (i, key)) in self.keys.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key.as_bytes());
            match &values[*i] {
                SqlValue::Null => out.extend_from_slice(b"null"),
                SqlValue::Text(s) => {
                    serde_json::to_writer(&mut out, s).expect("a string serializes")
                }
                SqlValue::Int(v) => out.extend_from_slice(v.to_string().as_bytes()),
                SqlValue::Sha256(d) => {
                    out.push(b'"');
                    out.extend_from_slice(&SqlValue::hex_digits(d));
                    out.push(b'"');
                }
            }
        }
        out.push(b'}');
        String::from_utf8(out).expect("JSON text is UTF-8")
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> Scope {
        Scope {
            document_id: "d1".into(),
        }
    }

    fn row(v: Value) -> Row {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn host_tables_are_unknown() {
        for name in HOST_TABLES {
            assert!(matches!(table(name), Err(StoreError::UnknownTable(_))));
        }
        assert!(table("documents").is_ok());
    }

    #[test]
    fn every_key_and_order_column_exists() {
        for t in PLUGIN_TABLES.iter() {
            for k in t.primary_key.iter().chain(&t.select_order) {
                t.column(k).expect("key column");
            }
            assert_eq!(t.column(SCOPE_COLUMN).expect("scoped").ty, ColumnType::Text);
        }
    }

    #[test]
    fn rows_are_typed_and_scoped() {
        let t = table("documents").expect("table");
        let ok = t
            .row_values(&scope(), &row(json!({"title": "T", "first_seen_run": "r"})))
            .expect("valid");
        assert_eq!(ok[0], SqlValue::Text("d1".into()));
        let other = t.row_values(
            &scope(),
            &row(json!({"document_id": "d2", "title": "T", "first_seen_run": "r"})),
        );
        assert!(matches!(other, Err(StoreError::Invalid(_))));
        let missing = t.row_values(&scope(), &row(json!({"title": "T"})));
        assert!(matches!(missing, Err(StoreError::Invalid(_))));
        let unknown = t.row_values(&scope(), &row(json!({"nope": 1})));
        assert!(matches!(unknown, Err(StoreError::UnknownColumn { .. })));
        let wrong = t.row_values(&scope(), &row(json!({"title": 1, "first_seen_run": "r"})));
        assert!(matches!(wrong, Err(StoreError::Invalid(_))));
    }

    #[test]
    fn int_filters_match_only_canonical_text() {
        let t = table("units").expect("table");
        let f = |v: &str| {
            t.conditions(&scope(), &[("seq".into(), v.into())])
                .expect("known")
        };
        assert!(f("5").is_some());
        assert!(f("-5").is_some());
        assert!(f("+5").is_none());
        assert!(f("05").is_none());
        assert!(f("x").is_none());
    }

    #[test]
    fn keys_cannot_be_set() {
        let t = table("units").expect("table");
        assert!(matches!(
            t.set_values(&row(json!({"eid": "x"}))),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            t.set_values(&row(json!({"status": "bogus"}))),
            Err(StoreError::Invalid(_))
        ));
        assert!(t.set_values(&row(json!({"status": "retired"}))).is_ok());
    }
}
