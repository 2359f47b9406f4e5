package store

import (
	"context"
	"testing"

	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store/storetest"
)

// Text from outside (a back end's error message, a meeting subject) may
// hold a NUL byte or invalid UTF-8. PostgreSQL's text refuses both; the
// write must not fail on one engine only (a record would stay open), so
// those bytes are stored as U+FFFD there, and kept on SQLite.
func TestTextWithNULAndInvalidUTF8IsStored(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		db := open(t, dsn)
		ctx := context.Background()
		rec, err := db.OpenPending(ctx, Request{TenantID: "t1", UserID: "u@x.com", Trigger: "x", MigrationType: "ToSameType",
			SourceMeetingType: "All", TargetMeetingType: "Current", WorkflowID: "wf-u"})
		if err != nil {
			t.Fatal(err)
		}
		msg := "graph said: a\x00b \xff c"
		if _, err := db.FailOpen(ctx, rec.CorrelationID, msg); err != nil {
			t.Fatalf("FailOpen with a NUL byte: %v", err)
		}
		got, err := db.StatusRecord(ctx, rec.CorrelationID)
		if err != nil {
			t.Fatal(err)
		}
		want := msg
		if IsPostgres(dsn) {
			want = "graph said: a\uFFFDb \uFFFD c"
		}
		if got.LastMessage != want {
			t.Fatalf("LastMessage = %q, want %q", got.LastMessage, want)
		}
		if got.State != migration.StateFailed {
			t.Fatalf("state %s, want Failed", got.State)
		}
	})
}
