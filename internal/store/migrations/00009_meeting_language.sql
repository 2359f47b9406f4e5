-- +goose Up
-- The language a meeting's new block was written in, and why it was chosen
-- (internal/meetingblock's catalog matching), so an admin can see it per
-- meeting. Empty for results recorded before this version.
ALTER TABLE meeting_results ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE meeting_results ADD COLUMN language_reason TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE meeting_results DROP COLUMN language_reason;
ALTER TABLE meeting_results DROP COLUMN language;
