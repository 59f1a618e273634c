//! Per-phase checkpoints in the store. A live phase's writes and its
//! checkpoint row commit in one transaction, so a run interrupted between
//! that commit and saving its state file (a killed worker, a crash) is put
//! right from the store on resume instead of re-running a phase whose writes
//! are already in.

use super::runner::Runner;
use super::state::{Mode, PhaseRecord};
use crate::runtime::cache::sha256_hex;
use crate::stop::{Stop, StopCode};
use crate::store::Checkpoint;

fn corrupt(message: String) -> Stop {
    Stop::new(StopCode::CorruptState, message)
}

/// The evidence document of phase `index` (0-based) named `phase`.
pub(super) fn evidence_document(index: usize, phase: &str) -> String {
    format!("evidence/{:02}-{phase}.json", index + 1)
}

impl Runner {
    /// Inside the phase's open transaction: record the phase as committed,
    /// with the store digest after its writes. Returns that digest (None
    /// without a store).
    pub(super) fn record_checkpoint(
        &self,
        index: usize,
        phase: &str,
        evidence_digest: &str,
    ) -> Result<Option<String>, Stop> {
        let Some(store_digest) = self.store_digest()? else {
            return Ok(None);
        };
        let checkpoint = Checkpoint {
            run_id: self.state.run_id.clone(),
            phase_index: index as u64,
            phase: phase.to_string(),
            evidence_digest: evidence_digest.to_string(),
            store_digest: store_digest.clone(),
        };
        self.with_store(|s| s.record_checkpoint(&checkpoint))
            .map_err(|s| s.in_phase(phase))?;
        Ok(Some(store_digest))
    }

    /// Adopt the phase the store says committed but the state file does not
    /// list yet (at most one: the state is saved after every commit).
    /// Anything else that disagrees is corrupt state. Returns whether a
    /// phase was adopted.
    pub(super) fn recover_committed_phase(&mut self) -> Result<bool, Stop> {
        if self.state.mode != Mode::Live {
            return Ok(false);
        }
        let run_id = self.state.run_id.clone();
        let Some(Some(last)) = self.with_store(|s| s.last_checkpoint(&run_id))? else {
            return Ok(false);
        };
        let next = self.state.next_phase;
        let index = last.phase_index as usize;
        if index < next {
            return Ok(false);
        }
        if index > next || self.state.phases.len() != next {
            return Err(corrupt(format!(
                "the store has phase {} of run {run_id} committed, but the run state stops before phase {}",
                index + 1,
                next + 1
            )));
        }
        let expected = self.plan.phases.get(index).map(|p| p.name.as_str());
        if expected != Some(last.phase.as_str()) {
            return Err(corrupt(format!(
                "the store's checkpoint names phase `{}` where the plan has {expected:?}",
                last.phase
            )));
        }
        let document = evidence_document(index, &last.phase);
        let path = self.folder.root().join(&document);
        let doc: serde_json::Value = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| {
                corrupt(format!(
                    "phase `{}` committed, but its evidence {document} is missing or damaged",
                    last.phase
                ))
            })?;
        let digest = sha256_hex(doc["evidence"].to_string().as_bytes());
        if digest != last.evidence_digest || doc["evidence_digest"] != last.evidence_digest.as_str()
        {
            return Err(corrupt(format!(
                "phase `{}` committed with evidence digest {}, but {document} holds another",
                last.phase, last.evidence_digest
            )));
        }
        self.state.phases.push(PhaseRecord {
            phase: last.phase,
            evidence_digest: last.evidence_digest,
            document,
        });
        self.state.next_phase = index + 1;
        self.state.fingerprint.store_digest = Some(last.store_digest);
        self.state.save(self.folder.root())?;
        Ok(true)
    }
}
