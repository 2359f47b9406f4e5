-- +goose Up
-- Flood control (issue 21): how much of each budget a period has used.
-- counter names the budget ("notifications" for the tenant's hourly
-- notifications, "meetings:<organizer>", "recipients:<organizer>");
-- period_start is the period's start in Unix seconds. Activities reserve
-- with a compare-and-set on used, so every worker respects one budget.
CREATE TABLE flood_counters (
    tenant_id    TEXT   NOT NULL,
    counter      TEXT   NOT NULL,
    period_start BIGINT NOT NULL,
    used         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, counter, period_start)
);

-- +goose Down
DROP TABLE flood_counters;
