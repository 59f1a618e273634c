-- phasehost store, schema version 4 (SQLite): digest columns hold their 32
-- bytes (a BLOB) instead of 64 hex digits. See docs/STORE.md.
-- Plugins still see and send 64 lowercase hex digits; the store converts,
-- and the document digest hashes the hex form, so every digest recorded
-- before this migration stays valid. SQLite cannot change a column's type,
-- so the three tables are rebuilt. A value that is not hex fails unhex()
-- (NULL into a NOT NULL column): the migration, and the open, fail and
-- nothing changes.

CREATE TABLE source_versions_v4 (
    document_id        TEXT NOT NULL,
    version            TEXT NOT NULL,
    seq                INTEGER NOT NULL,
    raw_sha256         BLOB NOT NULL,
    normalized_sha256  BLOB NOT NULL,
    raw_bytes          INTEGER NOT NULL,
    normalized_bytes   INTEGER NOT NULL,
    chars              INTEGER NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('staged', 'in_force', 'retired')),
    PRIMARY KEY (document_id, version)
) STRICT;

INSERT INTO source_versions_v4
    SELECT document_id, version, seq, unhex(raw_sha256), unhex(normalized_sha256),
           raw_bytes, normalized_bytes, chars, status
    FROM source_versions;

DROP TABLE source_versions;
ALTER TABLE source_versions_v4 RENAME TO source_versions;

CREATE TABLE units_v4 (
    document_id  TEXT NOT NULL,
    version      TEXT NOT NULL,
    eid          TEXT NOT NULL,
    parent_eid   TEXT,
    kind         TEXT NOT NULL,
    ordinal      INTEGER NOT NULL,
    number       TEXT NOT NULL,
    heading      TEXT NOT NULL,
    text         TEXT NOT NULL,
    text_sha     BLOB NOT NULL,
    seq          INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('staged', 'in_force', 'retired')),
    PRIMARY KEY (document_id, version, eid)
) STRICT;

INSERT INTO units_v4
    SELECT document_id, version, eid, parent_eid, kind, ordinal, number, heading, text,
           unhex(text_sha), seq, status
    FROM units;

DROP TABLE units;
ALTER TABLE units_v4 RENAME TO units;

CREATE INDEX units_document_order ON units (document_id, version, seq, eid);

CREATE TABLE envelopes_v4 (
    envelope_id    TEXT NOT NULL,
    document_id    TEXT NOT NULL,
    version        TEXT NOT NULL,
    eid            TEXT NOT NULL,
    text_sha       BLOB NOT NULL,
    plan_digest    BLOB NOT NULL,
    source_sha256  BLOB NOT NULL,
    PRIMARY KEY (document_id, envelope_id)
) WITHOUT ROWID, STRICT;

INSERT INTO envelopes_v4
    SELECT envelope_id, document_id, version, eid, unhex(text_sha), unhex(plan_digest),
           unhex(source_sha256)
    FROM envelopes;

DROP TABLE envelopes;
ALTER TABLE envelopes_v4 RENAME TO envelopes;
