//! The host side of each capability interface, one file per WIT interface.
//! Every call consults the phase's grants first and answers `access-denied`
//! as a WIT value; host bugs are traps.

mod artifacts;
mod log;
mod source;
mod store_read;
mod store_write;

use crate::bindings::phase::phasehost::plugin::types;
use crate::plan::OnDenied;
use crate::runtime::state::{Incident, MAX_DENIED_KEPT, MAX_NAME_IN_INCIDENT, PhaseState};

pub(crate) use types::Error as CapError;

/// How a capability call that did not succeed ends: a WIT `error` value
/// the plugin can handle, or a trap (host bug, budget, halted phase). The
/// bindings turn it back into one or the other (`convert_error`), so the
/// host functions can use `?` on both.
#[derive(Debug)]
pub(crate) enum CapFailure {
    /// Returned to the plugin as a value.
    Cap(CapError),
    /// Ends the plugin's call with a trap.
    Trap(wasmtime::Error),
}

impl From<CapError> for CapFailure {
    fn from(e: CapError) -> Self {
        CapFailure::Cap(e)
    }
}

impl From<wasmtime::Error> for CapFailure {
    fn from(e: wasmtime::Error) -> Self {
        CapFailure::Trap(e)
    }
}

/// What a capability call returns: its value, a WIT error, or a trap.
pub(crate) type CapResult<T> = Result<T, CapFailure>;

impl types::Host for PhaseState {
    fn convert_error(&mut self, err: CapFailure) -> wasmtime::Result<CapError> {
        match err {
            CapFailure::Cap(e) => Ok(e),
            CapFailure::Trap(trap) => Err(trap),
        }
    }
}

impl PhaseState {
    /// The first thing every capability call does: refuse at once (a trap)
    /// when the host already ended this phase, then charge the call's
    /// arguments (`args` bytes each, `rows` rows) to the budget before any
    /// work is done for it; over budget, the phase ends.
    pub(crate) fn enter(&mut self, args: &[usize], rows: usize) -> wasmtime::Result<()> {
        if self.halted {
            return Err(wasmtime::Error::msg(
                "the host ended this phase (see its stop document)",
            ));
        }
        if let Err(exceeded) = self.budget.charge_call(args, rows) {
            self.incidents.push(Incident::OverBudget(exceeded));
            self.halted = true;
            return Err(wasmtime::Error::msg(
                "the plugin exceeded its budget (see its stop document)",
            ));
        }
        Ok(())
    }

    /// Record and return an access-denied error; by default (`on_denied =
    /// "stop"`) the phase ends at its next call and the run stops with
    /// `capability-denied`. Only a bounded piece of `what` is kept.
    pub(crate) fn deny(&mut self, what: String) -> CapError {
        let what = crate::runtime::budget::cut(&what, MAX_NAME_IN_INCIDENT + 32).to_string();
        let message = format!("phase `{}` is not granted {what}", self.phase);
        self.denied += 1;
        if self.denied as usize <= MAX_DENIED_KEPT {
            self.incidents.push(Incident::Denied(what));
        }
        if self.on_denied == OnDenied::Stop {
            self.halted = true;
        }
        CapError::AccessDenied(message)
    }

    /// Check the kill-switch before a mutation; an engaged switch ends the phase.
    pub(crate) fn guard_mutation(&mut self) -> Result<(), CapError> {
        self.services.guard.check().map_err(|reason| {
            self.incidents.push(Incident::Killed(reason.clone()));
            self.halted = true;
            CapError::Refused(format!("kill-switch: {reason}"))
        })
    }

    /// Scan outbound text for secrets; refuse it without echoing the
    /// secret, and end the phase.
    pub(crate) fn scan_outbound(&mut self, what: &str, text: &str) -> Result<(), CapError> {
        self.services.scanner.scan(text).map_err(|finding| {
            let description = format!("{what}: {finding}");
            self.incidents.push(Incident::Secret(description.clone()));
            self.halted = true;
            CapError::Refused(format!("secret-shaped data refused in {description}"))
        })
    }
}

impl PhaseState {
    /// Scan `text` as the next chunk of the run's log lines (`log`) or rows
    /// (`!log`), so a secret split across chunks is refused like a whole
    /// one; ends the phase on a finding.
    pub(crate) fn scan_stream(
        &mut self,
        what: &str,
        text: &str,
        log: bool,
    ) -> Result<(), CapError> {
        let stream = if log {
            &mut self.log_stream
        } else {
            &mut self.row_stream
        };
        self.services
            .scanner
            .scan_stream(stream, text)
            .map_err(|finding| {
                let description = format!("{what}: {finding}");
                self.incidents.push(Incident::Secret(description.clone()));
                self.halted = true;
                CapError::Refused(format!("secret-shaped data refused in {description}"))
            })
    }
}

/// A plugin-provided name as it may appear in a message: bounded.
pub(crate) fn shown(name: &str) -> &str {
    crate::runtime::budget::cut(name, MAX_NAME_IN_INCIDENT)
}

/// The argument sizes of a store call: the table, each filter's column
/// and value, and the row to set, if any.
fn call_sizes(table: &str, filters: &[types::Filter], set: Option<&str>) -> Vec<usize> {
    std::iter::once(table.len())
        .chain(filters.iter().flat_map(|f| [f.column.len(), f.value.len()]))
        .chain(set.map(str::len))
        .collect()
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
) -> CapResult<T> {
    let mut guard = store
        .lock()
        .map_err(|_| wasmtime::Error::msg("store lock poisoned"))?;
    Ok(call(guard.as_mut()).map_err(store_error)?)
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
