//! SQL and refusals for the host-only tables (ledger, runs index, queue, run
//! checkpoints), per dialect.

use crate::sql::Dialect;

/// The claimable condition: pending, or claimed with an expired lease.
fn claimable(d: Dialect) -> String {
    format!(
        "(state = 'pending' OR (state = 'claimed' AND lease_until <= {}))",
        d.now_ms()
    )
}

/// Claim the oldest claimable entry: `(worker, lease_ms)` →
/// `(document_id, source_path, attempts, run_id, plan_sha256)`.
pub(crate) fn claim(d: Dialect) -> String {
    format!(
        "UPDATE queue SET state = 'claimed', lease_owner = {p1}, lease_until = {now} + {p2}, \
         attempts = attempts + 1 \
         WHERE document_id = (SELECT document_id FROM queue WHERE {c} ORDER BY position LIMIT 1{lock}) \
         AND {c} \
         RETURNING document_id, source_path, attempts, run_id, plan_sha256",
        p1 = d.param(1),
        p2 = d.param(2),
        now = d.now_ms(),
        c = claimable(d),
        lock = d.skip_locked(),
    )
}

/// Queue one document: `(document_id, source_path, plan_sha256)`, then on
/// SQLite its `position` (PostgreSQL's is an identity column, numbered by
/// the database).
pub(crate) fn enqueue(d: Dialect) -> String {
    let (column, value) = match d {
        Dialect::Sqlite => (", position", format!(", {}", d.param(4))),
        Dialect::Postgres => ("", String::new()),
    };
    format!(
        "INSERT INTO queue (document_id, source_path, plan_sha256, enqueued_at{column}) \
         VALUES ({}, {}{value})",
        d.params(3),
        d.now_ms()
    )
}

/// Whether [`enqueue`] takes the position as a parameter.
pub(crate) fn numbers_positions(d: Dialect) -> bool {
    d == Dialect::Sqlite
}

/// The largest queue position so far (0 for an empty queue).
pub(crate) const LAST_POSITION: &str = "SELECT COALESCE(MAX(position), 0) FROM queue";

/// Whether a document is queued: `(document_id)`.
pub(crate) fn queued(d: Dialect) -> String {
    format!("SELECT 1 FROM queue WHERE document_id = {}", d.param(1))
}

/// Whether an approval was consumed: `(approval_id)`.
pub(crate) fn approval_by_id(d: Dialect) -> String {
    format!(
        "SELECT 1 FROM consumed_approvals WHERE approval_id = {}",
        d.param(1)
    )
}

/// Whether a review decision was used: `(review_decision_id)`.
pub(crate) fn approval_by_review(d: Dialect) -> String {
    format!(
        "SELECT 1 FROM consumed_approvals WHERE review_decision_id = {}",
        d.param(1)
    )
}

/// Record a consumed approval: `(approval_id, review_decision_id, run_id,
/// gate, evidence_digest, key_id)`.
pub(crate) fn insert_approval(d: Dialect) -> String {
    format!(
        "INSERT INTO consumed_approvals (approval_id, review_decision_id, run_id, gate, \
         evidence_digest, key_id, consumed_at) VALUES ({}, {})",
        d.params(6),
        d.now_ms()
    )
}

/// A run's first runs-index entry: `(run_id)` → `(seq, entry, prev_hash, hash)`.
pub(crate) fn index_entry_of_run(d: Dialect) -> String {
    format!(
        "SELECT seq, entry, prev_hash, hash FROM runs_index WHERE run_id = {} \
         ORDER BY seq LIMIT 1",
        d.param(1)
    )
}

/// The last runs-index entry: `(seq, hash)`.
pub(crate) const LAST_INDEX_ENTRY: &str =
    "SELECT seq, hash FROM runs_index ORDER BY seq DESC LIMIT 1";

/// The whole runs index in order: `(seq, entry, prev_hash, hash)`.
pub(crate) const INDEX: &str = "SELECT seq, entry, prev_hash, hash FROM runs_index ORDER BY seq";

/// Append to the runs index:
/// `(seq, run_id, document_id, entry, prev_hash, hash)`.
pub(crate) fn insert_index(d: Dialect) -> String {
    format!(
        "INSERT INTO runs_index (seq, run_id, document_id, entry, prev_hash, hash, appended_at) \
         VALUES ({}, {})",
        d.params(6),
        d.now_ms()
    )
}

/// Extend a held lease: `(document_id, worker, lease_ms)`.
pub(crate) fn renew(d: Dialect) -> String {
    format!(
        "UPDATE queue SET lease_until = {} + {} WHERE {}",
        d.now_ms(),
        d.param(3),
        held(d)
    )
}

/// Finish a held lease: `(document_id, worker, run_id or reason)`.
pub(crate) fn finish(d: Dialect, done: bool) -> String {
    let set = if done {
        "state = 'done', run_id"
    } else {
        "state = 'failed', last_error"
    };
    format!(
        "UPDATE queue SET {set} = {}, lease_until = NULL WHERE {}",
        d.param(3),
        held(d)
    )
}

/// The condition "`p1`'s lease is held by `p2`" (an expired lease not
/// taken over is still held).
fn held(d: Dialect) -> String {
    format!(
        "document_id = {} AND state = 'claimed' AND lease_owner = {}",
        d.param(1),
        d.param(2)
    )
}

/// Record the run on a held lease: `(document_id, worker, run_id)`.
pub(crate) fn attach_run(d: Dialect) -> String {
    format!("UPDATE queue SET run_id = {} WHERE {}", d.param(3), held(d))
}

/// Park a held entry at a gate, releasing the lease:
/// `(document_id, worker, run_id, gate)`.
pub(crate) fn park(d: Dialect) -> String {
    format!(
        "UPDATE queue SET state = 'waiting', run_id = {}, waiting_gate = {}, \
         lease_owner = NULL, lease_until = NULL WHERE {}",
        d.param(3),
        d.param(4),
        held(d)
    )
}

/// Make the entry waiting with a run pending again: `(run_id)`.
pub(crate) fn unpark(d: Dialect) -> String {
    format!(
        "UPDATE queue SET state = 'pending', waiting_gate = NULL \
         WHERE state = 'waiting' AND run_id = {}",
        d.param(1)
    )
}

/// Every entry in queue order: document_id, source_path, state, run_id,
/// attempts, waiting_gate, last_error, lease_owner, plan_sha256.
pub(crate) const ENTRIES: &str = "SELECT document_id, source_path, state, run_id, attempts, \
     waiting_gate, last_error, lease_owner, plan_sha256 FROM queue ORDER BY position";

/// Counts per state: pending, claimed (live), claimed (expired), done,
/// failed, waiting.
pub(crate) fn counts(d: Dialect) -> String {
    let now = d.now_ms();
    format!(
        "SELECT COUNT(*) FILTER (WHERE state = 'pending'), \
         COUNT(*) FILTER (WHERE state = 'claimed' AND lease_until > {now}), \
         COUNT(*) FILTER (WHERE state = 'claimed' AND lease_until <= {now}), \
         COUNT(*) FILTER (WHERE state = 'done'), \
         COUNT(*) FILTER (WHERE state = 'failed'), \
         COUNT(*) FILTER (WHERE state = 'waiting') FROM queue"
    )
}

/// Insert a checkpoint:
/// `(run_id, phase_index, phase, evidence_digest, store_digest, inputs_digest)`.
pub(crate) fn insert_checkpoint(d: Dialect) -> String {
    format!(
        "INSERT INTO run_checkpoints (run_id, phase_index, phase, evidence_digest, \
         store_digest, inputs_digest, committed_at) VALUES ({}, {})",
        d.params(6),
        d.now_ms()
    )
}

/// The columns of a checkpoint, in [`crate::Checkpoint`]'s order.
const CHECKPOINT_COLUMNS: &str =
    "run_id, phase_index, phase, evidence_digest, store_digest, inputs_digest";

/// A run's checkpoint with the highest phase index: `(run_id)` →
/// `(run_id, phase_index, phase, evidence_digest, store_digest, inputs_digest)`.
pub(crate) fn last_checkpoint(d: Dialect) -> String {
    format!(
        "SELECT {CHECKPOINT_COLUMNS} FROM run_checkpoints WHERE run_id = {} \
         ORDER BY phase_index DESC LIMIT 1",
        d.param(1)
    )
}

/// Every checkpoint of a run by phase index: `(run_id)` → rows as in
/// [`last_checkpoint`].
pub(crate) fn checkpoints(d: Dialect) -> String {
    format!(
        "SELECT {CHECKPOINT_COLUMNS} FROM run_checkpoints WHERE run_id = {} \
         ORDER BY phase_index",
        d.param(1)
    )
}

/// A checkpoint's phase index as a database integer.
pub(crate) fn phase_index(checkpoint: &crate::Checkpoint) -> Result<i64, crate::StoreError> {
    i64::try_from(checkpoint.phase_index).map_err(|_| {
        crate::StoreError::Invalid(format!(
            "phase index {} is out of range",
            checkpoint.phase_index
        ))
    })
}

/// A duplicate checkpoint as a conflict naming it; other errors unchanged.
pub(crate) fn checkpoint_conflict(
    checkpoint: &crate::Checkpoint,
    e: crate::StoreError,
) -> crate::StoreError {
    match e {
        crate::StoreError::Conflict(m) => crate::StoreError::Conflict(format!(
            "run `{}` already has a checkpoint for phase {} ({m})",
            checkpoint.run_id, checkpoint.phase_index
        )),
        other => other,
    }
}

/// Milliseconds of a lease, refusing zero and absurd lengths.
pub(crate) fn lease_ms(lease_secs: u64) -> Result<i64, crate::StoreError> {
    const MAX_SECS: u64 = 7 * 24 * 3600;
    if lease_secs == 0 || lease_secs > MAX_SECS {
        return Err(crate::StoreError::Invalid(format!(
            "a lease must be 1..={MAX_SECS} seconds, got {lease_secs}"
        )));
    }
    Ok(lease_secs as i64 * 1000)
}

/// Refuses a plan digest that is not a sha256 in lowercase hex.
pub(crate) fn check_plan_sha256(plan_sha256: &str) -> Result<(), crate::StoreError> {
    let ok = plan_sha256.len() == 64
        && plan_sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !ok {
        return Err(crate::StoreError::Invalid(
            "a plan digest must be a sha256 as 64 lowercase hex digits; nothing was queued".into(),
        ));
    }
    Ok(())
}

/// Refuses a duplicate id within one enqueue list.
pub(crate) fn check_unique_ids(documents: &[(String, String)]) -> Result<(), crate::StoreError> {
    let mut seen = std::collections::HashSet::new();
    for (id, _) in documents {
        if id.is_empty() {
            return Err(crate::StoreError::Invalid("an empty document id".into()));
        }
        if !seen.insert(id.as_str()) {
            return Err(crate::StoreError::Conflict(format!(
                "document `{id}` appears twice in the list; nothing was queued"
            )));
        }
    }
    Ok(())
}

/// The conflict for a document already queued.
pub(crate) fn already_queued(id: &str) -> crate::StoreError {
    crate::StoreError::Conflict(format!(
        "document `{id}` is already queued; nothing was queued"
    ))
}

/// The conflict for a lease not held.
pub(crate) fn not_held(id: &str, worker: &str) -> crate::StoreError {
    crate::StoreError::Conflict(format!(
        "`{worker}` does not hold the lease on document `{id}`"
    ))
}

/// Checks a consumed approval's ids before writing.
pub(crate) fn approval_exists(id: &str) -> crate::StoreError {
    crate::StoreError::Conflict(format!("approval already consumed: `{id}`"))
}

/// The conflict for a reused review decision.
pub(crate) fn review_used(id: &str) -> crate::StoreError {
    crate::StoreError::Conflict(format!("review decision already used: `{id}`"))
}

/// The refusal for a host write while a plugin transaction is open.
pub(crate) fn transaction_open(what: &str) -> crate::StoreError {
    crate::StoreError::Invalid(format!(
        "{what} runs in its own transaction; commit or roll back the open one first"
    ))
}

/// The refusal for a plugin call outside a transaction.
pub(crate) fn no_transaction() -> crate::StoreError {
    crate::StoreError::Invalid("no open transaction".into())
}

/// A run appends to the runs index once: appending the same entry again (a
/// phase re-run after a crash between the append and the phase's commit)
/// returns the first append; another entry for the run is a conflict.
pub(crate) fn index_entry_again(
    run_id: &str,
    entry: &str,
    seq: i64,
    earlier: &str,
    prev_hash: String,
    hash: String,
) -> Result<crate::IndexEntry, crate::StoreError> {
    if earlier != entry {
        return Err(crate::StoreError::Conflict(format!(
            "run `{run_id}` already has a different runs-index entry (seq {seq})"
        )));
    }
    Ok(crate::IndexEntry {
        seq: seq as u64,
        prev_hash,
        hash,
    })
}

/// Checks index entry text is JSON.
pub(crate) fn check_entry(entry: &str) -> Result<(), crate::StoreError> {
    serde_json::from_str::<serde_json::Value>(entry)
        .map(|_| ())
        .map_err(|e| crate::StoreError::Invalid(format!("an index entry must be JSON: {e}")))
}

/// The refusal to commit a transaction a failed call could not be undone in.
pub(crate) fn aborted() -> crate::StoreError {
    crate::StoreError::Backend(
        "a failed call could not be undone; the transaction was rolled back".into(),
    )
}
