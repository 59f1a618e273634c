//! Per-phase checkpoints in the store. A live phase's writes and its
//! checkpoint row commit in one transaction, so a run interrupted between
//! that commit and saving its state file (a killed worker, a crash) is put
//! right from the store on resume instead of re-running a phase whose writes
//! are already in.
//!
//! For a live run the store, not the state file, is the record of what
//! committed: each checkpoint carries the phase's evidence digest and the
//! digest of the run's inputs, and a resume goes on only when the state
//! agrees with them (at most one phase behind, after a crash).

use super::documents::evidence_document;
use super::kb::RunFolder;
use super::run_store::RunStore;
use super::state::{Mode, PhaseRecord, RunState};
use crate::plan::Plan;
use crate::stop::{Stop, StopCode};
use crate::store::Checkpoint;

fn corrupt(message: String) -> Stop {
    Stop::new(StopCode::CorruptState, message)
}

/// What the checkpoint book reads: the run's store, plan and folder, and
/// the digest of its inputs. The run state is passed to each call.
pub(super) struct Checkpoints<'a> {
    pub(super) store: &'a RunStore,
    pub(super) plan: &'a Plan,
    pub(super) folder: &'a RunFolder,
    /// [`super::fingerprint::inputs_digest`] of the run's inputs.
    pub(super) inputs_digest: &'a str,
}

impl Checkpoints<'_> {
    /// Inside the phase's open transaction: record the phase as committed,
    /// with the store digest after its writes. Returns that digest (None
    /// without a store). A phase that could not write (`unchanged`) leaves
    /// the digest this run recorded after its last write, when there is
    /// one, instead of reading every row of the document again; a change
    /// made to the document by anyone else in between then shows as drift
    /// on the next resume rather than being folded into the checkpoint.
    pub(super) fn record(
        &self,
        state: &RunState,
        index: usize,
        phase: &str,
        evidence_digest: &str,
        unchanged: bool,
    ) -> Result<Option<String>, Stop> {
        let known = unchanged
            .then(|| state.fingerprint.store_digest.clone())
            .flatten();
        let store_digest = match known {
            Some(digest) => digest,
            None => match self.store.document_digest(&state.document_id)? {
                Some(digest) => digest,
                None => return Ok(None),
            },
        };
        let checkpoint = Checkpoint {
            run_id: state.run_id.clone(),
            phase_index: index as u64,
            phase: phase.to_string(),
            evidence_digest: evidence_digest.to_string(),
            store_digest: store_digest.clone(),
            inputs_digest: self.inputs_digest.to_string(),
        };
        self.store
            .with(|s| s.record_checkpoint(&checkpoint))
            .map_err(|s| s.in_phase(phase))?;
        Ok(Some(store_digest))
    }

    /// The run's committed checkpoints in phase order, each checked to be
    /// the plan's phase at its index and to carry this run's inputs digest;
    /// `None` for a dry run or without a store.
    pub(super) fn committed(&self, state: &RunState) -> Result<Option<Vec<Checkpoint>>, Stop> {
        if state.mode != Mode::Live {
            return Ok(None);
        }
        let run_id = state.run_id.as_str();
        let Some(checkpoints) = self.store.with(|s| s.checkpoints(run_id))? else {
            return Ok(None);
        };
        for (index, checkpoint) in checkpoints.iter().enumerate() {
            let expected = self.plan.phases.get(index).map(|p| p.name.as_str());
            if checkpoint.phase_index != index as u64 || expected != Some(checkpoint.phase.as_str())
            {
                return Err(corrupt(format!(
                    "the store's checkpoints of run {run_id} do not follow the plan's phases at phase {}",
                    index + 1
                )));
            }
            if checkpoint.inputs_digest != self.inputs_digest {
                return Err(Stop::new(
                    StopCode::Drift,
                    format!(
                        "phase `{}` of this run committed with other inputs (source, plan or plugins) than the ones given now",
                        checkpoint.phase
                    ),
                ));
            }
        }
        Ok(Some(checkpoints))
    }

    /// Bring the state in line with the store's checkpoints (a live run):
    /// adopt the one phase the store says committed but the state does not
    /// list yet (a crash between commit and save); refuse any other
    /// disagreement as corrupt state. Returns whether a phase was adopted.
    pub(super) fn reconcile(&self, state: &mut RunState) -> Result<bool, Stop> {
        let Some(checkpoints) = self.committed(state)? else {
            return Ok(false);
        };
        let run_id = state.run_id.clone();
        let next = state.next_phase;
        if state.phases.len() != next {
            return Err(corrupt(format!(
                "the run state lists {} phases done but goes on at phase {}",
                state.phases.len(),
                next + 1
            )));
        }
        if checkpoints.len() != next && checkpoints.len() != next + 1 {
            return Err(corrupt(format!(
                "the store has {} phases of run {run_id} committed, but the run state goes on at phase {}",
                checkpoints.len(),
                next + 1
            )));
        }
        for (record, checkpoint) in state.phases.iter().zip(&checkpoints) {
            if record.phase != checkpoint.phase
                || record.evidence_digest != checkpoint.evidence_digest
            {
                return Err(Stop::new(
                    StopCode::Drift,
                    format!(
                        "the run state's evidence digest of `{}` is not the one the store committed",
                        record.phase
                    ),
                ));
            }
        }
        let Some(last) = checkpoints.get(next).cloned() else {
            return Ok(false);
        };
        let index = next;
        let document = evidence_document(index, &last.phase);
        let path = self.folder.root().join(&document);
        let held = self
            .folder
            .evidence_with_digest(&document, &last.evidence_digest)
            .map_err(|_| {
                corrupt(format!(
                    "phase `{}` committed, but its evidence {} is missing or damaged",
                    last.phase,
                    path.display()
                ))
            })?;
        if held.is_none() {
            return Err(corrupt(format!(
                "phase `{}` committed with evidence digest {}, but {document} holds another",
                last.phase, last.evidence_digest
            )));
        }
        state.phases.push(PhaseRecord {
            phase: last.phase,
            evidence_digest: last.evidence_digest,
            document,
            duration_ms: None,
        });
        state.next_phase = index + 1;
        state.fingerprint.store_digest = Some(last.store_digest);
        self.folder.save_state(state)?;
        Ok(true)
    }
}
