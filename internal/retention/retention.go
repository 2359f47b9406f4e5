// Package retention purges status records and events older than the
// retention period, and flood-control counters older than a week, once at
// start and then daily, for as long as the process runs. Several processes may run it: the deletes are idempotent.
package retention

import (
	"context"
	"log/slog"
	"time"

	"github.com/openmms/mms/internal/store"
)

// Every is how often the purge runs.
const Every = 24 * time.Hour

// Run purges now and every Every until ctx ends.
func Run(ctx context.Context, db *store.DB, keep time.Duration, log *slog.Logger) {
	t := time.NewTicker(Every)
	defer t.Stop()
	for {
		p, err := db.Purge(ctx, time.Now().Add(-keep))
		// Flood control reads only the current hour's and day's counters;
		// a week back covers any time zone and clock skew.
		if _, ferr := db.DeleteFloodCountersBefore(ctx, time.Now().Add(-7*24*time.Hour).UnixMilli()); ferr != nil && err == nil {
			err = ferr
		}
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("retention purge failed", "error", err)
		case p != (store.Purged{}):
			log.Info("retention purge", "migrations", p.Migrations, "meetingResults", p.MeetingResults, "events", p.Events,
				"olderThan", keep)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
