//! What a database holds under a table name, read from its catalog: the
//! control flow is shared, each dialect supplies its two catalog queries
//! and how it names kinds and column types.

use super::{Cells, Connection};
use crate::StoreError;
use crate::declared::{Found, ShapeColumn};
use crate::schema::ColumnType::{Int, Text};
use crate::sql::Dialect;

/// A query (parameter 1: the name) whose one text column is the kind of
/// relation the name is, in the dialect's own words.
fn kind_sql(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "SELECT type FROM sqlite_schema WHERE name = ?1 COLLATE NOCASE",
        Dialect::Postgres => {
            "SELECT c.relkind::text FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relname = $1::text"
        }
    }
}

/// The kind a plain table has in [`kind_sql`]'s answer.
fn table_kind(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "table",
        Dialect::Postgres => "r",
    }
}

/// A kind other than a plain table, for people.
fn kind_shown(dialect: Dialect, kind: String) -> String {
    match dialect {
        Dialect::Sqlite => kind,
        Dialect::Postgres => match kind.as_str() {
            "v" => "view",
            "m" => "materialized view",
            "i" | "I" => "index",
            "S" => "sequence",
            "p" => "partitioned table",
            "f" => "foreign table",
            _ => "relation",
        }
        .into(),
    }
}

/// A query (parameter 1: the table) for its columns in order: name, type,
/// collation (`''` where none), not null (0/1), position in the primary
/// key (1-based, 0 when not a key column).
fn columns_sql(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => {
            "SELECT name, type, '', \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid"
        }
        Dialect::Postgres => {
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), \
               COALESCE(co.collname::text, ''), \
               (CASE WHEN a.attnotnull THEN 1 ELSE 0 END)::bigint, \
               COALESCE((SELECT k.ord FROM pg_index i, \
                   unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
                 WHERE i.indrelid = c.oid AND i.indisprimary AND k.attnum = a.attnum), 0)::bigint \
             FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
             LEFT JOIN pg_collation co ON co.oid = a.attcollation \
             WHERE n.nspname = current_schema() AND c.relname = $1::text \
             ORDER BY a.attnum"
        }
    }
}

/// A column type as [`ShapeColumn::ty`] names it: `text` (PostgreSQL:
/// with the `C` collation the store creates), `int`, or the database's name.
fn column_type(dialect: Dialect, ty: &str, collation: &str) -> String {
    match dialect {
        Dialect::Sqlite => match ty.to_ascii_uppercase().as_str() {
            "TEXT" => "text".into(),
            "INTEGER" => "int".into(),
            other => other.to_ascii_lowercase(),
        },
        Dialect::Postgres => match (ty, collation) {
            ("text", "C") => "text".into(),
            ("bigint", _) => "int".into(),
            ("text", other) => format!("text collate {other}"),
            (other, _) => other.into(),
        },
    }
}

/// What the database behind `conn` holds under the table name `name`.
pub(crate) fn find_table<C: Connection>(conn: &mut C, name: &str) -> Result<Found, StoreError> {
    let dialect = C::DIALECT;
    let kinds = conn.query(kind_sql(dialect), &[name.into()], &[Text])?;
    let Some(kind) = kinds.into_iter().next() else {
        return Ok(Found::Nothing);
    };
    let kind = Cells::new(kind).text();
    if kind != table_kind(dialect) {
        return Ok(Found::NotATable(kind_shown(dialect, kind)));
    }
    let rows = conn.query(
        columns_sql(dialect),
        &[name.into()],
        &[Text, Text, Text, Int, Int],
    )?;
    Ok(Found::Table(
        rows.into_iter()
            .map(|row| {
                let mut r = Cells::new(row);
                let name = r.text();
                let (ty, collation) = (r.text(), r.text());
                ShapeColumn {
                    name,
                    ty: column_type(dialect, &ty, &collation),
                    not_null: r.int() != 0,
                    key_position: r.int(),
                }
            })
            .collect(),
    ))
}
