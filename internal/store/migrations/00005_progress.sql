-- +goose Up
-- Progress of a run, for `mms status --watch`: how many meetings the back
-- end holds in the window (0: it cannot count them) and how many have an
-- outcome so far, skipped ones included.
ALTER TABLE migrations ADD COLUMN expected_meeting INTEGER NOT NULL DEFAULT 0;
ALTER TABLE migrations ADD COLUMN processed_meeting INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE migrations DROP COLUMN processed_meeting;
ALTER TABLE migrations DROP COLUMN expected_meeting;
