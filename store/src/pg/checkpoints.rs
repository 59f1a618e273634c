//! Run checkpoints on PostgreSQL: written inside the phase's transaction,
//! read back to resume a run.

use super::*;

impl PgStore {
    /// Inserts `checkpoint` in the open transaction (under the plugin-call
    /// savepoint, so a refused duplicate leaves the transaction usable).
    pub(super) fn insert_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        let phase_index = h::phase_index(checkpoint)?;
        self.in_call(|client, cache| {
            let stmt = Self::statement(client, cache, &h::insert_checkpoint(D))?;
            client
                .execute(
                    &stmt,
                    &[
                        &checkpoint.run_id,
                        &phase_index,
                        &checkpoint.phase,
                        &checkpoint.evidence_digest,
                        &checkpoint.store_digest,
                        &checkpoint.inputs_digest,
                    ],
                )
                .map_err(|e| h::checkpoint_conflict(checkpoint, db(e)))?;
            Ok(())
        })
    }

    /// The run's checkpoint with the highest phase index.
    pub(super) fn select_last_checkpoint(
        &mut self,
        run_id: &str,
    ) -> Result<Option<Checkpoint>, StoreError> {
        self.read(|client, cache| {
            let stmt = Self::statement(client, cache, &h::last_checkpoint(D))?;
            Ok(client
                .query_opt(&stmt, &[&run_id])
                .map_err(db)?
                .map(|r| read_checkpoint(&r)))
        })
    }

    /// Every checkpoint of the run, by phase index.
    pub(super) fn select_checkpoints(
        &mut self,
        run_id: &str,
    ) -> Result<Vec<Checkpoint>, StoreError> {
        self.read(|client, cache| {
            let stmt = Self::statement(client, cache, &h::checkpoints(D))?;
            Ok(client
                .query(&stmt, &[&run_id])
                .map_err(db)?
                .iter()
                .map(read_checkpoint)
                .collect())
        })
    }
}

/// A checkpoint from a row of [`h::last_checkpoint`] / [`h::checkpoints`].
fn read_checkpoint(r: &::postgres::Row) -> Checkpoint {
    Checkpoint {
        run_id: r.get(0),
        phase_index: r.get::<_, i64>(1) as u64,
        phase: r.get(2),
        evidence_digest: r.get(3),
        store_digest: r.get(4),
        inputs_digest: r.get(5),
    }
}
