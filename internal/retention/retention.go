// Package retention purges status records and events older than the
// retention period, once at start and then daily, for as long as the
// process runs. Several processes may run it: the deletes are idempotent.
package retention

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/openmms/mms/internal/store"
)

// Every is how often the purge runs.
const Every = 24 * time.Hour

// FromEnv reads MMS_RETENTION_DAYS (default 150 days, as Microsoft's service).
func FromEnv() (time.Duration, error) {
	raw := os.Getenv("MMS_RETENTION_DAYS")
	if raw == "" {
		return store.DefaultRetention, nil
	}
	days, err := strconv.Atoi(raw)
	if err != nil || days < 1 || days > 3650 {
		return 0, fmt.Errorf("MMS_RETENTION_DAYS: must be a whole number of days from 1 to 3650, not %q", raw)
	}
	return time.Duration(days) * 24 * time.Hour, nil
}

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
