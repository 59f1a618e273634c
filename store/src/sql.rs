//! SQL text for the plugin tables, built from [`crate::schema`] for either
//! dialect. Only schema names (never caller text) are interpolated; values
//! are always bound parameters.

use crate::schema::{ColumnType, Condition, Table};

/// Which SQL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Dialect {
    /// The `n`th (1-based) parameter placeholder.
    pub(crate) fn param(self, n: usize) -> String {
        match self {
            Self::Sqlite => format!("?{n}"),
            Self::Postgres => format!("${n}"),
        }
    }

    /// `sqlite` or `postgres` ([`crate::StoreBackend::kind`]).
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// Opens a transaction that writes (SQLite takes its write lock at once).
    pub(crate) fn begin_write(self) -> &'static str {
        match self {
            Self::Sqlite => "BEGIN IMMEDIATE",
            Self::Postgres => "BEGIN",
        }
    }

    /// Opens a transaction that only reads, on one consistent snapshot.
    pub(crate) fn begin_read(self) -> &'static str {
        match self {
            Self::Sqlite => "BEGIN DEFERRED",
            Self::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        }
    }

    /// Locks `table` against other writers until the transaction ends;
    /// `None` where the transaction already holds the database's write
    /// lock (SQLite).
    pub(crate) fn lock_table(self, table: &str) -> Option<String> {
        match self {
            Self::Sqlite => None,
            Self::Postgres => Some(format!("LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")),
        }
    }

    /// The clause a claiming sub-select ends with, so concurrent claimers
    /// skip each other's rows (SQLite has one writer at a time).
    pub(crate) fn skip_locked(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// `n` placeholders from 1, comma-separated.
    pub(crate) fn params(self, n: usize) -> String {
        (1..=n)
            .map(|i| self.param(i))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// An SQL expression: the database clock, milliseconds since the epoch.
    pub(crate) fn now_ms(self) -> &'static str {
        match self {
            Self::Sqlite => "CAST(unixepoch('subsec') * 1000 AS INTEGER)",
            Self::Postgres => "CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT)",
        }
    }
}

/// An identifier quoted for SQL (both dialects): `"name"`, an embedded
/// `"` doubled. Table and column names are also checked against a grammar
/// before they get here ([`crate::declared`]); quoting keeps them names
/// whatever they contain.
pub(crate) fn q(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quoted names, comma-separated, each with `prefix` (e.g. `t.`).
fn quoted_list<S: AsRef<str>>(names: &[S], prefix: &str) -> String {
    names
        .iter()
        .map(|n| format!("{prefix}{}", q(n.as_ref())))
        .collect::<Vec<_>>()
        .join(", ")
}

fn column_list(table: &Table) -> String {
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    quoted_list(&names, "")
}

/// `WHERE a = p1 AND b = p2 …`, numbering from `first`.
fn where_clause(dialect: Dialect, conditions: &[Condition<'_>], first: usize) -> String {
    let parts: Vec<String> = conditions
        .iter()
        .enumerate()
        .map(|(i, (c, _))| format!("{} = {}", q(&c.name), dialect.param(first + i)))
        .collect();
    format!("WHERE {}", parts.join(" AND "))
}

/// Every column of the matching rows, in `select_order`.
pub(crate) fn select(dialect: Dialect, table: &Table, conditions: &[Condition<'_>]) -> String {
    format!(
        "SELECT {} FROM {} {} ORDER BY {}",
        column_list(table),
        q(&table.name),
        where_clause(dialect, conditions, 1),
        quoted_list(&table.select_order, "")
    )
}

/// Every column of one document's rows, in primary-key order (the digest).
pub(crate) fn select_document(dialect: Dialect, table: &Table) -> String {
    format!(
        "SELECT {} FROM {} WHERE {} = {} ORDER BY {}",
        column_list(table),
        q(&table.name),
        q(crate::schema::SCOPE_COLUMN),
        dialect.param(1),
        quoted_list(&table.primary_key, "")
    )
}

/// The number of matching rows.
pub(crate) fn count(dialect: Dialect, table: &Table, conditions: &[Condition<'_>]) -> String {
    format!(
        "SELECT COUNT(*) FROM {} {}",
        q(&table.name),
        where_clause(dialect, conditions, 1)
    )
}

/// Set the columns of `set` (parameters first), then the conditions.
pub(crate) fn update(
    dialect: Dialect,
    table: &Table,
    set: &[Condition<'_>],
    conditions: &[Condition<'_>],
) -> String {
    let sets: Vec<String> = set
        .iter()
        .enumerate()
        .map(|(i, (c, _))| format!("{} = {}", q(&c.name), dialect.param(i + 1)))
        .collect();
    format!(
        "UPDATE {} SET {} {}",
        q(&table.name),
        sets.join(", "),
        where_clause(dialect, conditions, set.len() + 1)
    )
}

/// Delete the matching rows.
pub(crate) fn delete(dialect: Dialect, table: &Table, conditions: &[Condition<'_>]) -> String {
    format!(
        "DELETE FROM {} {}",
        q(&table.name),
        where_clause(dialect, conditions, 1)
    )
}

/// Insert one row (all columns, schema order), skipping a key conflict.
pub(crate) fn insert_one(dialect: Dialect, table: &Table) -> String {
    format!(
        "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING",
        q(&table.name),
        column_list(table),
        dialect.params(table.columns.len())
    )
}

/// Every column of the row with the given key (key columns as parameters).
pub(crate) fn select_by_key(dialect: Dialect, table: &Table) -> String {
    let parts: Vec<String> = table
        .primary_key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{} = {}", q(k), dialect.param(i + 1)))
        .collect();
    format!(
        "SELECT {} FROM {} WHERE {}",
        column_list(table),
        q(&table.name),
        parts.join(" AND ")
    )
}

/// The PostgreSQL array type a column is sent as.
pub(crate) fn pg_array_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Int | ColumnType::NullableInt => "bigint[]",
        ColumnType::Text | ColumnType::NullableText => "text[]",
        ColumnType::Sha256 => "bytea[]",
    }
}

/// PostgreSQL: insert many rows from one array parameter per column,
/// skipping key conflicts, returning the keys inserted.
pub(crate) fn pg_insert_many(table: &Table) -> String {
    let arrays: Vec<String> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("${}::{}", i + 1, pg_array_type(c.ty)))
        .collect();
    format!(
        "INSERT INTO {} ({}) SELECT * FROM unnest({}) ON CONFLICT DO NOTHING RETURNING {}",
        q(&table.name),
        column_list(table),
        arrays.join(", "),
        quoted_list(&table.primary_key, "")
    )
}

/// PostgreSQL: every column of the rows whose keys are given as one array
/// parameter per key column (typed as the key column is).
pub(crate) fn pg_select_keys(table: &Table) -> String {
    let key_types = table.key_types();
    let arrays: Vec<String> = key_types
        .iter()
        .enumerate()
        .map(|(i, ty)| format!("${}::{}", i + 1, pg_array_type(*ty)))
        .collect();
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    let join: Vec<String> = table
        .primary_key
        .iter()
        .zip(&key_types)
        .map(|(k, ty)| {
            let collate = match ty {
                ColumnType::Text | ColumnType::NullableText => " COLLATE \"C\"",
                _ => "",
            };
            format!("t.{} = k.{}{collate}", q(k), q(k))
        })
        .collect();
    format!(
        "SELECT {} FROM {} t JOIN unnest({}) AS k({}) ON {}",
        quoted_list(&names, "t."),
        q(&table.name),
        arrays.join(", "),
        quoted_list(&table.primary_key, ""),
        join.join(" AND ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{SqlValue, table};

    #[test]
    fn identifiers_are_quoted_with_quotes_doubled() {
        assert_eq!(q("rows"), "\"rows\"");
        assert_eq!(q("a\"; DROP TABLE x; --"), "\"a\"\"; DROP TABLE x; --\"");
    }

    #[test]
    fn statements_name_schema_columns_only() {
        let t = table("units").expect("table");
        let c = t.column("document_id").expect("column");
        let cond = vec![(c, SqlValue::Text("x".into()))];
        assert_eq!(
            select(Dialect::Postgres, t, &cond),
            "SELECT \"document_id\", \"version\", \"eid\", \"parent_eid\", \"kind\", \"ordinal\", \
             \"number\", \"heading\", \"text\", \"text_sha\", \"seq\", \"status\" FROM \"units\" \
             WHERE \"document_id\" = $1 ORDER BY \"document_id\", \"version\", \"seq\", \"eid\""
        );
        let set = vec![(
            t.column("status").expect("c"),
            SqlValue::Text("retired".into()),
        )];
        assert_eq!(
            update(Dialect::Sqlite, t, &set, &cond),
            "UPDATE \"units\" SET \"status\" = ?1 WHERE \"document_id\" = ?2"
        );
    }
}
