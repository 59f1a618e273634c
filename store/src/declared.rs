//! Plugin-declared tables: the tables a plan declares for its plugin set
//! (`[[tables]]`), checked against a grammar and the names the host keeps
//! for itself, turned into the same [`Table`] description the built-in
//! tables use, created (`CREATE TABLE`, never `ALTER` or `DROP`) and
//! compared with what the database holds.
//!
//! A plan author is trusted with which tables exist, not with SQL: no text
//! of a declaration reaches the database except a name that matched
//! `[a-z][a-z0-9_]{0,47}`, and then quoted ([`crate::sql::q`]).

use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::schema::{self, Column, ColumnType, SCOPE_COLUMN, Table};
use crate::sql::{Dialect, q};

/// The longest table or column name, in bytes.
pub const MAX_NAME_BYTES: usize = 48;
/// The most columns a declared table may have (the host's `document_id`
/// not counted).
pub const MAX_COLUMNS: usize = 64;
/// The most tables a plan may declare.
pub const MAX_TABLES: usize = 32;
/// Name prefixes the databases keep for themselves.
const RESERVED_PREFIXES: &[&str] = &["sqlite_", "pg_"];

/// One `[[tables]]` entry of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableDecl {
    /// The table's name.
    pub name: String,
    /// Its columns, in order (`document_id` is added first by the host).
    pub columns: Vec<ColumnDecl>,
    /// The primary-key columns, in key order (`document_id` is added first
    /// by the host).
    pub primary_key: Vec<String>,
}

/// One column of a declared table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnDecl {
    /// The column's name.
    pub name: String,
    /// `text` or `int`.
    #[serde(rename = "type")]
    pub ty: DeclType,
    /// Whether it may hold NULL (default false).
    #[serde(default)]
    pub nullable: bool,
}

/// The type of a declared column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeclType {
    /// Text (UTF-8, no NUL) ↔ JSON string.
    Text,
    /// 64-bit integer ↔ JSON integer.
    Int,
}

/// Checks a table or column name: `[a-z][a-z0-9_]{0,47}`.
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    let shown: String = name.chars().take(MAX_NAME_BYTES + 8).collect();
    let mut bytes = name.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_lowercase());
    let rest_ok = bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !first_ok || !rest_ok || name.len() > MAX_NAME_BYTES {
        return Err(format!(
            "{what} name {shown:?} must match [a-z][a-z0-9_]* and be at most {MAX_NAME_BYTES} bytes"
        ));
    }
    Ok(())
}

/// Why a table name is the host's or a database's, if it is.
fn reserved(name: &str) -> Option<String> {
    if schema::HOST_TABLES.contains(&name) {
        return Some("a host table".into());
    }
    if schema::PLUGIN_TABLES.iter().any(|t| t.name == name) {
        return Some("one of iu-cut's built-in tables".into());
    }
    RESERVED_PREFIXES
        .iter()
        .find(|p| name.starts_with(**p))
        .map(|p| format!("under the prefix `{p}` the database keeps for itself"))
}

impl TableDecl {
    /// The table this declares: checked, with `document_id` added first to
    /// its columns and key; selected in key order.
    pub fn table(&self) -> Result<Table, String> {
        check_name("table", &self.name)?;
        let at = format!("table `{}`", self.name);
        if let Some(why) = reserved(&self.name) {
            return Err(format!("{at}: the name is {why}; pick another"));
        }
        if self.columns.is_empty() || self.columns.len() > MAX_COLUMNS {
            return Err(format!(
                "{at}: it must have between 1 and {MAX_COLUMNS} columns, has {}",
                self.columns.len()
            ));
        }
        let mut columns = vec![Column {
            name: SCOPE_COLUMN.into(),
            ty: ColumnType::Text,
            allowed: Vec::new(),
        }];
        for c in &self.columns {
            check_name(&format!("{at}: column"), &c.name)?;
            if c.name == SCOPE_COLUMN {
                return Err(format!(
                    "{at}: `{SCOPE_COLUMN}` is added by the host (every row is scoped to the run's document); do not declare it"
                ));
            }
            if columns.iter().any(|k| k.name == c.name) {
                return Err(format!("{at}: column `{}` appears twice", c.name));
            }
            let ty = match (c.ty, c.nullable) {
                (DeclType::Text, false) => ColumnType::Text,
                (DeclType::Text, true) => ColumnType::NullableText,
                (DeclType::Int, false) => ColumnType::Int,
                (DeclType::Int, true) => ColumnType::NullableInt,
            };
            columns.push(Column {
                name: c.name.clone(),
                ty,
                allowed: Vec::new(),
            });
        }
        if self.primary_key.is_empty() {
            return Err(format!(
                "{at}: primary_key is empty; name the column(s) that identify a row (`{SCOPE_COLUMN}` is added first by the host)"
            ));
        }
        let mut key = vec![SCOPE_COLUMN.to_string()];
        for k in &self.primary_key {
            let Some(column) = columns.iter().find(|c| c.name == *k) else {
                return Err(format!(
                    "{at}: primary_key names `{}`, which is not one of its columns",
                    k.chars().take(MAX_NAME_BYTES + 8).collect::<String>()
                ));
            };
            if k == SCOPE_COLUMN || key.contains(k) {
                return Err(format!("{at}: primary_key names `{k}` twice"));
            }
            if column.ty.nullable() {
                return Err(format!("{at}: primary-key column `{k}` cannot be nullable"));
            }
            key.push(k.clone());
        }
        Ok(Table {
            name: self.name.clone(),
            columns,
            select_order: key.clone(),
            primary_key: key,
        })
    }
}

/// The tables `decls` declare, each checked, no name twice.
pub fn tables(decls: &[TableDecl]) -> Result<Vec<Table>, String> {
    if decls.len() > MAX_TABLES {
        return Err(format!(
            "{} tables are declared; at most {MAX_TABLES} may be",
            decls.len()
        ));
    }
    let mut out: Vec<Table> = Vec::with_capacity(decls.len());
    for decl in decls {
        let table = decl.table()?;
        if out.iter().any(|t| t.name == table.name) {
            return Err(format!("table `{}` is declared twice", table.name));
        }
        out.push(table);
    }
    Ok(out)
}

/// What [`crate::StoreBackend::declare_tables`] did with one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Declared {
    /// The table.
    pub table: String,
    /// True when it was created now; false when it existed with the
    /// declared shape.
    pub created: bool,
}

/// One column as the database holds it (or as a declaration wants it):
/// its name, its type (`text`, `int`, or the database's own name for any
/// other), whether it is NOT NULL, and its position in the primary key
/// (1-based; 0 when not part of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeColumn {
    /// The name.
    pub name: String,
    /// `text`, `int`, or the database's type name.
    pub ty: String,
    /// NOT NULL.
    pub not_null: bool,
    /// 1-based position in the primary key; 0 when not a key column.
    pub key_position: i64,
}

/// What the database holds under a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Nothing.
    Nothing,
    /// Something that is not a table (a view, an index, …): its kind.
    NotATable(String),
    /// A table with these columns, in order.
    Table(Vec<ShapeColumn>),
}

/// The shape `table` has when created by [`create_sql`].
pub(crate) fn expected_shape(table: &Table) -> Vec<ShapeColumn> {
    table
        .columns
        .iter()
        .map(|c| ShapeColumn {
            name: c.name.clone(),
            ty: if c.ty.is_int() { "int" } else { "text" }.into(),
            not_null: !c.ty.nullable(),
            key_position: table
                .primary_key
                .iter()
                .position(|k| *k == c.name)
                .map_or(0, |p| p as i64 + 1),
        })
        .collect()
}

fn describe(c: &ShapeColumn) -> String {
    let null = if c.not_null { "not null" } else { "nullable" };
    let key = if c.key_position > 0 {
        format!(", key #{}", c.key_position)
    } else {
        String::new()
    };
    format!("`{}` {} {null}{key}", c.name, c.ty)
}

/// Nothing when the database's `found` is the shape `table` declares;
/// otherwise the refusal, naming the first difference.
pub(crate) fn check_shape(table: &Table, found: &Found) -> Result<(), StoreError> {
    let at = format!("table `{}`", table.name);
    let never = "phasehost never alters, drops or migrates a declared table: \
                 rename the table in the plan, or have the store's owner move the existing one aside";
    let columns = match found {
        Found::Nothing => return Ok(()),
        Found::NotATable(kind) => {
            return Err(StoreError::Conflict(format!(
                "{at}: the store already has a {kind} of that name; {never}"
            )));
        }
        Found::Table(columns) => columns,
    };
    let want = expected_shape(table);
    let difference = want
        .iter()
        .zip(columns)
        .find(|(w, f)| w != f)
        .map(|(w, f)| format!("declared {}, found {}", describe(w), describe(f)))
        .or_else(|| {
            (want.len() != columns.len()).then(|| {
                format!(
                    "declared {} column(s) ({} with `{SCOPE_COLUMN}`), found {}",
                    want.len() - 1,
                    want.len(),
                    columns.len()
                )
            })
        });
    match difference {
        None => Ok(()),
        Some(d) => Err(StoreError::Conflict(format!(
            "{at} exists with a different shape than the plan declares ({d}); its rows are left as they are; {never}"
        ))),
    }
}

/// `CREATE TABLE` for a declared table: quoted names, the types of the
/// built-in tables (SQLite STRICT; PostgreSQL text in the "C" collation).
pub(crate) fn create_sql(dialect: Dialect, table: &Table) -> String {
    let mut parts: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            let ty = match (dialect, c.ty.is_int()) {
                (Dialect::Sqlite, true) => "INTEGER",
                (Dialect::Sqlite, false) => "TEXT",
                (Dialect::Postgres, true) => "BIGINT",
                (Dialect::Postgres, false) => "TEXT COLLATE \"C\"",
            };
            let null = if c.ty.nullable() { "" } else { " NOT NULL" };
            format!("{} {ty}{null}", q(&c.name))
        })
        .collect();
    let key: Vec<String> = table.primary_key.iter().map(|k| q(k)).collect();
    parts.push(format!("PRIMARY KEY ({})", key.join(", ")));
    let strict = match dialect {
        Dialect::Sqlite => " STRICT",
        Dialect::Postgres => "",
    };
    format!(
        "CREATE TABLE {} ({}){strict}",
        q(&table.name),
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(name: &str) -> TableDecl {
        TableDecl {
            name: name.into(),
            columns: vec![
                ColumnDecl {
                    name: "seq".into(),
                    ty: DeclType::Int,
                    nullable: false,
                },
                ColumnDecl {
                    name: "note".into(),
                    ty: DeclType::Text,
                    nullable: true,
                },
            ],
            primary_key: vec!["seq".into()],
        }
    }

    #[test]
    fn a_declaration_becomes_a_scoped_table() {
        let t = decl("rows").table().expect("valid");
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["document_id", "seq", "note"]);
        assert_eq!(t.primary_key, ["document_id", "seq"]);
        assert_eq!(t.columns[2].ty, ColumnType::NullableText);
        assert_eq!(
            create_sql(Dialect::Sqlite, &t),
            "CREATE TABLE \"rows\" (\"document_id\" TEXT NOT NULL, \"seq\" INTEGER NOT NULL, \
             \"note\" TEXT, PRIMARY KEY (\"document_id\", \"seq\")) STRICT"
        );
    }

    #[test]
    fn hostile_and_reserved_names_are_refused() {
        let long = "a".repeat(MAX_NAME_BYTES + 1);
        for bad in [
            "\"; DROP TABLE units; --",
            "rows\"",
            "ro'ws",
            "Rows",
            "rows ",
            "1rows",
            "_rows",
            "",
            "rôws",
            "rows\u{200b}",
            long.as_str(),
        ] {
            let err = decl(bad).table().expect_err(bad);
            assert!(err.contains("must match [a-z]"), "{bad}: {err}");
        }
        decl(&"a".repeat(MAX_NAME_BYTES))
            .table()
            .expect("48 bytes is fine");
        for taken in [
            "units",
            "documents",
            "runs",
            "queue",
            "runs_index",
            "schema_version",
        ] {
            let err = decl(taken).table().expect_err(taken);
            assert!(err.contains("pick another"), "{taken}: {err}");
        }
        for db in ["sqlite_master", "pg_class"] {
            let err = decl(db).table().expect_err(db);
            assert!(err.contains("keeps for itself"), "{db}: {err}");
        }
    }

    #[test]
    fn bad_columns_and_keys_are_refused() {
        let mut d = decl("rows");
        d.columns[0].name = "a\"b".into();
        assert!(d.table().unwrap_err().contains("column name"));
        let mut d = decl("rows");
        d.columns[1].name = "document_id".into();
        assert!(d.table().unwrap_err().contains("added by the host"));
        let mut d = decl("rows");
        d.columns[1].name = "seq".into();
        assert!(d.table().unwrap_err().contains("appears twice"));
        let mut d = decl("rows");
        d.primary_key = vec!["nope".into()];
        assert!(d.table().unwrap_err().contains("not one of its columns"));
        let mut d = decl("rows");
        d.primary_key = vec!["note".into()];
        assert!(d.table().unwrap_err().contains("cannot be nullable"));
        let mut d = decl("rows");
        d.primary_key = vec!["seq".into(), "seq".into()];
        assert!(d.table().unwrap_err().contains("twice"));
        let mut d = decl("rows");
        d.primary_key.clear();
        assert!(d.table().unwrap_err().contains("primary_key is empty"));
        let err = tables(&[decl("rows"), decl("rows")]).unwrap_err();
        assert!(err.contains("declared twice"), "{err}");
    }

    #[test]
    fn a_different_shape_is_a_conflict_naming_the_difference() {
        let t = decl("rows").table().expect("valid");
        let mut found = expected_shape(&t);
        assert!(check_shape(&t, &Found::Table(found.clone())).is_ok());
        assert!(check_shape(&t, &Found::Nothing).is_ok());
        found[1].ty = "text".into();
        let err = check_shape(&t, &Found::Table(found.clone())).unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("`seq` int not null")),
            "{err}"
        );
        found[1].ty = "int".into();
        found.pop();
        let err = check_shape(&t, &Found::Table(found)).unwrap_err();
        assert!(err.to_string().contains("found 2"), "{err}");
        let err = check_shape(&t, &Found::NotATable("view".into())).unwrap_err();
        assert!(err.to_string().contains("a view of that name"), "{err}");
    }
}
