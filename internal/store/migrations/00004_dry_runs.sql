-- +goose Up
-- A dry run computes every meeting's outcome and diff without writing or
-- notifying. Its record stands apart: it never merges with a user's real
-- migration and is left out of "latest" and the summary.
ALTER TABLE migrations ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0;
ALTER TABLE meeting_results ADD COLUMN diff TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE meeting_results DROP COLUMN diff;
ALTER TABLE migrations DROP COLUMN dry_run;
