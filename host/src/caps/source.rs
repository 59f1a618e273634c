//! `phasehost:plugin/source`: the pinned source bytes.

use super::{CapError, CapResult};
use crate::bindings::phase::phasehost::plugin::source::Host;
use crate::plan::Capability;
use crate::runtime::state::PhaseState;

impl Host for PhaseState {
    fn read(&mut self) -> CapResult<Vec<u8>> {
        self.enter(&[], 0)?;
        if !self.grants.source {
            return Err(self.deny(Capability::Source.import_name()).into());
        }
        match &self.services.source {
            Some(bytes) => Ok(bytes.to_vec()),
            None => Err(CapError::NotFound("this run has no source".into()).into()),
        }
    }
}
