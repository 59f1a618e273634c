-- phasehost store, schema version 1 (SQLite). See docs/STORE.md.

CREATE TABLE documents (
    document_id     TEXT NOT NULL,
    title           TEXT NOT NULL,
    first_seen_run  TEXT NOT NULL,
    PRIMARY KEY (document_id)
) STRICT;

CREATE TABLE source_versions (
    document_id        TEXT NOT NULL,
    version            TEXT NOT NULL,
    seq                INTEGER NOT NULL,
    raw_sha256         TEXT NOT NULL,
    normalized_sha256  TEXT NOT NULL,
    raw_bytes          INTEGER NOT NULL,
    normalized_bytes   INTEGER NOT NULL,
    chars              INTEGER NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('staged', 'in_force', 'retired')),
    PRIMARY KEY (document_id, version)
) STRICT;

CREATE TABLE units (
    document_id  TEXT NOT NULL,
    version      TEXT NOT NULL,
    eid          TEXT NOT NULL,
    parent_eid   TEXT,
    kind         TEXT NOT NULL,
    ordinal      INTEGER NOT NULL,
    number       TEXT NOT NULL,
    heading      TEXT NOT NULL,
    text         TEXT NOT NULL,
    text_sha     TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('staged', 'in_force', 'retired')),
    PRIMARY KEY (document_id, version, eid)
) STRICT;

CREATE INDEX units_document_order ON units (document_id, version, seq, eid);

CREATE TABLE envelopes (
    envelope_id    TEXT NOT NULL,
    document_id    TEXT NOT NULL,
    version        TEXT NOT NULL,
    eid            TEXT NOT NULL,
    text_sha       TEXT NOT NULL,
    plan_digest    TEXT NOT NULL,
    source_sha256  TEXT NOT NULL,
    PRIMARY KEY (document_id, envelope_id)
) WITHOUT ROWID, STRICT;

CREATE TABLE runs (
    run_id       TEXT NOT NULL PRIMARY KEY,
    document_id  TEXT NOT NULL,
    version      TEXT,
    mode         TEXT NOT NULL,
    status       TEXT NOT NULL,
    plan_digest  TEXT,
    started_at   INTEGER NOT NULL,
    ended_at     INTEGER
) STRICT;

CREATE TABLE consumed_approvals (
    approval_id         TEXT NOT NULL PRIMARY KEY,
    review_decision_id  TEXT UNIQUE,
    run_id              TEXT NOT NULL,
    gate                TEXT NOT NULL,
    evidence_digest     TEXT NOT NULL,
    key_id              TEXT NOT NULL,
    consumed_at         INTEGER NOT NULL
) STRICT;

CREATE TRIGGER consumed_approvals_no_update BEFORE UPDATE ON consumed_approvals
BEGIN SELECT RAISE(ABORT, 'consumed_approvals is append-only'); END;
CREATE TRIGGER consumed_approvals_no_delete BEFORE DELETE ON consumed_approvals
BEGIN SELECT RAISE(ABORT, 'consumed_approvals is append-only'); END;

CREATE TABLE runs_index (
    seq          INTEGER NOT NULL PRIMARY KEY,
    run_id       TEXT NOT NULL,
    document_id  TEXT NOT NULL,
    entry        TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    appended_at  INTEGER NOT NULL
) STRICT;

CREATE TRIGGER runs_index_no_update BEFORE UPDATE ON runs_index
BEGIN SELECT RAISE(ABORT, 'runs_index is append-only'); END;
CREATE TRIGGER runs_index_no_delete BEFORE DELETE ON runs_index
BEGIN SELECT RAISE(ABORT, 'runs_index is append-only'); END;

CREATE TABLE queue (
    document_id  TEXT NOT NULL PRIMARY KEY,
    source_path  TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'claimed', 'done', 'failed')),
    lease_owner  TEXT,
    lease_until  INTEGER,
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_id       TEXT,
    last_error   TEXT,
    position     INTEGER NOT NULL,
    enqueued_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX queue_claimable ON queue (state, position);
