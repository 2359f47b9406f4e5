package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/openmms/mms/internal/store/storetest"

	"github.com/openmms/mms/internal/migration"
)

// fill gives tenant id a user, a migration with a result, an event and a
// token: a row of every kind a purge removes.
func fill(t *testing.T, db *DB, id string) {
	t.Helper()
	ctx := context.Background()
	if err := db.PutTenant(ctx, Tenant{ID: id, DisplayName: id, Settings: migration.DefaultSettings()}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutUser(ctx, User{TenantID: id, ID: "u@" + id + ".com", Profile: json.RawMessage(`{"meetingType":"Teams"}`)}); err != nil {
		t.Fatal(err)
	}
	m, err := db.BeginRun(ctx, Request{TenantID: id, UserID: "u@" + id + ".com", Trigger: "x", MigrationType: "ToSameType",
		SourceMeetingType: "All", TargetMeetingType: "Current", WorkflowID: "wf-" + id}, "k-"+id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordResults(ctx, m.CorrelationID, []MeetingResult{{MeetingID: "m", Subject: "S",
		Start: time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC), Outcome: migration.OutcomeUpdated}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordEvent(ctx, id, Event{ID: "e", UserID: "u@" + id + ".com", Type: "sipAddressChanged", Payload: json.RawMessage(`{}`)}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateToken(ctx, "ops", id, RoleAdmin); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, db *DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.sql.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDeleteTenantPurgesOnlyThatTenant(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) { testDeleteTenantPurgesOnlyThatTenant(t, open(t, dsn)) })
}

func testDeleteTenantPurgesOnlyThatTenant(t *testing.T, db *DB) {
	ctx := context.Background()
	fill(t, db, "gone")
	fill(t, db, "kept")
	if open, err := db.OpenRecords(ctx, "gone"); err != nil || len(open) != 1 {
		t.Fatalf("OpenRecords = %+v, %v", open, err)
	}
	p, err := db.DeleteTenant(ctx, "gone")
	if err != nil {
		t.Fatal(err)
	}
	if p != (TenantPurge{Users: 1, Migrations: 1, Results: 1, Events: 1, Tokens: 1}) {
		t.Errorf("purge = %+v", p)
	}
	for _, table := range []string{"users", "migrations", "events", "api_tokens"} {
		if n := count(t, db, `SELECT COUNT(*) FROM `+table+` WHERE tenant_id = ?`, "gone"); n != 0 {
			t.Errorf("%s: %d rows of the deleted tenant", table, n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM `+table+` WHERE tenant_id = ?`, "kept"); n != 1 {
			t.Errorf("%s: %d rows of the other tenant, want 1", table, n)
		}
	}
	if n := count(t, db, `SELECT COUNT(*) FROM meeting_results`); n != 1 {
		t.Errorf("%d meeting results left, want the other tenant's 1", n)
	}
	if _, err := db.Tenant(ctx, "gone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted tenant: %v", err)
	}
	if _, err := db.DeleteTenant(ctx, "gone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

func TestCreateTenantRefusesATakenID(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) { testCreateTenantRefusesATakenID(t, open(t, dsn)) })
}

func testCreateTenantRefusesATakenID(t *testing.T, db *DB) {
	ctx := context.Background()
	if err := db.CreateTenant(ctx, Tenant{ID: "new", DisplayName: "New", Settings: migration.DefaultSettings()}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateTenant(ctx, Tenant{ID: "t1", DisplayName: "Again"}); !errors.Is(err, ErrExists) {
		t.Fatalf("taken ID: %v", err)
	}
	if tn, _ := db.Tenant(ctx, "t1"); tn.DisplayName != "T1" {
		t.Errorf("the taken tenant was changed: %+v", tn)
	}
}

func TestServiceAdminTokensAreBoundToNoTenant(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) { testServiceAdminTokensAreBoundToNoTenant(t, open(t, dsn)) })
}

func testServiceAdminTokensAreBoundToNoTenant(t *testing.T, db *DB) {
	ctx := context.Background()
	if _, err := db.CreateToken(ctx, "ops", "t1", RoleServiceAdmin); err == nil {
		t.Fatal("a service-admin token bound to a tenant was created")
	}
	secret, err := db.CreateToken(ctx, "ops", "", RoleServiceAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := db.LookupToken(ctx, secret); err != nil || tok.Role != RoleServiceAdmin || tok.TenantID != "" {
		t.Fatalf("token = %+v, %v", tok, err)
	}
}

// An import is all or nothing: a profile changed since it was read fails
// the whole import, and nothing of it is written.
func TestImportUsersIsOneTransaction(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dsn string) { testImportUsersIsOneTransaction(t, open(t, dsn)) })
}

func testImportUsersIsOneTransaction(t *testing.T, db *DB) {
	ctx := context.Background()
	old := json.RawMessage(`{"meetingType":"Teams","conferenceId":"1111"}`)
	if err := db.PutUser(ctx, User{TenantID: "t1", ID: "a@x.com", Profile: old}); err != nil {
		t.Fatal(err)
	}
	newA := ImportedUser{User: User{ID: "a@x.com", Profile: json.RawMessage(`{"meetingType":"Teams","conferenceId":"2222"}`)},
		Before: json.RawMessage(`{"meetingType":"Teams","conferenceId":"9999"}`), // stale
		Events: []Event{{ID: "e1", UserID: "a@x.com", Type: "conferenceIdChanged", Payload: json.RawMessage(`{}`)}}}
	newB := ImportedUser{User: User{ID: "b@x.com", Profile: json.RawMessage(`{"meetingType":"Teams"}`)}}
	if _, err := db.ImportUsers(ctx, "t1", []ImportedUser{newB, newA}); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale import: %v", err)
	}
	if _, err := db.User(ctx, "t1", "b@x.com"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a failed import created a user: %v", err)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM events`); n != 0 {
		t.Fatalf("a failed import recorded %d events", n)
	}
	newA.Before = old
	if _, err := db.ImportUsers(ctx, "t1", []ImportedUser{newB, newA}); err != nil {
		t.Fatal(err)
	}
	if u, _ := db.User(ctx, "t1", "a@x.com"); string(u.Profile) != string(newA.User.Profile) {
		t.Errorf("profile = %s", u.Profile)
	}
	if evs, _ := db.EventsByID(ctx, "t1", "e1"); len(evs) != 1 {
		t.Errorf("events = %+v", evs)
	}
	if _, err := db.ImportUsers(ctx, "t1", []ImportedUser{newB}); !errors.Is(err, ErrConflict) {
		t.Errorf("creating an existing user: %v", err)
	}
}
