-- phasehost store, schema version 2 (SQLite): what a multi-worker batch
-- needs. See docs/STORE.md.
-- The queue gains the `waiting` state (a run paused at a human approval gate;
-- not claimable) and the gate it waits at. SQLite cannot alter a CHECK, so
-- the table is rebuilt; rows keep their positions (enqueue continues after
-- the largest).

CREATE TABLE queue_v2 (
    document_id   TEXT NOT NULL PRIMARY KEY,
    source_path   TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'claimed', 'waiting', 'done', 'failed')),
    lease_owner   TEXT,
    lease_until   INTEGER,
    attempts      INTEGER NOT NULL DEFAULT 0,
    run_id        TEXT,
    last_error    TEXT,
    position      INTEGER NOT NULL,
    enqueued_at   INTEGER NOT NULL,
    waiting_gate  TEXT
) STRICT;

INSERT INTO queue_v2 (document_id, source_path, state, lease_owner, lease_until, attempts,
                      run_id, last_error, position, enqueued_at)
    SELECT document_id, source_path, state, lease_owner, lease_until, attempts,
           run_id, last_error, position, enqueued_at
    FROM queue;

DROP TABLE queue;
ALTER TABLE queue_v2 RENAME TO queue;

CREATE INDEX queue_claimable ON queue (state, position);
CREATE INDEX queue_waiting ON queue (run_id) WHERE state = 'waiting';

-- One row per committed phase of a run, written in the phase's transaction.
CREATE TABLE run_checkpoints (
    run_id           TEXT NOT NULL,
    phase_index      INTEGER NOT NULL,
    phase            TEXT NOT NULL,
    evidence_digest  TEXT NOT NULL,
    store_digest     TEXT NOT NULL,
    committed_at     INTEGER NOT NULL,
    PRIMARY KEY (run_id, phase_index)
) STRICT;

CREATE TRIGGER run_checkpoints_no_update BEFORE UPDATE ON run_checkpoints
BEGIN SELECT RAISE(ABORT, 'run_checkpoints is append-only'); END;
CREATE TRIGGER run_checkpoints_no_delete BEFORE DELETE ON run_checkpoints
BEGIN SELECT RAISE(ABORT, 'run_checkpoints is append-only'); END;
