-- +goose Up
-- Status queries over many records (docs/PERFORMANCE.md): the listing reads
-- the newest records in index order instead of sorting the tenant's table,
-- and the summary finds each user's latest record, and its state, in one
-- covering index, which also serves a user's records newest first (it
-- replaces migrations_by_user, a prefix of it).
CREATE INDEX migrations_by_created ON migrations (tenant_id, created_at, id);
CREATE INDEX migrations_latest ON migrations (tenant_id, user_id, created_at, id, dry_run, state);
DROP INDEX migrations_by_user;
-- A run's latest failure, for its last message, without reading every result.
CREATE INDEX meeting_results_by_outcome ON meeting_results (migration_id, outcome, updated_at);
-- The sandbox's index sandbox_meetings_by_start was created here too: it
-- is the sandbox's migrations' now (see 00001_init.sql).

-- +goose Down
DROP INDEX meeting_results_by_outcome;
CREATE INDEX migrations_by_user ON migrations (tenant_id, user_id, created_at);
DROP INDEX migrations_latest;
DROP INDEX migrations_by_created;
