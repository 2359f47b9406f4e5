-- +goose Up
-- User IDs compare without regard to case (issue 18): the service now stores
-- the canonical form, ASCII lower case (migration.CanonicalUserID), and
-- every edge folds what it receives to it. This brings the rows stored
-- before into that form. SQLite's lower() folds ASCII only, exactly as
-- CanonicalUserID does, so both agree on every ID.
--
-- Two spellings of one user ("Alice@x", "alice@x") were two directory rows;
-- they become one. The row changed last wins, as the last change said what
-- the profile is; the other's migrations and events stay, now under the one
-- ID. An event recorded for both spellings keeps its first decision.
DELETE FROM users WHERE EXISTS (
    SELECT 1 FROM users o
    WHERE o.tenant_id = users.tenant_id AND lower(o.id) = lower(users.id) AND o.id <> users.id
      AND (o.updated_at > users.updated_at OR (o.updated_at = users.updated_at AND o.id < users.id)));
UPDATE users SET id = lower(id) WHERE id <> lower(id);

DELETE FROM events WHERE EXISTS (
    SELECT 1 FROM events o
    WHERE o.tenant_id = events.tenant_id AND o.id = events.id
      AND lower(o.user_id) = lower(events.user_id) AND o.user_id <> events.user_id
      AND (o.received_at < events.received_at OR (o.received_at = events.received_at AND o.user_id < events.user_id)));
UPDATE events SET user_id = lower(user_id) WHERE user_id <> lower(user_id);

UPDATE migrations SET user_id = lower(user_id) WHERE user_id <> lower(user_id);

-- +goose Down
-- Nothing to undo: the original spellings are not kept, and lower-case IDs
-- are valid for the versions before this one.
SELECT 1;
