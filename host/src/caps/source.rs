//! `phasehost:plugin/source`: the pinned source bytes.

use super::CapError;
use crate::bindings::phase::phasehost::plugin::source::Host;
use crate::plan::Capability;
use crate::runtime::state::PhaseState;

impl Host for PhaseState {
    fn read(&mut self) -> wasmtime::Result<Result<Vec<u8>, CapError>> {
        self.enter(&[], 0)?;
        if !self.grants.source {
            return Ok(Err(self.deny(Capability::Source.import_name())));
        }
        Ok(match &self.services.source {
            Some(bytes) => Ok(bytes.to_vec()),
            None => Err(CapError::NotFound("this run has no source".into())),
        })
    }
}
