//! Batched, idempotent inserts: one array parameter per column, then one
//! lookup of the rows that were skipped, compared with what was sent.

use std::collections::{HashMap, HashSet};

use super::{Param, PgConnection, db, read_values, refs};
use crate::StoreError;
use crate::schema::{ColumnType, SqlValue, Table};
use crate::sql;
use crate::sql_store::different_content;

/// Rows sent per batched INSERT.
pub(super) const INSERT_CHUNK: usize = 5_000;

/// One array parameter of `values` (all of one column), typed as `ty`.
fn array(ty: ColumnType, values: impl Iterator<Item = SqlValue>) -> Param {
    if ty == ColumnType::Sha256 {
        Box::new(
            values
                .map(|v| match v {
                    SqlValue::Sha256(d) => Some(d.to_vec()),
                    _ => None,
                })
                .collect::<Vec<Option<Vec<u8>>>>(),
        )
    } else if ty.is_int() {
        Box::new(
            values
                .map(|v| match v {
                    SqlValue::Int(i) => Some(i),
                    _ => None,
                })
                .collect::<Vec<Option<i64>>>(),
        )
    } else {
        Box::new(
            values
                .map(|v| match v {
                    SqlValue::Text(t) => Some(t),
                    _ => None,
                })
                .collect::<Vec<Option<String>>>(),
        )
    }
}

/// One array parameter per column, for a batched insert.
fn column_arrays(table: &Table, rows: &[Vec<SqlValue>]) -> Vec<Param> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| array(c.ty, rows.iter().map(|r| r[i].clone())))
        .collect()
}

/// Inserts one chunk; returns rows inserted, or the conflict.
pub(super) fn insert_chunk(
    conn: &mut PgConnection,
    table: &Table,
    rows: &[Vec<SqlValue>],
) -> Result<u64, StoreError> {
    let insert = conn.statement(&sql::pg_insert_many(table))?;
    let params = column_arrays(table, rows);
    let key_types = table.key_types();
    let mut inserted_keys: HashSet<Vec<SqlValue>> = conn
        .client
        .query(&insert, &refs(&params))
        .map_err(db)?
        .iter()
        .map(|r| read_values(&key_types, r))
        .collect::<Result<_, _>>()?;
    let mut inserted = 0u64;
    let mut to_check = Vec::new();
    for values in rows {
        if inserted_keys.remove(&table.key_of(values)) {
            inserted += 1;
        } else {
            to_check.push(values);
        }
    }
    if to_check.is_empty() {
        return Ok(inserted);
    }
    // Unnamed (planned per call, with the arrays' real sizes): a cached
    // generic plan guesses 10 keys and may pick a scan per key.
    let select = sql::pg_select_keys(table);
    let key_arrays: Vec<Param> = key_types
        .iter()
        .enumerate()
        .map(|(k, ty)| array(*ty, to_check.iter().map(|v| table.key_of(v)[k].clone())))
        .collect();
    let types = table.column_types();
    let mut existing: HashMap<Vec<SqlValue>, Vec<SqlValue>> = HashMap::new();
    for row in conn
        .client
        .query(select.as_str(), &refs(&key_arrays))
        .map_err(db)?
    {
        let values = read_values(&types, &row)?;
        existing.insert(table.key_of(&values), values);
    }
    for values in to_check {
        if existing.get(&table.key_of(values)) != Some(values) {
            return Err(different_content(table, values));
        }
    }
    Ok(inserted)
}
