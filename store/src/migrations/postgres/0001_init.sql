-- phasehost store, schema version 1 (PostgreSQL). See docs/STORE.md.
-- Runs with search_path set to the store's schema. Text columns use the "C"
-- collation so primary-key order is byte order, as on SQLite.

CREATE TABLE documents (
    document_id     TEXT COLLATE "C" NOT NULL,
    title           TEXT COLLATE "C" NOT NULL,
    first_seen_run  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (document_id)
);

CREATE TABLE source_versions (
    document_id        TEXT COLLATE "C" NOT NULL,
    version            TEXT COLLATE "C" NOT NULL,
    seq                BIGINT NOT NULL,
    raw_sha256         TEXT COLLATE "C" NOT NULL,
    normalized_sha256  TEXT COLLATE "C" NOT NULL,
    raw_bytes          BIGINT NOT NULL,
    normalized_bytes   BIGINT NOT NULL,
    chars              BIGINT NOT NULL,
    status             TEXT COLLATE "C" NOT NULL CHECK (status IN ('staged', 'in_force', 'retired')),
    PRIMARY KEY (document_id, version)
);

CREATE TABLE units (
    document_id  TEXT COLLATE "C" NOT NULL,
    version      TEXT COLLATE "C" NOT NULL,
    eid          TEXT COLLATE "C" NOT NULL,
    parent_eid   TEXT COLLATE "C",
    kind         TEXT COLLATE "C" NOT NULL,
    ordinal      BIGINT NOT NULL,
    number       TEXT COLLATE "C" NOT NULL,
    heading      TEXT COLLATE "C" NOT NULL,
    text         TEXT COLLATE "C" NOT NULL,
    text_sha     TEXT COLLATE "C" NOT NULL,
    seq          BIGINT NOT NULL,
    status       TEXT COLLATE "C" NOT NULL CHECK (status IN ('staged', 'in_force', 'retired')),
    PRIMARY KEY (document_id, version, eid)
);

-- No (document_id, version, seq) index here: without statistics (a table
-- filled within the current transaction) the planner ties it with the primary
-- key and may answer a lookup by eid with a scan of the whole version. The
-- document-order read is one primary-key range scan plus a sort.

CREATE TABLE envelopes (
    envelope_id    TEXT COLLATE "C" NOT NULL,
    document_id    TEXT COLLATE "C" NOT NULL,
    version        TEXT COLLATE "C" NOT NULL,
    eid            TEXT COLLATE "C" NOT NULL,
    text_sha       TEXT COLLATE "C" NOT NULL,
    plan_digest    TEXT COLLATE "C" NOT NULL,
    source_sha256  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (document_id, envelope_id)
);

CREATE TABLE runs (
    run_id       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    document_id  TEXT COLLATE "C" NOT NULL,
    version      TEXT COLLATE "C",
    mode         TEXT NOT NULL,
    status       TEXT NOT NULL,
    plan_digest  TEXT,
    started_at   BIGINT NOT NULL,
    ended_at     BIGINT
);

CREATE FUNCTION phasehost_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;

CREATE TABLE consumed_approvals (
    approval_id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    review_decision_id  TEXT COLLATE "C" UNIQUE,
    run_id              TEXT COLLATE "C" NOT NULL,
    gate                TEXT NOT NULL,
    evidence_digest     TEXT NOT NULL,
    key_id              TEXT NOT NULL,
    consumed_at         BIGINT NOT NULL
);

CREATE TRIGGER consumed_approvals_append_only BEFORE UPDATE OR DELETE ON consumed_approvals
    FOR EACH ROW EXECUTE FUNCTION phasehost_append_only();
CREATE TRIGGER consumed_approvals_no_truncate BEFORE TRUNCATE ON consumed_approvals
    FOR EACH STATEMENT EXECUTE FUNCTION phasehost_append_only();

CREATE TABLE runs_index (
    seq          BIGINT NOT NULL PRIMARY KEY,
    run_id       TEXT COLLATE "C" NOT NULL,
    document_id  TEXT COLLATE "C" NOT NULL,
    entry        TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    appended_at  BIGINT NOT NULL
);

CREATE TRIGGER runs_index_append_only BEFORE UPDATE OR DELETE ON runs_index
    FOR EACH ROW EXECUTE FUNCTION phasehost_append_only();
CREATE TRIGGER runs_index_no_truncate BEFORE TRUNCATE ON runs_index
    FOR EACH STATEMENT EXECUTE FUNCTION phasehost_append_only();

CREATE TABLE queue (
    document_id  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    source_path  TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'claimed', 'done', 'failed')),
    lease_owner  TEXT,
    lease_until  BIGINT,
    attempts     BIGINT NOT NULL DEFAULT 0,
    run_id       TEXT,
    last_error   TEXT,
    position     BIGINT GENERATED ALWAYS AS IDENTITY,
    enqueued_at  BIGINT NOT NULL
);

CREATE INDEX queue_claimable ON queue (state, position);
