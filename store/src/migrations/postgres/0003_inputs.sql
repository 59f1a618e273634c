-- phasehost store, schema version 3 (PostgreSQL): what a run needs to stop
-- trusting its run folder and the queue rows. See docs/STORE.md.
-- ADD COLUMN only (a constant default: no table rewrite): rows, the queue's
-- identity `position`, the append-only triggers and the table-level grants
-- of least-privilege roles stay as they are. Rows from before version 3 get
-- '' in the new columns.

-- The sha256 of the plan file a document was enqueued under.
ALTER TABLE queue ADD COLUMN plan_sha256 TEXT NOT NULL DEFAULT '';

-- The digest of the run's inputs (source, plan, plugins) a phase committed on.
ALTER TABLE run_checkpoints ADD COLUMN inputs_digest TEXT NOT NULL DEFAULT '';
