//! `phasehost:plugin/log`: log lines, scanned for secrets before they are kept.

use crate::bindings::phase::phasehost::plugin::log::{Host, Level};
use crate::plan::Capability;
use crate::runtime::state::{LogLine, PhaseState};

/// Longest log line kept; longer lines are cut.
const MAX_LINE: usize = 4096;
/// Most lines kept per phase run; further lines are dropped.
const MAX_LINES: usize = 10_000;

impl Host for PhaseState {
    fn emit(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        if !self.grants.log {
            self.deny(Capability::Log.import_name());
            return Ok(());
        }
        if self.scan_outbound("a log line", &message).is_err() || self.log.len() >= MAX_LINES {
            return Ok(());
        }
        let mut message = message;
        if message.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        let level = match level {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
        };
        self.log.push(LogLine { level, message });
        Ok(())
    }
}
