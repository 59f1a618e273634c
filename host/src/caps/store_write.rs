//! `phasehost:plugin/store-write`: insert, update, delete — each checked
//! against the grants, the kill-switch and the secret scanner, scoped to the
//! run's document.

use super::{CapError, CapResult, call_sizes, call_store, filter_pairs, shown};
use crate::bindings::phase::phasehost::plugin::store_write::Host;
use crate::bindings::phase::phasehost::plugin::types::Filter;
use crate::plan::Op;
use crate::runtime::state::PhaseState;
use crate::runtime::state::SharedStore;
use crate::store::Row;

impl PhaseState {
    /// Grant, kill-switch and store presence, in that order.
    fn writable_store(&mut self, table: &str, op: Op) -> Result<SharedStore, CapError> {
        if !self.grants.allows_table(table, op) {
            let verb = match op {
                Op::Read => "read",
                Op::Insert => "insert",
                Op::Update => "update",
                Op::Delete => "delete",
            };
            return Err(self.deny(format!("{verb} on table `{}`", shown(table))));
        }
        self.guard_mutation()?;
        self.services
            .store
            .clone()
            .ok_or_else(|| CapError::Refused("this run has no store".into()))
    }

    fn parse_row(&mut self, table: &str, json: &str) -> Result<Row, CapError> {
        // One scan per row: the stream scan finds every secret of the row
        // alone (what `scan_outbound` would) and those split across rows.
        self.scan_stream(
            &format!("a row for `{}` or consecutive rows", shown(table)),
            json,
            false,
        )?;
        match serde_json::from_str::<serde_json::Value>(json) {
            Ok(serde_json::Value::Object(row)) => Ok(row),
            _ => Err(CapError::Invalid(format!(
                "a row for `{}` must be a JSON object",
                shown(table)
            ))),
        }
    }
}

impl Host for PhaseState {
    fn insert(&mut self, table: String, rows: Vec<String>) -> CapResult<u64> {
        let sizes: Vec<usize> = std::iter::once(table.len())
            .chain(rows.iter().map(String::len))
            .collect();
        self.enter(&sizes, rows.len())?;
        let store = self.writable_store(&table, Op::Insert)?;
        let parsed = rows
            .iter()
            .map(|json| self.parse_row(&table, json))
            .collect::<Result<Vec<_>, _>>()?;
        let scope = &self.services.scope;
        call_store(&store, |s| s.insert(&table, scope, &parsed))
    }

    fn update(&mut self, table: String, filters: Vec<Filter>, set: String) -> CapResult<u64> {
        self.enter(&call_sizes(&table, &filters, Some(&set)), 1)?;
        let store = self.writable_store(&table, Op::Update)?;
        let set = self.parse_row(&table, &set)?;
        let scope = &self.services.scope;
        call_store(&store, |s| {
            s.update(&table, scope, &filter_pairs(filters), &set)
        })
    }

    fn delete(&mut self, table: String, filters: Vec<Filter>) -> CapResult<u64> {
        self.enter(&call_sizes(&table, &filters, None), 0)?;
        let store = self.writable_store(&table, Op::Delete)?;
        let scope = &self.services.scope;
        call_store(&store, |s| s.delete(&table, scope, &filter_pairs(filters)))
    }
}
