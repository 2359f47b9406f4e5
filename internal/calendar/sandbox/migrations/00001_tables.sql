-- +goose Up
-- The sandbox's tables, as the store's migrations 00001 and 00006 created
-- them before the sandbox owned its schema. IF NOT EXISTS adopts them in a
-- database created then (same definitions, data kept) and creates them in a
-- new one; the sandbox records its versions in sandbox_goose_db_version.
-- Keep these definitions identical to the old ones: an adopted table is not
-- altered, so a difference here would be a difference between databases.

CREATE TABLE IF NOT EXISTS sandbox_mailboxes (
    tenant_id    TEXT NOT NULL,
    address      TEXT NOT NULL,
    display_name TEXT NOT NULL,
    location     TEXT NOT NULL, -- online | onprem
    PRIMARY KEY (tenant_id, address)
);

CREATE TABLE IF NOT EXISTS sandbox_meetings (
    tenant_id        TEXT NOT NULL,
    id               TEXT NOT NULL,
    mailbox          TEXT NOT NULL, -- whose calendar holds this item
    organizer        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    start_time       TEXT NOT NULL,
    end_time         TEXT NOT NULL,
    kind             TEXT NOT NULL, -- single | seriesMaster | exception
    series_master_id TEXT NOT NULL DEFAULT '',
    recurrence       TEXT NOT NULL DEFAULT '', -- RRULE of a series master
    series_end       TEXT NOT NULL DEFAULT '', -- end of the last occurrence; '' = no end
    attendees        TEXT NOT NULL, -- JSON array of {address, name}
    body             TEXT NOT NULL,
    body_type        TEXT NOT NULL, -- html | text
    online_meeting   TEXT NOT NULL DEFAULT '', -- JSON calendar.OnlineMeeting; '' = not an online meeting
    version          INTEGER NOT NULL, -- the etag
    last_update_key  TEXT NOT NULL DEFAULT '',
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS sandbox_meetings_by_mailbox ON sandbox_meetings (tenant_id, mailbox, end_time);
-- Pages in the order the sandbox serves them (keyset paging on start and
-- id): a page reads its own items, not the mailbox up to it.
CREATE INDEX IF NOT EXISTS sandbox_meetings_by_start ON sandbox_meetings (tenant_id, mailbox, start_time, id);

-- Every notification the sandbox "sent": one row per attendee per update.
CREATE TABLE IF NOT EXISTS sandbox_outbox (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    meeting_id      TEXT NOT NULL,
    sender          TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    sent_at         TEXT NOT NULL,
    UNIQUE (idempotency_key, recipient)
);
CREATE INDEX IF NOT EXISTS sandbox_outbox_by_meeting ON sandbox_outbox (tenant_id, meeting_id);

-- Teams meetings created for calendar items converted from Skype, keyed by
-- the item so a retry gets the same meeting (Graph's createOrGet).
CREATE TABLE IF NOT EXISTS sandbox_online_meetings (
    tenant_id    TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    join_url     TEXT NOT NULL,
    meeting_code TEXT NOT NULL,
    passcode     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, external_id)
);

-- +goose Down
DROP TABLE sandbox_online_meetings;
DROP TABLE sandbox_outbox;
DROP TABLE sandbox_meetings;
DROP TABLE sandbox_mailboxes;
