//! The host-only tables over any [`Connection`]: the consumed-approvals
//! ledger, the batch queue and the run checkpoints.

use super::{Cells, Connection, SqlStore, Values};
use crate::host_sql as h;
use crate::schema::{ColumnType, SqlValue};
use crate::{Checkpoint, Claim, HostTables, QueueCounts, QueueEntry, StoreError};

use ColumnType::{Int, NullableText as Opt, Text};

/// The columns of [`h::claim`]'s result.
const CLAIM: &[ColumnType] = &[Text, Text, Int, Opt, Text];
/// The columns of [`h::ENTRIES`].
const ENTRY: &[ColumnType] = &[Text, Text, Text, Opt, Int, Opt, Opt, Opt, Text];
/// The columns of [`h::counts`].
const COUNTS: &[ColumnType] = &[Int, Int, Int, Int, Int, Int];
/// The columns of [`h::checkpoints`] and [`h::last_checkpoint`].
const CHECKPOINT: &[ColumnType] = &[Text, Int, Text, Text, Text, Text];

/// True when the query with one text parameter finds a row.
fn exists<C: Connection>(conn: &mut C, sql: &str, id: &str) -> Result<bool, StoreError> {
    Ok(!conn.query(sql, &[id.into()], &[])?.is_empty())
}

fn checkpoint(row: Values) -> Checkpoint {
    let mut r = Cells::new(row);
    Checkpoint {
        run_id: r.text(),
        phase_index: r.count(),
        phase: r.text(),
        evidence_digest: r.text(),
        store_digest: r.text(),
        inputs_digest: r.text(),
    }
}

impl<C: Connection> HostTables for SqlStore<C> {
    fn consume_approval(
        &mut self,
        approval_id: &str,
        review_decision_id: Option<&str>,
        run_id: &str,
        gate: &str,
        evidence_digest: &str,
        key_id: &str,
    ) -> Result<(), StoreError> {
        let d = C::DIALECT;
        self.own_tx("consuming an approval", |conn| {
            conn.lock_table("consumed_approvals")?;
            if exists(conn, &h::approval_by_id(d), approval_id)? {
                return Err(h::approval_exists(approval_id));
            }
            if let Some(review) = review_decision_id
                && exists(conn, &h::approval_by_review(d), review)?
            {
                return Err(h::review_used(review));
            }
            conn.execute(
                &h::insert_approval(d),
                &[
                    approval_id.into(),
                    review_decision_id.into(),
                    run_id.into(),
                    gate.into(),
                    evidence_digest.into(),
                    key_id.into(),
                ],
            )?;
            Ok(())
        })
    }

    fn approval_consumed(&mut self, approval_id: &str) -> Result<bool, StoreError> {
        self.read(|conn| exists(conn, &h::approval_by_id(C::DIALECT), approval_id))
    }

    fn review_decision_seen(&mut self, review_decision_id: &str) -> Result<bool, StoreError> {
        self.read(|conn| exists(conn, &h::approval_by_review(C::DIALECT), review_decision_id))
    }

    fn enqueue(
        &mut self,
        documents: &[(String, String)],
        plan_sha256: &str,
    ) -> Result<u64, StoreError> {
        h::check_plan_sha256(plan_sha256)?;
        h::check_unique_ids(documents)?;
        let d = C::DIALECT;
        self.own_tx("enqueueing", |conn| {
            for (id, _) in documents {
                if exists(conn, &h::queued(d), id)? {
                    return Err(h::already_queued(id));
                }
            }
            let base = if h::numbers_positions(d) {
                let rows = conn.query(h::LAST_POSITION, &[], &[Int])?;
                rows.into_iter()
                    .next()
                    .map_or(0, |row| Cells::new(row).int())
            } else {
                0
            };
            let insert = h::enqueue(d);
            for (i, (id, path)) in documents.iter().enumerate() {
                let mut params: Vec<SqlValue> =
                    vec![id.as_str().into(), path.as_str().into(), plan_sha256.into()];
                if h::numbers_positions(d) {
                    params.push((base + 1 + i as i64).into());
                }
                conn.execute(&insert, &params).map_err(|e| match e {
                    StoreError::Conflict(m) => StoreError::Conflict(format!(
                        "a document was queued concurrently; nothing was queued ({m})"
                    )),
                    other => other,
                })?;
            }
            Ok(documents.len() as u64)
        })
    }

    fn claim(&mut self, worker_id: &str, lease_secs: u64) -> Result<Option<Claim>, StoreError> {
        let lease = h::lease_ms(lease_secs)?;
        let rows = self.own_tx("claiming", |conn| {
            conn.query(
                &h::claim(C::DIALECT),
                &[worker_id.into(), lease.into()],
                CLAIM,
            )
        })?;
        Ok(rows.into_iter().next().map(|row| {
            let mut r = Cells::new(row);
            Claim {
                document_id: r.text(),
                source_path: r.text(),
                attempts: r.count(),
                run_id: r.opt(),
                plan_sha256: r.text(),
            }
        }))
    }

    fn renew(
        &mut self,
        document_id: &str,
        worker_id: &str,
        lease_secs: u64,
    ) -> Result<(), StoreError> {
        let lease = h::lease_ms(lease_secs)?;
        self.held_update(
            "renewing a lease",
            &h::renew(C::DIALECT),
            document_id,
            worker_id,
            vec![lease.into()],
        )
    }

    fn complete(
        &mut self,
        document_id: &str,
        worker_id: &str,
        run_id: &str,
    ) -> Result<(), StoreError> {
        self.finish(document_id, worker_id, run_id, true)
    }

    fn fail(&mut self, document_id: &str, worker_id: &str, reason: &str) -> Result<(), StoreError> {
        self.finish(document_id, worker_id, reason, false)
    }

    fn queue_counts(&mut self) -> Result<QueueCounts, StoreError> {
        let rows = self.read(|conn| conn.query(&h::counts(C::DIALECT), &[], COUNTS))?;
        let mut r = Cells::new(rows.into_iter().next().unwrap_or_default());
        Ok(QueueCounts {
            pending: r.count(),
            claimed: r.count(),
            expired: r.count(),
            done: r.count(),
            failed: r.count(),
            waiting: r.count(),
        })
    }

    fn attach_run(
        &mut self,
        document_id: &str,
        worker_id: &str,
        run_id: &str,
    ) -> Result<(), StoreError> {
        self.held_update(
            "attaching a run",
            &h::attach_run(C::DIALECT),
            document_id,
            worker_id,
            vec![run_id.into()],
        )
    }

    fn park(
        &mut self,
        document_id: &str,
        worker_id: &str,
        run_id: &str,
        gate: &str,
    ) -> Result<(), StoreError> {
        self.held_update(
            "parking",
            &h::park(C::DIALECT),
            document_id,
            worker_id,
            vec![run_id.into(), gate.into()],
        )
    }

    fn unpark(&mut self, run_id: &str) -> Result<bool, StoreError> {
        let n = self.own_tx("unparking", |conn| {
            conn.execute(&h::unpark(C::DIALECT), &[run_id.into()])
        })?;
        Ok(n > 0)
    }

    fn record_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        let phase_index = h::phase_index(checkpoint)?;
        // Under the plugin-call savepoint, so a refused duplicate leaves the
        // transaction usable.
        self.in_call(|conn| {
            conn.execute(
                &h::insert_checkpoint(C::DIALECT),
                &[
                    checkpoint.run_id.as_str().into(),
                    phase_index.into(),
                    checkpoint.phase.as_str().into(),
                    checkpoint.evidence_digest.as_str().into(),
                    checkpoint.store_digest.as_str().into(),
                    checkpoint.inputs_digest.as_str().into(),
                ],
            )
            .map_err(|e| h::checkpoint_conflict(checkpoint, e))?;
            Ok(())
        })
    }

    fn last_checkpoint(&mut self, run_id: &str) -> Result<Option<Checkpoint>, StoreError> {
        let sql = h::last_checkpoint(C::DIALECT);
        let rows = self.read(|conn| conn.query(&sql, &[run_id.into()], CHECKPOINT))?;
        Ok(rows.into_iter().next().map(checkpoint))
    }

    fn checkpoints(&mut self, run_id: &str) -> Result<Vec<Checkpoint>, StoreError> {
        let sql = h::checkpoints(C::DIALECT);
        let rows = self.read(|conn| conn.query(&sql, &[run_id.into()], CHECKPOINT))?;
        Ok(rows.into_iter().map(checkpoint).collect())
    }

    fn queue_entries(&mut self) -> Result<Vec<QueueEntry>, StoreError> {
        let rows = self.read(|conn| conn.query(h::ENTRIES, &[], ENTRY))?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let mut r = Cells::new(row);
                QueueEntry {
                    document_id: r.text(),
                    source_path: r.text(),
                    state: r.text(),
                    run_id: r.opt(),
                    attempts: r.count(),
                    waiting_gate: r.opt(),
                    last_error: r.opt(),
                    lease_owner: r.opt(),
                    plan_sha256: r.text(),
                }
            })
            .collect())
    }
}

impl<C: Connection> SqlStore<C> {
    fn finish(
        &mut self,
        document_id: &str,
        worker_id: &str,
        value: &str,
        done: bool,
    ) -> Result<(), StoreError> {
        let what = if done { "completing" } else { "failing" };
        let sql = h::finish(C::DIALECT, done);
        self.held_update(what, &sql, document_id, worker_id, vec![value.into()])
    }

    /// Runs an UPDATE of the entry `document_id` whose lease `worker_id`
    /// holds (parameters 1 and 2; `rest` from 3) in its own transaction;
    /// [`h::not_held`] when no row matched.
    fn held_update(
        &mut self,
        what: &str,
        sql: &str,
        document_id: &str,
        worker_id: &str,
        rest: Vec<SqlValue>,
    ) -> Result<(), StoreError> {
        let mut params: Vec<SqlValue> = vec![document_id.into(), worker_id.into()];
        params.extend(rest);
        match self.own_tx(what, |conn| conn.execute(sql, &params))? {
            1 => Ok(()),
            _ => Err(h::not_held(document_id, worker_id)),
        }
    }
}
