//! The host side of each capability interface, one file per WIT interface.
//! Every call consults the phase's grants first and answers `access-denied`
//! as a WIT value; host bugs are traps.

mod artifacts;
mod log;
mod source;
mod store_read;
mod store_write;

use crate::bindings::phase::phasehost::plugin::types;
use crate::runtime::state::{Incident, PhaseState};

pub(crate) use types::Error as CapError;

impl types::Host for PhaseState {}

impl PhaseState {
    /// Record and return an access-denied error.
    pub(crate) fn deny(&mut self, what: String) -> CapError {
        let message = format!("phase `{}` is not granted {what}", self.phase);
        self.incidents.push(Incident::Denied(what));
        CapError::AccessDenied(message)
    }

    /// Check the kill-switch before a mutation.
    pub(crate) fn guard_mutation(&mut self) -> Result<(), CapError> {
        self.services.guard.check().map_err(|reason| {
            self.incidents.push(Incident::Killed(reason.clone()));
            CapError::Refused(format!("kill-switch: {reason}"))
        })
    }

    /// Scan outbound text for secrets; refuse it without echoing the secret.
    pub(crate) fn scan_outbound(&mut self, what: &str, text: &str) -> Result<(), CapError> {
        self.services.scanner.scan(text).map_err(|finding| {
            let description = format!("{what}: {finding}");
            self.incidents.push(Incident::Secret(description.clone()));
            CapError::Refused(format!("secret-shaped data refused in {description}"))
        })
    }
}

/// Filters from WIT records to (column, value) pairs.
fn filter_pairs(filters: Vec<types::Filter>) -> Vec<(String, String)> {
    filters.into_iter().map(|f| (f.column, f.value)).collect()
}

/// Lock the run's store and make one call; a store error is a WIT value, a
/// poisoned lock (a host bug) is a trap.
fn call_store<T>(
    store: &crate::runtime::state::SharedStore,
    call: impl FnOnce(&mut dyn crate::store::StoreBackend) -> Result<T, crate::store::StoreError>,
) -> wasmtime::Result<Result<T, CapError>> {
    let mut guard = store
        .lock()
        .map_err(|_| wasmtime::Error::msg("store lock poisoned"))?;
    Ok(call(guard.as_mut()).map_err(store_error))
}

fn store_error(e: crate::store::StoreError) -> CapError {
    use crate::store::StoreError as E;
    match e {
        E::UnknownTable(t) => CapError::NotFound(format!("table `{t}`")),
        e @ (E::UnknownColumn { .. } | E::Invalid(_)) => CapError::Invalid(e.to_string()),
        e @ E::Conflict(_) => CapError::Refused(e.to_string()),
        e @ E::Backend(_) => CapError::Refused(e.to_string()),
    }
}
