//! `phasehost:plugin/store-read`: select and count, scoped to the run's document.

use super::{CapError, CapResult, call_sizes, call_store, filter_pairs, shown};
use crate::bindings::phase::phasehost::plugin::store_read::Host;
use crate::bindings::phase::phasehost::plugin::types::Filter;
use crate::plan::Op;
use crate::runtime::state::PhaseState;

impl PhaseState {
    fn readable_store(
        &mut self,
        table: &str,
    ) -> Result<crate::runtime::state::SharedStore, CapError> {
        if !self.grants.allows_table(table, Op::Read) {
            return Err(self.deny(format!("read on table `{}`", shown(table))));
        }
        self.services
            .store
            .clone()
            .ok_or_else(|| CapError::Refused("this run has no store".into()))
    }
}

impl Host for PhaseState {
    fn select(&mut self, table: String, filters: Vec<Filter>) -> CapResult<Vec<String>> {
        self.enter(&call_sizes(&table, &filters, None), 0)?;
        let store = self.readable_store(&table)?;
        let scope = &self.services.scope;
        call_store(&store, |s| {
            s.select_json(&table, scope, &filter_pairs(filters))
        })
    }

    fn count(&mut self, table: String, filters: Vec<Filter>) -> CapResult<u64> {
        self.enter(&call_sizes(&table, &filters, None), 0)?;
        let store = self.readable_store(&table)?;
        let scope = &self.services.scope;
        call_store(&store, |s| s.count(&table, scope, &filter_pairs(filters)))
    }
}
