// Package retention purges status records and events older than the
// retention period, once at start and then daily, for as long as the
// process runs. Several processes may run it: the deletes are idempotent.
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
