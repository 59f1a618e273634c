//! SQL text for the plugin tables, built from [`crate::schema`] for either
//! dialect. Only schema names (never caller text) are interpolated; values
//! are always bound parameters.

use crate::schema::{Condition, Table};

/// A typed SQL value (a bound parameter or a cell read back).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SqlValue {
    /// NULL.
    Null,
    /// TEXT.
    Text(String),
    /// A 64-bit INTEGER.
    Int(i64),
}

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

fn column_list(table: &Table) -> String {
    table
        .columns
        .iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `WHERE a = p1 AND b = p2 …`, numbering from `first`.
fn where_clause(dialect: Dialect, conditions: &[Condition], first: usize) -> String {
    let parts: Vec<String> = conditions
        .iter()
        .enumerate()
        .map(|(i, (c, _))| format!("{} = {}", c.name, dialect.param(first + i)))
        .collect();
    format!("WHERE {}", parts.join(" AND "))
}

/// Every column of the matching rows, in `select_order`.
pub(crate) fn select(dialect: Dialect, table: &Table, conditions: &[Condition]) -> String {
    format!(
        "SELECT {} FROM {} {} ORDER BY {}",
        column_list(table),
        table.name,
        where_clause(dialect, conditions, 1),
        table.select_order.join(", ")
    )
}

/// Every column of one document's rows, in primary-key order (the digest).
pub(crate) fn select_document(dialect: Dialect, table: &Table) -> String {
    format!(
        "SELECT {} FROM {} WHERE document_id = {} ORDER BY {}",
        column_list(table),
        table.name,
        dialect.param(1),
        table.primary_key.join(", ")
    )
}

/// The number of matching rows.
pub(crate) fn count(dialect: Dialect, table: &Table, conditions: &[Condition]) -> String {
    format!(
        "SELECT COUNT(*) FROM {} {}",
        table.name,
        where_clause(dialect, conditions, 1)
    )
}

/// Set the columns of `set` (parameters first), then the conditions.
pub(crate) fn update(
    dialect: Dialect,
    table: &Table,
    set: &[Condition],
    conditions: &[Condition],
) -> String {
    let sets: Vec<String> = set
        .iter()
        .enumerate()
        .map(|(i, (c, _))| format!("{} = {}", c.name, dialect.param(i + 1)))
        .collect();
    format!(
        "UPDATE {} SET {} {}",
        table.name,
        sets.join(", "),
        where_clause(dialect, conditions, set.len() + 1)
    )
}

/// Delete the matching rows.
pub(crate) fn delete(dialect: Dialect, table: &Table, conditions: &[Condition]) -> String {
    format!(
        "DELETE FROM {} {}",
        table.name,
        where_clause(dialect, conditions, 1)
    )
}

/// Insert one row (all columns, schema order), skipping a key conflict.
pub(crate) fn insert_one(dialect: Dialect, table: &Table) -> String {
    let params: Vec<String> = (1..=table.columns.len())
        .map(|n| dialect.param(n))
        .collect();
    format!(
        "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING",
        table.name,
        column_list(table),
        params.join(", ")
    )
}

/// Every column of the row with the given key (key columns as parameters).
pub(crate) fn select_by_key(dialect: Dialect, table: &Table) -> String {
    let parts: Vec<String> = table
        .primary_key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{k} = {}", dialect.param(i + 1)))
        .collect();
    format!(
        "SELECT {} FROM {} WHERE {}",
        column_list(table),
        table.name,
        parts.join(" AND ")
    )
}

fn pg_array_type(column: &crate::schema::Column) -> &'static str {
    match column.ty {
        crate::schema::ColumnType::Int => "bigint[]",
        _ => "text[]",
    }
}

/// PostgreSQL: insert many rows from one array parameter per column,
/// skipping key conflicts, returning the keys inserted.
pub(crate) fn pg_insert_many(table: &Table) -> String {
    let arrays: Vec<String> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("${}::{}", i + 1, pg_array_type(c)))
        .collect();
    format!(
        "INSERT INTO {} ({}) SELECT * FROM unnest({}) ON CONFLICT DO NOTHING RETURNING {}",
        table.name,
        column_list(table),
        arrays.join(", "),
        table.primary_key.join(", ")
    )
}

/// PostgreSQL: every column of the rows whose keys are given as one text
/// array parameter per key column.
pub(crate) fn pg_select_keys(table: &Table) -> String {
    let arrays: Vec<String> = (1..=table.primary_key.len())
        .map(|n| format!("${n}::text[]"))
        .collect();
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("t.{}", c.name))
        .collect();
    let join: Vec<String> = table
        .primary_key
        .iter()
        .map(|k| format!("t.{k} = k.{k} COLLATE \"C\""))
        .collect();
    format!(
        "SELECT {} FROM {} t JOIN unnest({}) AS k({}) ON {}",
        columns.join(", "),
        table.name,
        arrays.join(", "),
        table.primary_key.join(", "),
        join.join(" AND ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{SqlValue, table};

    #[test]
    fn statements_name_schema_columns_only() {
        let t = table("units").expect("table");
        let c = t.column("document_id").expect("column");
        let cond = vec![(c, SqlValue::Text("x".into()))];
        assert_eq!(
            select(Dialect::Postgres, t, &cond),
            "SELECT document_id, version, eid, parent_eid, kind, ordinal, number, heading, text, \
             text_sha, seq, status FROM units WHERE document_id = $1 ORDER BY document_id, version, seq, eid"
        );
        let set = vec![(
            t.column("status").expect("c"),
            SqlValue::Text("retired".into()),
        )];
        assert_eq!(
            update(Dialect::Sqlite, t, &set, &cond),
            "UPDATE units SET status = ?1 WHERE document_id = ?2"
        );
    }
}
