-- +goose Up
-- The typed cause of a skipped or failed meeting (internal/migration's
-- Reason), beside its message: metrics and filters use the code, so that
-- rewording a message never moves them. Results recorded before this
-- version have none.
ALTER TABLE meeting_results ADD COLUMN reason_code TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE meeting_results DROP COLUMN reason_code;
