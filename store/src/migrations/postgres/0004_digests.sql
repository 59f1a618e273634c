-- phasehost store, schema version 4 (PostgreSQL): digest columns hold their
-- 32 bytes (bytea) instead of 64 hex digits. See docs/STORE.md.
-- Plugins still see and send 64 lowercase hex digits; the store converts,
-- and the document digest hashes the hex form, so every digest recorded
-- before this migration stays valid. A value that is not hex fails
-- decode(): the migration, and the open, fail and nothing changes.

ALTER TABLE source_versions ALTER COLUMN raw_sha256 TYPE BYTEA USING decode(raw_sha256, 'hex');
ALTER TABLE source_versions ALTER COLUMN normalized_sha256 TYPE BYTEA USING decode(normalized_sha256, 'hex');
ALTER TABLE units ALTER COLUMN text_sha TYPE BYTEA USING decode(text_sha, 'hex');
ALTER TABLE envelopes ALTER COLUMN text_sha TYPE BYTEA USING decode(text_sha, 'hex');
ALTER TABLE envelopes ALTER COLUMN plan_digest TYPE BYTEA USING decode(plan_digest, 'hex');
ALTER TABLE envelopes ALTER COLUMN source_sha256 TYPE BYTEA USING decode(source_sha256, 'hex');
