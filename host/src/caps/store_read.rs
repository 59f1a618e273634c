//! `phasehost:plugin/store-read`: select and count, scoped to the run's document.

use super::{CapError, filter_pairs, store_error};
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
            return Err(self.deny(format!("read on table `{table}`")));
        }
        self.services
            .store
            .clone()
            .ok_or_else(|| CapError::Refused("this run has no store".into()))
    }
}

impl Host for PhaseState {
    fn select(
        &mut self,
        table: String,
        filters: Vec<Filter>,
    ) -> wasmtime::Result<Result<Vec<String>, CapError>> {
        let store = match self.readable_store(&table) {
            Ok(store) => store,
            Err(e) => return Ok(Err(e)),
        };
        let mut store = store
            .lock()
            .map_err(|_| wasmtime::Error::msg("store lock poisoned"))?;
        Ok(store
            .select(&table, &self.services.scope, &filter_pairs(filters))
            .map(|rows| {
                rows.iter()
                    .map(|row| serde_json::to_string(row).expect("a JSON map serializes"))
                    .collect()
            })
            .map_err(store_error))
    }

    fn count(
        &mut self,
        table: String,
        filters: Vec<Filter>,
    ) -> wasmtime::Result<Result<u64, CapError>> {
        let store = match self.readable_store(&table) {
            Ok(store) => store,
            Err(e) => return Ok(Err(e)),
        };
        let mut store = store
            .lock()
            .map_err(|_| wasmtime::Error::msg("store lock poisoned"))?;
        Ok(store
            .count(&table, &self.services.scope, &filter_pairs(filters))
            .map_err(store_error))
    }
}
