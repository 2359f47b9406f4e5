-- +goose Up
-- Change events from upstream systems, each with the decision taken on it.
-- A client-supplied id makes a retried post return the recorded decision;
-- a bridge event fans out to one row per affected user.
CREATE TABLE events (
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    id             TEXT NOT NULL,
    user_id        TEXT NOT NULL, -- '' for a tenant-wide event that concerns nobody's blocks
    type           TEXT NOT NULL,
    payload        TEXT NOT NULL, -- the event as received (JSON)
    triggered      INTEGER NOT NULL,
    reason         TEXT NOT NULL,
    source_meeting_type TEXT NOT NULL DEFAULT '', -- the migration a trigger asks for
    target_meeting_type TEXT NOT NULL DEFAULT '',
    correlation_id TEXT NOT NULL DEFAULT '', -- the migration it started or joined
    received_at    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id, user_id)
);
CREATE INDEX events_by_user ON events (tenant_id, user_id, received_at);

-- +goose Down
DROP TABLE events;
