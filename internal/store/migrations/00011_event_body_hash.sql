-- +goose Up
-- An event ID is an idempotency key with integrity (issue 18, finding 5):
-- a retry with the same ID and the same body replays the recorded decision,
-- while the same ID with a different body is refused (409), so a second
-- change under a reused ID is never silently answered with the first one's
-- decision. The service compares the SHA-256 of the event's canonical body
-- (changes.BodyHash), hex-encoded. Rows recorded before this migration have
-- '' here: a retry of them replays without comparison, as before.
ALTER TABLE events ADD COLUMN body_sha256 TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE events DROP COLUMN body_sha256;
