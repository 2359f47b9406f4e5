package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/store/storetest"
)

// newAPI serves the API over real HTTP on a real database. Routes that reach
// Temporal are covered by the end-to-end test in internal/devstack.
func newAPI(t *testing.T) (*httptest.Server, *store.DB) {
	t.Helper()
	return newAPIWith(t, nil)
}

// newAPIWith is newAPI with the Server's knobs set by set (nil: defaults).
func newAPIWith(t testing.TB, set func(*Server)) (*httptest.Server, *store.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, storetest.Default(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, id := range []string{"contoso", "fabrikam"} {
		if err := db.PutTenant(ctx, store.Tenant{ID: id, DisplayName: id, Settings: migration.DefaultSettings()}); err != nil {
			t.Fatal(err)
		}
		if err := db.PutUser(ctx, store.User{TenantID: id, ID: "admin@" + id + ".com", DisplayName: "Admin"}); err != nil {
			t.Fatal(err)
		}
	}
	// No Temporal: routes that would hand a migration to it are not called.
	logger := slog.New(slog.DiscardHandler)
	s := &Server{DB: db, Intake: intake.New(db, nil, logger, nil), Logger: logger}
	if set != nil {
		set(s)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv, db
}

// call sends a request with an optional bearer token and body.
func call(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	return callAs(t, method, url, token, "", body)
}

// callAs is call with the body's Content-Type ("" sends none).
func callAs(t *testing.T, method, url, token, contentType, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func get(t *testing.T, url, token string) (int, string) { return call(t, "GET", url, token, "") }

func TestTenantBoundTokenSeesOnlyItsTenant(t *testing.T) {
	srv, db := newAPI(t)
	ctx := context.Background()
	contoso, err := db.CreateToken(ctx, "contoso-ops", "contoso", store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	global, err := db.CreateToken(ctx, "root", "", store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	code, body := get(t, srv.URL+"/v1/tenants", contoso)
	var list struct{ Tenants []store.Tenant }
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Tenants) != 1 || list.Tenants[0].ID != "contoso" {
		t.Fatalf("tenant token lists %d %s", code, body)
	}
	if code, body := get(t, srv.URL+"/v1/tenants", global); code != 200 || !strings.Contains(body, "fabrikam") {
		t.Fatalf("global token lists %d %s", code, body)
	}
	for _, path := range []string{"/v1/tenants/fabrikam/users", "/v1/tenants/fabrikam/migrations",
		"/v1/tenants/fabrikam/migrations/admin@fabrikam.com"} {
		code, body := get(t, srv.URL+path, contoso)
		if code != 404 || strings.Contains(body, "admin@fabrikam.com\"") {
			t.Errorf("%s with contoso's token: %d %s, want 404 and no data", path, code, body)
		}
		// The same answer as for a tenant that does not exist.
		_, nobody := get(t, srv.URL+strings.Replace(path, "fabrikam", "nonexistent", 1), contoso)
		if strings.Replace(body, "fabrikam", "X", -1) != strings.Replace(nobody, "nonexistent", "X", -1) {
			t.Errorf("%s: another tenant answers differently from a missing one: %s vs %s", path, body, nobody)
		}
	}
	if code, body := get(t, srv.URL+"/v1/tenants/contoso/users", contoso); code != 200 || !strings.Contains(body, "admin@contoso.com") {
		t.Fatalf("own users: %d %s", code, body)
	}
}

func TestAuthAndErrors(t *testing.T) {
	srv, _ := newAPI(t)
	for _, tc := range []struct {
		path, token string
		code        int
		want        string
	}{
		{"/healthz", "", 200, `"ok"`},
		{"/v1/tenants", "", 401, `"unauthorized"`},
		{"/v1/tenants", "mms_not-a-real-token-000000", 401, "invalid bearer token"},
		{"/nope", "", 404, `"not_found"`},
	} {
		if code, body := get(t, srv.URL+tc.path, tc.token); code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s: %d %s, want %d containing %s", tc.path, code, body, tc.code, tc.want)
		}
	}
}

func TestListMigrationsValidatesQuery(t *testing.T) {
	srv, db := newAPI(t)
	tok, _ := db.CreateToken(context.Background(), "root", "", store.RoleReader)
	for q, want := range map[string]string{
		"?state=Done":   "state: must be one of",
		"?limit=0":      "limit: must be an integer between 1 and 1000",
		"?offset=-1":    "offset: must be an integer",
		"?limit=banana": "limit:",
		// Issue 18, finding 7: the zero time meant "no bound".
		"?end=0001-01-01T00:00:00Z":   "end: 0001-01-01T00:00:00Z is the zero time",
		"?start=0001-01-01T00:00:00Z": "start: 0001-01-01T00:00:00Z is the zero time",
	} {
		if code, body := get(t, srv.URL+"/v1/tenants/contoso/migrations"+q, tok); code != 400 || !strings.Contains(body, want) {
			t.Errorf("%s: %d %s, want 400 with %q", q, code, body, want)
		}
	}
	if code, body := get(t, srv.URL+"/v1/tenants/contoso/migrations?state=Pending&limit=5", tok); code != 200 || body != `{"migrations":[],"total":0}` {
		t.Fatalf("empty list: %d %s", code, body)
	}
	if code, body := get(t, srv.URL+"/v1/tenants/contoso/migrations/nobody@contoso.com", tok); code != 404 || !strings.Contains(body, "nobody@contoso.com") {
		t.Fatalf("unknown user: %d %s", code, body)
	}
}
