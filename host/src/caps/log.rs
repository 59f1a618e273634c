//! `phasehost:plugin/log`: log lines, scanned for secrets before they are kept.

use crate::bindings::phase::phasehost::plugin::log::{Host, Level};
use crate::plan::Capability;
use crate::runtime::budget::cut;
use crate::runtime::state::{Incident, LogLine, PhaseState};

/// Longest log line kept; longer lines are cut (before they are scanned).
const MAX_LINE: usize = 4096;

impl Host for PhaseState {
    fn emit(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        self.enter(&[message.len()], 0)?;
        if !self.grants.log {
            self.deny(Capability::Log.import_name());
            return Ok(());
        }
        // Cut first: the scanner and the budget see what would be kept.
        let message = cut(&message, MAX_LINE).to_string();
        if let Err(exceeded) = self.budget.charge_log(message.len()) {
            self.incidents.push(Incident::OverBudget(exceeded));
            self.halted = true;
            return Err(wasmtime::Error::msg(
                "the plugin exceeded its log budget (see its stop document)",
            ));
        }
        // One pass: the stream scan scans the line whole, then joined to
        // the tail of the lines before it (as rows are scanned).
        if self
            .scan_stream("a log line or consecutive log lines", &message, true)
            .is_err()
        {
            return Ok(());
        }
        let level = match level {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
        };
        self.log.push(LogLine {
            at: crate::run::ids::rfc3339_now(),
            level,
            message,
        });
        Ok(())
    }
}
