package store

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store/storetest"
)

// open opens the store on dsn (a new database of storetest's) with tenant t1.
func open(t *testing.T, dsn string) *DB {
	t.Helper()
	db, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.PutTenant(context.Background(), Tenant{ID: "t1", DisplayName: "T1", Settings: migration.DefaultSettings()}); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestOpenTwiceKeepsData(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.PutTenant(ctx, Tenant{ID: "t1", DisplayName: "T1", Settings: migration.DefaultSettings()}); err != nil {
			t.Fatal(err)
		}
		db.Close()
		db, err = Open(ctx, dsn) // migrations already applied: a no-op
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		got, err := db.Tenant(ctx, "t1")
		if err != nil || got.Settings.ParticipantLimit != 250 || !got.Settings.MeetingMigrationEnabled {
			t.Fatalf("tenant after reopen = %+v, %v", got, err)
		}
		if _, err := db.Tenant(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown tenant: %v, want ErrNotFound", err)
		}
	})
}

// Several processes opening a new PostgreSQL database at once (two API
// replicas and three workers starting together) migrate it once, one after
// the other. (A SQLite file is one host's: its first process migrates it.)
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	dsn := storetest.DSN(t, storetest.Postgres)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := Open(ctx, dsn)
			if err == nil {
				err = db.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// The sandbox's tables are the sandbox's (internal/calendar/sandbox): a new
// database gets none from the store's migrations.
func TestNewDatabaseHasNoSandboxTables(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		db := open(t, dsn)
		q := `SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'sandbox%'`
		if IsPostgres(dsn) {
			q = `SELECT COUNT(*) FROM pg_class WHERE relname LIKE 'sandbox%'`
		}
		var n int
		if err := db.sql.QueryRow(q).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d sandbox objects (%v) in a database the store created", n, err)
		}
	})
}

// Bad input (issue 19): a PostgreSQL URL that cannot connect is one line
// naming the host and the cause, never the password.
func TestOpenPostgresThatCannotConnect(t *testing.T) {
	ctx := context.Background()
	// A port nothing listens on: the dial is refused at once.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	for _, c := range []struct{ dsn, want string }{
		{"postgres://mms:s3cr%23t-pw@" + addr + "/mms?sslmode=disable", addr},
		{"postgresql://mms:s3cr%23t-pw@" + addr + "/mms?sslmode=disable&pool_max_conns=4", "connection refused"},
		{"postgres://mms:s3cr%23t-pw@" + addr + "/mms?pool_max_conns=zero", "pool_max_conns"},
		{"postgres://mms:s3cr%23t-pw@host.invalid:5432/mms?connect_timeout=5", "host.invalid:5432"},
	} {
		_, err := Open(ctx, c.dsn)
		if err == nil {
			t.Fatalf("%s: opened", c.dsn)
		}
		msg := err.Error()
		if strings.Contains(msg, "s3cr") || strings.ContainsAny(msg, "\n\r") ||
			!strings.Contains(msg, c.want) {
			t.Errorf("error %q: want one line naming %q, without the password", msg, c.want)
		}
	}
}

func TestPendingMergesThenBeginRunIsIdempotent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		req := Request{TenantID: "t1", UserID: "u1", Trigger: "first", MigrationType: "ToSameType",
			SourceMeetingType: "All", TargetMeetingType: "Current", WorkflowID: "wf"}
		a, err := db.OpenPending(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		req.Trigger = "second"
		b, err := db.OpenPending(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if a.CorrelationID != b.CorrelationID || b.TriggerCount != 2 || b.LastTrigger != "second" || b.State != migration.StatePending {
			t.Fatalf("second trigger should merge into the Pending record: %+v then %+v", a, b)
		}
		r1, err := db.BeginRun(ctx, req, "wf/run/1")
		if err != nil {
			t.Fatal(err)
		}
		r2, err := db.BeginRun(ctx, req, "wf/run/1") // a retried activity
		if err != nil {
			t.Fatal(err)
		}
		if r1.CorrelationID != a.CorrelationID || r2.CorrelationID != a.CorrelationID || r2.State != migration.StateInProgress ||
			r2.TriggerCount != 2 {
			t.Fatalf("BeginRun should claim the Pending record once: %+v, %+v", r1, r2)
		}
		// A trigger during the run opens a new Pending record for the follow-up.
		c, err := db.OpenPending(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if c.CorrelationID == a.CorrelationID || c.State != migration.StatePending {
			t.Fatalf("trigger during a run should open a new record: %+v", c)
		}
		// A new run while the old one is InProgress (its workflow was terminated)
		// closes the stale record.
		if _, err := db.BeginRun(ctx, req, "wf/run2/1"); err != nil {
			t.Fatal(err)
		}
		old, _ := db.StatusRecord(ctx, a.CorrelationID)
		if old.State != migration.StateFailed || old.LastMessage == "" {
			t.Fatalf("stale InProgress record = %+v, want Failed with a message", old)
		}
	})
}

func TestRecordResultsCountsOnceAcrossRetries(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		req := Request{TenantID: "t1", UserID: "u1", Trigger: "x", MigrationType: "ToSameType",
			SourceMeetingType: "All", TargetMeetingType: "Current", WorkflowID: "wf"}
		m, err := db.BeginRun(ctx, req, "k")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)
		batch := []MeetingResult{
			{MeetingID: "a", Subject: "A", Start: start, Outcome: migration.OutcomeUpdated, InvitesSent: 3},
			{MeetingID: "b", Subject: "B", Start: start, Outcome: migration.OutcomeUpToDate},
			{MeetingID: "c", Subject: "C", Start: start, Outcome: migration.OutcomeSkipped, Reason: "not organizer"},
			{MeetingID: "d", Subject: "D", Start: start, Outcome: migration.OutcomeFailed, Reason: "boom"},
		}
		for range 2 { // the same batch recorded twice, as after a retried activity
			if m, err = db.RecordResults(ctx, m.CorrelationID, batch); err != nil {
				t.Fatal(err)
			}
		}
		if m.TotalMeeting != 3 || m.SucceededMeeting != 2 || m.FailedMeeting != 1 || m.SkippedMeeting != 1 ||
			m.InvitesUpdate != 1 || m.LastMessage != "boom" {
			t.Fatalf("counters = %+v", m)
		}
		done, err := db.FinishRun(ctx, m.CorrelationID, migration.StateFailed, "1 failed")
		if err != nil || done.State != migration.StateFailed {
			t.Fatalf("finish = %+v, %v", done, err)
		}
		if _, err := db.FinishRun(ctx, m.CorrelationID, migration.StatePending, ""); err == nil {
			t.Fatal("Pending is not a final state")
		}
		res, err := db.MeetingResults(ctx, m.CorrelationID)
		if err != nil || len(res) != 4 || !res[0].Start.Equal(start) {
			t.Fatalf("results = %+v, %v", res, err)
		}
	})
}

func TestTokensAreHashedAndScoped(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		secret, err := db.CreateToken(ctx, "ops", "t1", RoleOperator)
		if err != nil {
			t.Fatal(err)
		}
		var stored string
		if err := db.sql.QueryRow(`SELECT token_hash FROM api_tokens`).Scan(&stored); err != nil || stored == secret {
			t.Fatalf("token stored as %q (%v): must be a hash", stored, err)
		}
		tok, err := db.LookupToken(ctx, secret)
		if err != nil || tok.TenantID != "t1" || tok.Name != "ops" || tok.Role != RoleOperator {
			t.Fatalf("lookup = %+v, %v", tok, err)
		}
		if _, err := db.LookupToken(ctx, secret+"x"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("wrong secret: %v", err)
		}
		if err := db.ImportToken(ctx, "dev", "", RoleAdmin, "short"); err == nil {
			t.Fatal("short token accepted")
		}
		if _, err := db.CreateToken(ctx, "x", "", "superuser"); err == nil {
			t.Fatal("unknown role accepted")
		}
		if n, err := db.RevokeToken(ctx, "ops", "t1"); err != nil || n != 1 {
			t.Fatalf("revoke = %d, %v", n, err)
		}
		if _, err := db.LookupToken(ctx, secret); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revoked token still works: %v", err)
		}
	})
}

func TestDryRunStandsApart(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		req := Request{TenantID: "t1", UserID: "u1", Trigger: "x", MigrationType: "ToSameType",
			SourceMeetingType: "All", TargetMeetingType: "Current", WorkflowID: "wf"}
		dry, err := db.OpenDryRun(ctx, req)
		if err != nil || !dry.DryRun || dry.State != migration.StatePending {
			t.Fatalf("dry = %+v, %v", dry, err)
		}
		real, _ := db.OpenPending(ctx, req)
		if real.CorrelationID == dry.CorrelationID || real.DryRun {
			t.Fatal("a real trigger merged into the dry run's record")
		}
		dreq := req
		dreq.CorrelationID = dry.CorrelationID
		claimed, err := db.BeginRun(ctx, dreq, "dry/1")
		if err != nil || claimed.CorrelationID != dry.CorrelationID || claimed.State != migration.StateInProgress {
			t.Fatalf("claim = %+v, %v", claimed, err)
		}
		if again, err := db.BeginRun(ctx, dreq, "dry/1"); err != nil || again.CorrelationID != dry.CorrelationID {
			t.Fatalf("retried claim = %+v, %v", again, err)
		}
		if _, err := db.BeginRun(ctx, dreq, "dry/other"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a second run claimed the dry run: %v", err)
		}
		// A real run neither claims nor abandons the dry run in progress.
		r, err := db.BeginRun(ctx, req, "real/1")
		if err != nil || r.CorrelationID != real.CorrelationID {
			t.Fatalf("real run = %+v, %v", r, err)
		}
		if d, _ := db.StatusRecord(ctx, dry.CorrelationID); d.State != migration.StateInProgress {
			t.Fatalf("dry run after a real run began: %+v", d)
		}
		db.FinishRun(ctx, dry.CorrelationID, migration.StateSucceeded, "")
		latest, _ := db.LatestStatusRecord(ctx, "t1", "u1")
		sum, _ := db.Summary(ctx, "t1", Filter{})
		if latest.CorrelationID != real.CorrelationID || sum[migration.StateSucceeded] != 0 || sum[migration.StateInProgress] != 1 {
			t.Fatalf("latest = %s, summary = %v: a dry run must not count as the user's state", latest.CorrelationID, sum)
		}
		counts, err := db.StateCounts(ctx)
		if want := map[migration.State]int{migration.StatePending: 0, migration.StateInProgress: 1, migration.StateSucceeded: 0, migration.StateFailed: 0}; err != nil ||
			!maps.Equal(counts, want) {
			t.Fatalf("state counts = %v, %v; want %v: a dry run is not counted", counts, err, want)
		}
	})
}

func TestPurgeKeepsWhatIsRecentOrOpen(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		db.now = func() time.Time { return clock }
		req := func(u string) Request {
			return Request{TenantID: "t1", UserID: u, Trigger: "x", MigrationType: "ToSameType", SourceMeetingType: "All",
				TargetMeetingType: "Current", WorkflowID: "wf-" + u}
		}
		old, _ := db.BeginRun(ctx, req("old"), "k1")
		db.RecordResults(ctx, old.CorrelationID, []MeetingResult{{MeetingID: "m", Subject: "s", Start: clock, Outcome: migration.OutcomeUpdated}})
		db.FinishRun(ctx, old.CorrelationID, migration.StateSucceeded, "")
		stuck, _ := db.OpenPending(ctx, req("stuck")) // old but still Pending
		db.RecordEvent(ctx, "t1", Event{ID: "e-old", UserID: "old", Type: "sipAddressChanged", Payload: []byte(`{}`), Reason: "ignored"}, nil, nil)
		clock = clock.Add(200 * 24 * time.Hour)
		recent, _ := db.BeginRun(ctx, req("recent"), "k2")
		db.FinishRun(ctx, recent.CorrelationID, migration.StateFailed, "x")
		db.RecordEvent(ctx, "t1", Event{ID: "e-new", UserID: "recent", Type: "sipAddressChanged", Payload: []byte(`{}`), Reason: "ignored"}, nil, nil)

		p, err := db.Purge(ctx, clock.Add(-DefaultRetention))
		if err != nil {
			t.Fatal(err)
		}
		if p != (Purged{Migrations: 1, MeetingResults: 1, Events: 1}) {
			t.Fatalf("purged %+v", p)
		}
		for id, want := range map[string]bool{old.CorrelationID: false, stuck.CorrelationID: true, recent.CorrelationID: true} {
			if _, err := db.StatusRecord(ctx, id); (err == nil) != want {
				t.Errorf("record %s kept=%v, want %v", id, err == nil, want)
			}
		}
		if evs, _ := db.Events(ctx, "t1", "", 10); len(evs) != 1 || evs[0].ID != "e-new" {
			t.Fatalf("events left: %+v", evs)
		}
	})
}

func TestProfileCompareAndSet(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		db := open(t, dsn)
		ctx := context.Background()
		if err := db.PutTenant(ctx, Tenant{ID: "t1", Settings: migration.DefaultSettings()}); err != nil {
			t.Fatal(err)
		}
		v1, v2, v3 := json.RawMessage(`{"conferenceId":"1"}`), json.RawMessage(`{"conferenceId":"2"}`), json.RawMessage(`{"conferenceId":"3"}`)
		if err := db.ReplaceUser(ctx, User{TenantID: "t1", ID: "u", Profile: v1}, nil); err != nil {
			t.Fatal(err)
		}
		if err := db.ReplaceUser(ctx, User{TenantID: "t1", ID: "u", Profile: v2}, nil); !errors.Is(err, ErrConflict) {
			t.Fatalf("creating an existing user: %v, want ErrConflict", err)
		}
		if _, err := db.RecordEvent(ctx, "t1", Event{ID: "e1", UserID: "u", Type: "x", Payload: []byte(`{}`)}, v1, v2); err != nil {
			t.Fatal(err)
		}
		// Decided on v1, which is no longer stored: nothing is written.
		if _, err := db.RecordEvent(ctx, "t1", Event{ID: "e2", UserID: "u", Type: "x", Payload: []byte(`{}`)}, v1, v3); !errors.Is(err, ErrConflict) {
			t.Fatalf("stale event: %v, want ErrConflict", err)
		}
		if err := db.ReplaceUser(ctx, User{TenantID: "t1", ID: "u", Profile: v3}, v1); !errors.Is(err, ErrConflict) {
			t.Fatalf("stale replace: %v, want ErrConflict", err)
		}
		if u, _ := db.User(ctx, "t1", "u"); string(u.Profile) != string(v2) {
			t.Fatalf("profile %s, want %s", u.Profile, v2)
		}
		if evs, _ := db.EventsByID(ctx, "t1", "e2"); len(evs) != 0 {
			t.Fatalf("the refused event was recorded: %+v", evs)
		}
	})
}

// TestUpdateSettingsConcurrently: concurrent updates of different fields
// all survive (compare-and-set, not read-modify-write).
func TestUpdateSettingsConcurrently(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) {
		db := open(t, dsn)
		ctx := context.Background()
		if err := db.PutTenant(ctx, Tenant{ID: "t", Settings: migration.DefaultSettings()}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := db.UpdateSettings(ctx, "t", func(s *migration.Settings) {
					if i%2 == 0 {
						s.QuietPeriodSeconds++
					} else {
						s.ParticipantLimit++
					}
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got, _ := db.Tenant(ctx, "t")
		def := migration.DefaultSettings()
		if got.Settings.QuietPeriodSeconds != def.QuietPeriodSeconds+4 || got.Settings.ParticipantLimit != def.ParticipantLimit+4 {
			t.Fatalf("settings = %+v: an update was lost", got.Settings)
		}
		if _, err := db.UpdateSettings(ctx, "nope", func(*migration.Settings) {}); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown tenant: %v", err)
		}
	})
}
