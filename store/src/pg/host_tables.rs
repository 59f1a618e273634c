//! The host-only tables on PostgreSQL: the consumed-approvals ledger, the
//! batch queue and the runs index's append (checkpoints:
//! [`super::checkpoints`]).

use super::*;

impl HostTables for PgStore {
    fn consume_approval(
        &mut self,
        approval_id: &str,
        review_decision_id: Option<&str>,
        run_id: &str,
        gate: &str,
        evidence_digest: &str,
        key_id: &str,
    ) -> Result<(), StoreError> {
        self.own_tx("consuming an approval", |client| {
            client
                .batch_execute("LOCK TABLE consumed_approvals IN SHARE ROW EXCLUSIVE MODE")
                .map_err(db)?;
            let seen = |client: &mut Client, sql: &str, id: &str| {
                client
                    .query_opt(sql, &[&id])
                    .map(|r| r.is_some())
                    .map_err(db)
            };
            if seen(
                client,
                "SELECT 1 FROM consumed_approvals WHERE approval_id = $1",
                approval_id,
            )? {
                return Err(h::approval_exists(approval_id));
            }
            if let Some(review) = review_decision_id
                && seen(
                    client,
                    "SELECT 1 FROM consumed_approvals WHERE review_decision_id = $1",
                    review,
                )?
            {
                return Err(h::review_used(review));
            }
            client
                .execute(
                    &format!(
                        "INSERT INTO consumed_approvals (approval_id, review_decision_id, run_id, \
                         gate, evidence_digest, key_id, consumed_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, {})",
                        D.now_ms()
                    ),
                    &[
                        &approval_id,
                        &review_decision_id,
                        &run_id,
                        &gate,
                        &evidence_digest,
                        &key_id,
                    ],
                )
                .map_err(db)?;
            Ok(())
        })
    }

    fn approval_consumed(&mut self, approval_id: &str) -> Result<bool, StoreError> {
        self.read(|client, cache| {
            let stmt = Self::statement(
                client,
                cache,
                "SELECT 1 FROM consumed_approvals WHERE approval_id = $1",
            )?;
            Ok(client
                .query_opt(&stmt, &[&approval_id])
                .map_err(db)?
                .is_some())
        })
    }

    fn review_decision_seen(&mut self, review_decision_id: &str) -> Result<bool, StoreError> {
        self.read(|client, cache| {
            let stmt = Self::statement(
                client,
                cache,
                "SELECT 1 FROM consumed_approvals WHERE review_decision_id = $1",
            )?;
            Ok(client
                .query_opt(&stmt, &[&review_decision_id])
                .map_err(db)?
                .is_some())
        })
    }

    fn enqueue(
        &mut self,
        documents: &[(String, String)],
        plan_sha256: &str,
    ) -> Result<u64, StoreError> {
        h::check_plan_sha256(plan_sha256)?;
        h::check_unique_ids(documents)?;
        let ids: Vec<&str> = documents.iter().map(|(d, _)| d.as_str()).collect();
        let paths: Vec<&str> = documents.iter().map(|(_, p)| p.as_str()).collect();
        self.own_tx("enqueueing", |client| {
            let queued = client
                .query_opt(
                    "SELECT document_id FROM queue WHERE document_id = ANY($1::text[]) \
                     ORDER BY document_id LIMIT 1",
                    &[&ids],
                )
                .map_err(db)?;
            if let Some(row) = queued {
                return Err(h::already_queued(&row.get::<_, String>(0)));
            }
            let n = client
                .execute(
                    &format!(
                        "INSERT INTO queue (document_id, source_path, plan_sha256, enqueued_at) \
                         SELECT d, p, $3, {} FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(d, p, n) \
                         ORDER BY n",
                        D.now_ms()
                    ),
                    &[&ids, &paths, &plan_sha256],
                )
                .map_err(|e| match db(e) {
                    StoreError::Conflict(m) => StoreError::Conflict(format!(
                        "a document was queued concurrently; nothing was queued ({m})"
                    )),
                    other => other,
                })?;
            Ok(n)
        })
    }

    fn claim(&mut self, worker_id: &str, lease_secs: u64) -> Result<Option<Claim>, StoreError> {
        let lease = h::lease_ms(lease_secs)?;
        let rows = self.host_query("claiming", &h::claim(D), &[&worker_id, &lease])?;
        Ok(rows.first().map(|r| Claim {
            document_id: r.get(0),
            source_path: r.get(1),
            attempts: r.get::<_, i64>(2) as u64,
            run_id: r.get(3),
            plan_sha256: r.get(4),
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
        self.read(|client, cache| {
            let stmt = Self::statement(client, cache, &h::counts(D))?;
            let row = client.query_one(&stmt, &[]).map_err(db)?;
            let n = |i: usize| row.get::<_, i64>(i) as u64;
            Ok(QueueCounts {
                pending: n(0),
                claimed: n(1),
                expired: n(2),
                done: n(3),
                failed: n(4),
                waiting: n(5),
            })
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
        let rows = self.host_query(
            "unparking",
            &format!("{} RETURNING 1", h::unpark(D)),
            &[&run_id],
        )?;
        Ok(!rows.is_empty())
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
        self.read(|client, cache| {
            let stmt = Self::statement(client, cache, h::ENTRIES)?;
            let rows = client.query(&stmt, &[]).map_err(db)?;
            Ok(rows
                .iter()
                .map(|r| QueueEntry {
                    document_id: r.get(0),
                    source_path: r.get(1),
                    state: r.get(2),
                    run_id: r.get(3),
                    attempts: r.get::<_, i64>(4) as u64,
                    waiting_gate: r.get(5),
                    last_error: r.get(6),
                    lease_owner: r.get(7),
                    plan_sha256: r.get(8),
                })
                .collect())
        })
    }
}

impl PgStore {
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
    /// holds (parameters 1 and 2; `rest` from 3), autocommitted;
    /// [`h::not_held`] when no row matched.
    fn held_update(
        &mut self,
        what: &str,
        sql: &str,
        document_id: &str,
        worker_id: &str,
        rest: &[&(dyn ToSql + Sync)],
    ) -> Result<(), StoreError> {
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&document_id, &worker_id];
        params.extend_from_slice(rest);
        let rows = self.host_query(what, &format!("{sql} RETURNING 1"), &params)?;
        if rows.len() == 1 {
            Ok(())
        } else {
            Err(h::not_held(document_id, worker_id))
        }
    }
}

/// Appends `entry` for `run_id` to the runs index in the transaction open on
/// `client`, under a table lock held until that transaction ends, so
/// concurrent appenders get consecutive seqs.
pub(super) fn append_index_in(
    client: &mut Client,
    run_id: &str,
    document_id: &str,
    entry: &str,
) -> Result<IndexEntry, StoreError> {
    client
        .batch_execute("LOCK TABLE runs_index IN SHARE ROW EXCLUSIVE MODE")
        .map_err(db)?;
    let earlier = client
        .query_opt(
            "SELECT seq, entry, prev_hash, hash FROM runs_index WHERE run_id = $1 \
             ORDER BY seq LIMIT 1",
            &[&run_id],
        )
        .map_err(db)?;
    if let Some(r) = earlier {
        return h::index_entry_again(
            run_id,
            entry,
            r.get(0),
            &r.get::<_, String>(1),
            r.get(2),
            r.get(3),
        );
    }
    let last = client
        .query_opt(
            "SELECT seq, hash FROM runs_index ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .map_err(db)?
        .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)));
    let (seq, prev_hash) = last.map_or((1, String::new()), |(s, h)| (s + 1, h));
    let hash = digest::chain_hash(&prev_hash, entry);
    client
        .execute(
            &format!(
                "INSERT INTO runs_index (seq, run_id, document_id, entry, prev_hash, hash, \
                 appended_at) VALUES ($1, $2, $3, $4, $5, $6, {})",
                D.now_ms()
            ),
            &[&seq, &run_id, &document_id, &entry, &prev_hash, &hash],
        )
        .map_err(db)?;
    Ok(IndexEntry {
        seq: seq as u64,
        prev_hash,
        hash,
    })
}
