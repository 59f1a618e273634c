-- phasehost store, schema version 2 (PostgreSQL): what a multi-worker batch
-- needs. See docs/STORE.md.
-- The queue gains the `waiting` state (a run paused at a human approval gate;
-- not claimable) and the gate it waits at. ALTER only: `position` stays an
-- identity column, so rows keep their positions and new rows come after them.

ALTER TABLE queue DROP CONSTRAINT queue_state_check;
ALTER TABLE queue ADD CONSTRAINT queue_state_check
    CHECK (state IN ('pending', 'claimed', 'waiting', 'done', 'failed'));
ALTER TABLE queue ADD COLUMN waiting_gate TEXT;

CREATE INDEX queue_waiting ON queue (run_id) WHERE state = 'waiting';

-- One row per committed phase of a run, written in the phase's transaction.
CREATE TABLE run_checkpoints (
    run_id           TEXT COLLATE "C" NOT NULL,
    phase_index      BIGINT NOT NULL,
    phase            TEXT COLLATE "C" NOT NULL,
    evidence_digest  TEXT NOT NULL,
    store_digest     TEXT NOT NULL,
    committed_at     BIGINT NOT NULL,
    PRIMARY KEY (run_id, phase_index)
);

CREATE TRIGGER run_checkpoints_append_only BEFORE UPDATE OR DELETE ON run_checkpoints
    FOR EACH ROW EXECUTE FUNCTION phasehost_append_only();
CREATE TRIGGER run_checkpoints_no_truncate BEFORE TRUNCATE ON run_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION phasehost_append_only();
