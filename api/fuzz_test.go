package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// fuzzRoutes take a JSON body and never reach Temporal in this setup: the
// tenant's migrations are switched off, so no event or profile triggers.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/v1/tenants/contoso/events"},
	{"PUT", "/v1/tenants/contoso/users/u@contoso.com"},
	{"PUT", "/v1/tenants/contoso/migration-configuration"},
	{"PUT", "/v1/tenants/contoso/dial-in-conferencing-settings"},
	{"POST", "/v1/preview"},
}

// FuzzRequestBodies posts arbitrary bodies to the routes that decode JSON:
// the answer is a success or a 4xx with the error shape, never a 5xx or a
// panic, and a rejected request changes nothing.
func FuzzRequestBodies(f *testing.F) {
	for _, seed := range []string{
		`{"type":"conferenceIdChanged","user":"u@contoso.com","conferenceId":"7654321"}`,
		`[{"type":"sipAddressChanged","user":"u@contoso.com"},{"type":"bridgeNumberChanged","bridgeId":"b","oldNumber":"+1 425-555-0100","newNumber":"+1 425-555-0101"}]`,
		`{"profile":{"meetingType":"Teams","conferenceId":"123456","tollNumber":"+1 425-555-0100"}}`,
		`{"quietPeriodSeconds":5,"participantLimit":10}`,
		`{"automaticallyMigrateUserMeetings":false}`,
		`{"body":"Join <a href=\"https://teams.microsoft.com/l/meetup-join/x\">","profile":{"meetingType":"Teams"}}`,
		`{"quietPeriodSeconds":1e400}`, `{"user":"\u0000"}`, `[`, `null`, `[]`, `{"type":1}`,
	} {
		for i := range fuzzRoutes {
			f.Add(uint8(i), seed)
		}
	}
	db, err := store.Open(context.Background(), filepath.Join(f.TempDir(), "mms.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	settings := migration.DefaultSettings()
	settings.MeetingMigrationEnabled = false
	if err := db.PutTenant(ctx, store.Tenant{ID: "contoso", Settings: settings}); err != nil {
		f.Fatal(err)
	}
	if err := db.PutUser(ctx, store.User{TenantID: "contoso", ID: "u@contoso.com", DisplayName: "U",
		Profile: json.RawMessage(`{"meetingType":"Teams","conferenceId":"111222","tollNumber":"+1 425-555-0100","bridgeId":"b"}`)}); err != nil {
		f.Fatal(err)
	}
	token, err := db.CreateToken(ctx, "fuzz", "contoso", store.RoleAdmin)
	if err != nil {
		f.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	h := (&Server{DB: db, Intake: intake.New(db, nil, logger, nil), Logger: logger}).Handler()
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		before := state(t, db)
		req := httptest.NewRequest(r.method, r.path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", r.method, r.path, body, w.Code, w.Body)
		}
		if w.Code >= 400 {
			var e struct{ Error Error }
			if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%s %s %q: %d without the error shape: %s", r.method, r.path, body, w.Code, w.Body)
			}
			if after := state(t, db); after != before {
				t.Fatalf("%s %s %q: rejected (%d) but the state changed", r.method, r.path, body, w.Code)
			}
		} else if w.Code != http.StatusOK && w.Code != http.StatusCreated && w.Code != http.StatusAccepted {
			t.Fatalf("%s %s %q: unexpected %d", r.method, r.path, body, w.Code)
		}
	})
}

// state is everything the fuzzed routes can change.
func state(t *testing.T, db *store.DB) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	tenants, err := db.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	events := 0
	for _, ten := range tenants {
		settings, _ := json.Marshal(ten.Settings)
		fmt.Fprintf(&b, "tenant %s %s\n", ten.ID, settings)
		users, err := db.Users(ctx, ten.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			fmt.Fprintf(&b, "user %s %s\n", u.ID, u.Profile)
		}
		evs, err := db.Events(ctx, ten.ID, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		events += len(evs)
	}
	fmt.Fprintf(&b, "events %d\n", events)
	return b.String()
}
