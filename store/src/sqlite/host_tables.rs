//! The host-only tables on SQLite: the consumed-approvals ledger and the
//! batch queue (checkpoints: [`super::checkpoints`]).

use super::*;

impl HostTables for SqliteStore {
    fn consume_approval(
        &mut self,
        approval_id: &str,
        review_decision_id: Option<&str>,
        run_id: &str,
        gate: &str,
        evidence_digest: &str,
        key_id: &str,
    ) -> Result<(), StoreError> {
        self.own_tx("consuming an approval", |conn| {
            let seen = |sql: &str, id: &str| {
                conn.prepare_cached(sql)
                    .and_then(|mut s| s.exists([id]))
                    .map_err(db)
            };
            if seen(
                "SELECT 1 FROM consumed_approvals WHERE approval_id = ?1",
                approval_id,
            )? {
                return Err(h::approval_exists(approval_id));
            }
            if let Some(review) = review_decision_id
                && seen(
                    "SELECT 1 FROM consumed_approvals WHERE review_decision_id = ?1",
                    review,
                )?
            {
                return Err(h::review_used(review));
            }
            conn.prepare_cached(&format!(
                "INSERT INTO consumed_approvals (approval_id, review_decision_id, run_id, gate, \
                 evidence_digest, key_id, consumed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, {})",
                D.now_ms()
            ))
            .map_err(db)?
            .execute(params![
                approval_id,
                review_decision_id,
                run_id,
                gate,
                evidence_digest,
                key_id
            ])
            .map_err(db)?;
            Ok(())
        })
    }

    fn approval_consumed(&mut self, approval_id: &str) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached("SELECT 1 FROM consumed_approvals WHERE approval_id = ?1")
            .and_then(|mut s| s.exists([approval_id]))
            .map_err(db)
    }

    fn review_decision_seen(&mut self, review_decision_id: &str) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached("SELECT 1 FROM consumed_approvals WHERE review_decision_id = ?1")
            .and_then(|mut s| s.exists([review_decision_id]))
            .map_err(db)
    }

    fn enqueue(
        &mut self,
        documents: &[(String, String)],
        plan_sha256: &str,
    ) -> Result<u64, StoreError> {
        h::check_plan_sha256(plan_sha256)?;
        h::check_unique_ids(documents)?;
        self.own_tx("enqueueing", |conn| {
            let mut queued = conn
                .prepare_cached("SELECT 1 FROM queue WHERE document_id = ?1")
                .map_err(db)?;
            for (id, _) in documents {
                if queued.exists([id]).map_err(db)? {
                    return Err(h::already_queued(id));
                }
            }
            let base: i64 = conn
                .query_row("SELECT COALESCE(MAX(position), 0) FROM queue", [], |r| {
                    r.get(0)
                })
                .map_err(db)?;
            let mut insert = conn
                .prepare_cached(&format!(
                    "INSERT INTO queue (document_id, source_path, position, plan_sha256, \
                     enqueued_at) VALUES (?1, ?2, ?3, ?4, {})",
                    D.now_ms()
                ))
                .map_err(db)?;
            for (i, (id, path)) in documents.iter().enumerate() {
                insert
                    .execute(params![id, path, base + 1 + i as i64, plan_sha256])
                    .map_err(db)?;
            }
            Ok(documents.len() as u64)
        })
    }

    fn claim(&mut self, worker_id: &str, lease_secs: u64) -> Result<Option<Claim>, StoreError> {
        let lease = h::lease_ms(lease_secs)?;
        self.own_tx("claiming", |conn| {
            conn.prepare_cached(&h::claim(D))
                .map_err(db)?
                .query_row(params![worker_id, lease], |r| {
                    Ok(Claim {
                        document_id: r.get(0)?,
                        source_path: r.get(1)?,
                        attempts: r.get::<_, i64>(2)? as u64,
                        run_id: r.get(3)?,
                        plan_sha256: r.get(4)?,
                    })
                })
                .optional()
                .map_err(db)
        })
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
            &h::renew(D),
            document_id,
            worker_id,
            &[&lease],
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
        self.conn
            .prepare_cached(&h::counts(D))
            .and_then(|mut s| {
                s.query_row([], |r| {
                    Ok(QueueCounts {
                        pending: r.get::<_, i64>(0)? as u64,
                        claimed: r.get::<_, i64>(1)? as u64,
                        expired: r.get::<_, i64>(2)? as u64,
                        done: r.get::<_, i64>(3)? as u64,
                        failed: r.get::<_, i64>(4)? as u64,
                        waiting: r.get::<_, i64>(5)? as u64,
                    })
                })
            })
            .map_err(db)
    }

    fn attach_run(
        &mut self,
        document_id: &str,
        worker_id: &str,
        run_id: &str,
    ) -> Result<(), StoreError> {
        self.held_update(
            "attaching a run",
            &h::attach_run(D),
            document_id,
            worker_id,
            &[&run_id],
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
            &h::park(D),
            document_id,
            worker_id,
            &[&run_id, &gate],
        )
    }

    fn unpark(&mut self, run_id: &str) -> Result<bool, StoreError> {
        self.own_tx("unparking", |conn| {
            let n = conn
                .prepare_cached(&h::unpark(D))
                .map_err(db)?
                .execute([run_id])
                .map_err(db)?;
            Ok(n > 0)
        })
    }

    fn record_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        self.insert_checkpoint(checkpoint)
    }

    fn last_checkpoint(&mut self, run_id: &str) -> Result<Option<Checkpoint>, StoreError> {
        self.select_last_checkpoint(run_id)
    }

    fn checkpoints(&mut self, run_id: &str) -> Result<Vec<Checkpoint>, StoreError> {
        self.select_checkpoints(run_id)
    }

    fn queue_entries(&mut self) -> Result<Vec<QueueEntry>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(h::ENTRIES).map_err(db)?;
            stmt.query_map([], |r| {
                Ok(QueueEntry {
                    document_id: r.get(0)?,
                    source_path: r.get(1)?,
                    state: r.get(2)?,
                    run_id: r.get(3)?,
                    attempts: r.get::<_, i64>(4)? as u64,
                    waiting_gate: r.get(5)?,
                    last_error: r.get(6)?,
                    lease_owner: r.get(7)?,
                    plan_sha256: r.get(8)?,
                })
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)
        })
    }
}

impl SqliteStore {
    fn finish(
        &mut self,
        document_id: &str,
        worker_id: &str,
        value: &str,
        done: bool,
    ) -> Result<(), StoreError> {
        let what = if done { "completing" } else { "failing" };
        self.held_update(what, &h::finish(D, done), document_id, worker_id, &[&value])
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
        rest: &[&dyn ToSql],
    ) -> Result<(), StoreError> {
        let mut params: Vec<&dyn ToSql> = vec![&document_id, &worker_id];
        params.extend_from_slice(rest);
        self.own_tx(what, |conn| {
            let n = conn
                .prepare_cached(sql)
                .map_err(db)?
                .execute(params.as_slice())
                .map_err(db)?;
            if n == 1 {
                Ok(())
            } else {
                Err(h::not_held(document_id, worker_id))
            }
        })
    }
}
