package console

import (
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// These tests need no Temporal: every request they send is refused, or only
// read, before the service would hand anything to a workflow. Actions that
// do reach Temporal are driven in a browser on the whole stack
// (internal/devstack's console tests).

const (
	alice  = "alice@contoso.com"
	secret = "contoso-only-secret-message" // a string only contoso's pages may show
)

type fixture struct {
	t       *testing.T
	db      *store.DB
	srv     *httptest.Server
	tokens  map[string]string // by name
	dryRun  store.StatusRecord
	failed  store.StatusRecord
	console *Console
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "mms.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{t: t, db: db, tokens: map[string]string{}}
	for _, tn := range []store.Tenant{{ID: "contoso", DisplayName: "Contoso " + secret, Settings: migration.DefaultSettings()},
		{ID: "fabrikam", DisplayName: "Fabrikam", Settings: migration.DefaultSettings()}} {
		if err := db.PutTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []store.User{{TenantID: "contoso", ID: alice}, {TenantID: "fabrikam", ID: "bob@fabrikam.com"}} {
		if err := db.PutUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, tok := range []struct{ name, tenant, role string }{
		{"global-admin", "", store.RoleAdmin}, {"contoso-admin", "contoso", store.RoleAdmin},
		{"contoso-operator", "contoso", store.RoleOperator}, {"contoso-reader", "contoso", store.RoleReader},
		{"contoso-upstream", "contoso", store.RoleUpstream}, {"fabrikam-admin", "fabrikam", store.RoleAdmin},
	} {
		if f.tokens[tok.name], err = db.CreateToken(ctx, tok.name, tok.tenant, tok.role); err != nil {
			t.Fatal(err)
		}
	}
	// alice has a failed migration (one meeting failed) and a dry run with a diff.
	req := store.Request{TenantID: "contoso", UserID: alice, Trigger: "manual", MigrationType: migration.TypeToSameType,
		SourceMeetingType: migration.SourceAll, TargetMeetingType: migration.TargetCurrent, WorkflowID: "wf-alice"}
	rec, err := db.BeginRun(ctx, req, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordResults(ctx, rec.CorrelationID, []store.MeetingResult{
		{MeetingID: "m1", Subject: "Weekly sync", Outcome: migration.OutcomeUpdated, InvitesSent: 3},
		{MeetingID: "m2", Subject: "Board review", Outcome: migration.OutcomeFailed, Reason: "=HYPERLINK(\"x\") " + secret},
	}); err != nil {
		t.Fatal(err)
	}
	if f.failed, err = db.FinishRun(ctx, rec.CorrelationID, migration.StateFailed, "=cmd|' 1 meeting failed "+secret); err != nil {
		t.Fatal(err)
	}
	req.CorrelationID = ""
	if f.dryRun, err = db.OpenDryRun(ctx, req); err != nil {
		t.Fatal(err)
	}
	req.CorrelationID = f.dryRun.CorrelationID
	if _, err := db.BeginRun(ctx, req, "dry-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordResults(ctx, f.dryRun.CorrelationID, []store.MeetingResult{{MeetingID: "m1", Subject: "Weekly sync",
		Outcome: migration.OutcomeWouldUpdate, Diff: "--- old\n+++ new\n@@ -1,3 +1,3 @@\n Join:\n-Dial 111 " + secret + "\n+Dial 222\n end\n"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FinishRun(ctx, f.dryRun.CorrelationID, migration.StateSucceeded, "dry run"); err != nil {
		t.Fatal(err)
	}
	// No Temporal client: a request that got as far as a workflow would
	// panic on it, which these tests would report.
	if f.console, err = New(db, intake.New(db, nil, nil, nil), slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))); err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(f.console)
	t.Cleanup(f.srv.Close)
	return f
}

// browser is a client with a cookie jar that does not follow redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: f.t, base: f.srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type response struct {
	code    int
	body    string
	header  http.Header
	cookies []*http.Cookie
}

func (b *browser) do(method, path string, form url.Values, header ...string) response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(raw), resp.Header, resp.Cookies()}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page: %.300s", page)
	}
	return m[1]
}

// signIn signs in through the form, as a person would.
func (b *browser) signIn(token string) {
	b.t.Helper()
	form := b.do("GET", "/console/signin", nil)
	if form.code != 200 {
		b.t.Fatalf("sign-in form: %d", form.code)
	}
	r := b.do("POST", "/console/signin", url.Values{"csrf": {csrfOf(b.t, form.body)}, "token": {token}})
	if r.code != http.StatusSeeOther {
		b.t.Fatalf("sign in: %d %.300s", r.code, r.body)
	}
}

func cookie(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestSignInSetsAStrictHttpOnlyCookie(t *testing.T) {
	f := newFixture(t)
	for _, tls := range []bool{false, true} {
		b := f.browser()
		var hdr []string
		if tls {
			hdr = []string{"X-Forwarded-Proto", "https"}
		}
		form := b.do("GET", "/console/signin", nil, hdr...)
		r := b.do("POST", "/console/signin", url.Values{"csrf": {csrfOf(t, form.body)}, "token": {f.tokens["contoso-reader"]}}, hdr...)
		c := cookie(r.cookies, tokenCookie)
		if r.code != http.StatusSeeOther || c == nil {
			t.Fatalf("sign in: %d, cookies %v", r.code, r.cookies)
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure != tls || c.Path != "/" {
			t.Errorf("tls %v: cookie %+v: want HttpOnly, SameSite=Strict, Secure only over TLS", tls, c)
		}
		// Home sends a tenant-bound token to its tenant's summary.
		if r := b.do("GET", "/", nil); r.code != http.StatusSeeOther || r.header.Get("Location") != "/console/t/contoso/" {
			t.Errorf("home: %d to %q", r.code, r.header.Get("Location"))
		}
		page := b.do("GET", "/console/t/contoso/", nil)
		if page.code != 200 || !strings.Contains(page.body, `data-state="Failed">1<`) {
			t.Errorf("summary: %d %.500s", page.code, page.body)
		}
		if strings.Contains(page.body, "Retry failed") {
			t.Error("a reader is shown an action")
		}
	}
}

func TestSignInRefusals(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	form := b.do("GET", "/console/signin", nil)
	token := csrfOf(t, form.body)
	for _, tc := range []struct {
		name, csrf, token string // csrf: "" none, "ok" the form's, else that value
		code              int
		wants             string
	}{
		{"forged form", "", f.tokens["contoso-admin"], 403, "CSRF"},
		{"wrong csrf", "x" + token, f.tokens["contoso-admin"], 403, "CSRF"},
		{"wrong token", "ok", "mms_not-a-token-0123456789", 401, "token: not a valid API token"},
		{"no token", "ok", "", 400, "token: required"},
		{"upstream", "ok", f.tokens["contoso-upstream"], 403, "may not read"},
	} {
		form := url.Values{"token": {tc.token}}
		switch tc.csrf {
		case "ok":
			form.Set("csrf", token)
		case "":
		default:
			form.Set("csrf", tc.csrf)
		}
		r := b.do("POST", "/console/signin", form)
		if r.code != tc.code || !strings.Contains(r.body, tc.wants) || cookie(r.cookies, tokenCookie) != nil {
			t.Errorf("%s: %d %v %.300s, want %d %q and no session", tc.name, r.code, r.cookies, r.body, tc.code, tc.wants)
		}
		if tc.csrf == "ok" { // a fresh form came back
			token = csrfOf(t, r.body)
		}
	}
}

// A wrong, revoked or unreadable token in the cookie: back to sign-in,
// nothing shown, and the cookie cleared.
func TestBadCookieShowsNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	revoked, _ := f.db.CreateToken(ctx, "gone", "contoso", store.RoleAdmin)
	if _, err := f.db.RevokeToken(ctx, "gone", "contoso"); err != nil {
		t.Fatal(err)
	}
	for name, value := range map[string]string{"wrong": "mms_wrong-token-0123456789", "revoked": revoked,
		"upstream": f.tokens["contoso-upstream"]} {
		for _, rt := range f.console.table() {
			method, path := concrete(rt.pattern, "contoso")
			if path == "/docs" || strings.HasSuffix(path, "/signin") {
				continue // public
			}
			b := f.browser()
			u, _ := url.Parse(b.base)
			b.c.Jar.SetCookies(u, []*http.Cookie{{Name: tokenCookie, Value: value}})
			var form url.Values
			if method == "POST" {
				form = url.Values{"csrf": {csrfToken(value)}}
			}
			r := b.do(method, path, form)
			if r.code != http.StatusSeeOther || r.header.Get("Location") != "/console/signin" || strings.Contains(r.body, secret) {
				t.Errorf("%s cookie, %s %s: %d to %q %.200s", name, method, path, r.code, r.header.Get("Location"), r.body)
			}
			if c := cookie(r.cookies, tokenCookie); c == nil || c.MaxAge >= 0 {
				t.Errorf("%s cookie, %s %s: cookie not cleared (%v)", name, method, path, r.cookies)
			}
		}
	}
}

// concrete fills a route pattern's wildcards.
func concrete(pattern, tenant string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.NewReplacer("{tenant}", tenant, "{user}", alice, "{$}", "").Replace(path)
	return method, path
}

func records(t *testing.T, db *store.DB) int {
	t.Helper()
	n, err := db.CountStatusRecords(context.Background(), "contoso", store.Filter{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A form posted without the session's CSRF token (from another site, or a
// token of another session) is refused with 403 and nothing is done.
func TestForgedFormsAreRefused(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.signIn(f.tokens["contoso-admin"])
	before := records(t, f.db)
	for _, rt := range f.console.table() {
		method, path := concrete(rt.pattern, "contoso")
		if method != "POST" || path == "/console/signin" {
			continue
		}
		for name, form := range map[string]url.Values{
			"no token":              {"mode": {"start"}},
			"another session's":     {"mode": {"start"}, "csrf": {csrfToken(f.tokens["contoso-operator"])}},
			"the cookie, not token": {"mode": {"start"}, "csrf": {f.tokens["contoso-admin"]}},
		} {
			r := b.do(method, path, form)
			if r.code != http.StatusForbidden || !strings.Contains(r.body, "CSRF") {
				t.Errorf("%s %s with %s: %d %.200s", method, path, name, r.code, r.body)
			}
		}
	}
	if n := records(t, f.db); n != before {
		t.Errorf("forged forms changed the records: %d, were %d", n, before)
	}
	// Still signed in: sign-out was refused too.
	if r := b.do("GET", "/console/t/contoso/", nil); r.code != 200 {
		t.Errorf("after forged sign-out: %d", r.code)
	}
}

// Actions are shown only to roles that may take them, and refused to others.
func TestActionsFollowTheRoleTable(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"contoso-admin", "contoso-operator", "contoso-reader"} {
		b := f.browser()
		b.signIn(f.tokens[name])
		may := strings.HasSuffix(name, "admin") || strings.HasSuffix(name, "operator")
		user := b.do("GET", "/console/t/contoso/users/"+alice, nil)
		failed := b.do("GET", "/console/t/contoso/failed", nil)
		for _, page := range []response{user, failed} {
			if page.code != 200 {
				t.Fatalf("%s: %d %.300s", name, page.code, page.body)
			}
		}
		for page, button := range map[string]string{user.body: `id="dryrun"`, failed.body: "Retry failed"} {
			if strings.Contains(page, button) != may {
				t.Errorf("%s: %q shown: %v, want %v", name, button, !may, may)
			}
		}
		if !may {
			r := b.do("POST", "/console/t/contoso/users/"+alice+"/retry-failed", url.Values{"csrf": {csrfOf(t, user.body)}})
			if r.code != 403 || !strings.Contains(r.body, "may not start, cancel or retry") {
				t.Errorf("%s retry: %d %.200s", name, r.code, r.body)
			}
		}
	}
}

// Every console route, walked with another tenant's token, shows nothing of
// contoso: tenant routes answer as for a tenant that does not exist.
func TestAnotherTenantsTokenSeesNothing(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.signIn(f.tokens["fabrikam-admin"])
	page := b.do("GET", "/console/t/fabrikam/", nil)
	csrf := csrfOf(t, page.body)
	before := records(t, f.db)
	walked := 0
	for _, rt := range f.console.table() {
		method, path := concrete(rt.pattern, "contoso")
		if path == "/console/signout" || path == "/console/signin" {
			continue
		}
		var form url.Values
		if method == "POST" {
			form = url.Values{"csrf": {csrf}, "mode": {"start"}}
		}
		for _, p := range []string{path, path + "?run=" + f.dryRun.CorrelationID + "&user=" + alice + "&format=csv"} {
			r := b.do(method, p, form)
			if strings.Contains(r.body, secret) || strings.Contains(r.body, f.failed.CorrelationID) {
				t.Errorf("%s %s as fabrikam shows contoso's data: %d %.300s", method, p, r.code, r.body)
			}
			if strings.Contains(path, "/t/contoso") && r.code != 404 {
				t.Errorf("%s %s as fabrikam: %d, want 404", method, p, r.code)
			}
		}
		walked++
	}
	if walked < 14 {
		t.Fatalf("walked %d routes", walked)
	}
	// The same token's own tenant reads, and a dry run of contoso's cannot
	// be reached through fabrikam's user either.
	if r := b.do("GET", "/console/t/fabrikam/users/bob@fabrikam.com?run="+f.dryRun.CorrelationID, nil); r.code != 404 || strings.Contains(r.body, secret) {
		t.Errorf("contoso's run through fabrikam's user: %d %.300s", r.code, r.body)
	}
	if n := records(t, f.db); n != before {
		t.Errorf("records changed: %d, were %d", n, before)
	}
	// The global admin's tenant list has both; fabrikam's token goes to its own.
	if r := b.do("GET", "/console/tenants", nil); r.code != http.StatusSeeOther || r.header.Get("Location") != "/console/t/fabrikam/" {
		t.Errorf("tenants as fabrikam: %d %q", r.code, r.header.Get("Location"))
	}
	g := f.browser()
	g.signIn(f.tokens["global-admin"])
	if r := g.do("GET", "/console/tenants", nil); r.code != 200 || !strings.Contains(r.body, "/console/t/contoso/") || !strings.Contains(r.body, "/console/t/fabrikam/") {
		t.Errorf("tenants as the global admin: %d %.300s", r.code, r.body)
	}
}

// Bad input is a 400 naming the field, and changes nothing.
func TestBadInputNamesTheField(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.signIn(f.tokens["contoso-admin"])
	csrf := csrfOf(t, b.do("GET", "/console/t/contoso/", nil).body)
	before := records(t, f.db)
	for _, tc := range []struct {
		method, path string
		form         url.Values
		code         int
		want         string
	}{
		{"GET", "/console/t/contoso/migrations?state=Done", nil, 400, "state: must be one of"},
		{"GET", "/console/t/contoso/migrations?type=Zoom", nil, 400, "type: must be one of"},
		{"GET", "/console/t/contoso/migrations?user=not%20a%20user", nil, 400, "user:"},
		{"GET", "/console/t/contoso/migrations?start=yesterday", nil, 400, "start: must be a UTC time"},
		{"GET", "/console/t/contoso/migrations?start=2026-02-01T00:00&end=2026-01-01T00:00", nil, 400, "start: must be before end"},
		{"GET", "/console/t/contoso/migrations?offset=-1", nil, 400, "offset:"},
		{"GET", "/console/t/contoso/events?user=%3Cscript%3E", nil, 400, "user:"},
		{"GET", "/console/t/contoso/users?user=", nil, 400, "user:"},
		{"GET", "/console/t/contoso/users/nobody@contoso.com", nil, 404, "not found"},
		{"GET", "/console/t/contoso/users/" + alice + "?run=nope", nil, 404, "run:"},
		{"POST", "/console/t/contoso/users/" + alice + "/start", url.Values{"csrf": {csrf}, "sourceMeetingType": {"Zoom"}}, 400, "sourceMeetingType"},
		{"POST", "/console/t/contoso/users/" + alice + "/start", url.Values{"csrf": {csrf}, "targetMeetingType": {"Zoom"}}, 400, "targetMeetingType"},
		{"POST", "/console/t/contoso/users/" + alice + "/start", url.Values{"csrf": {csrf}, "quietPeriodSeconds": {"soon"}}, 400, "quietPeriodSeconds"},
		{"POST", "/console/t/contoso/users/" + alice + "/start", url.Values{"csrf": {csrf}, "mode": {"dryrun"}, "quietPeriodSeconds": {"5"}}, 400, "quietPeriodSeconds"},
		{"POST", "/console/t/contoso/users/nobody@contoso.com/start", url.Values{"csrf": {csrf}}, 404, "nobody@contoso.com"},
		{"GET", "/console/nowhere", nil, 404, "no such page"},
	} {
		r := b.do(tc.method, tc.path, tc.form)
		if r.code != tc.code || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s %s: %d %.400s, want %d %q", tc.method, tc.path, r.code, r.body, tc.code, tc.want)
		}
	}
	if n := records(t, f.db); n != before {
		t.Errorf("bad input changed the records: %d, were %d", n, before)
	}
}

func TestPagesRender(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.signIn(f.tokens["contoso-admin"])
	for path, wants := range map[string][]string{
		"/console/t/contoso/":                                                  {"<caption>Users by the state", `data-state="Failed">1<`},
		"/console/t/contoso/migrations?state=Failed":                           {"Records 1 to 1 of 1", alice, "Download as CSV"},
		"/console/t/contoso/migrations?dryRun=true":                            {"Records 1 to 2 of 2", "dry run"},
		"/console/t/contoso/failed":                                            {"Retry failed", "1 meeting failed"},
		"/console/t/contoso/settings":                                          {`data-setting="quietPeriodSeconds">600<`, `data-setting="meetingMigrationEnabled">true<`},
		"/console/t/contoso/events":                                            {"No event yet."},
		"/console/t/contoso/users/" + alice:                                    {"Board review", "Failed", "Retry failed meetings"},
		"/console/t/contoso/users/" + alice + "?run=" + f.dryRun.CorrelationID: {"WouldUpdate", "<del>Dial 111 ", "<ins>Dial 222</ins>"},
		"/docs": {"/v1/tenants/{tenant}/migrations", `href="#schema-`, "API reference"},
	} {
		r := b.do("GET", path, nil)
		if r.code != 200 {
			t.Errorf("%s: %d %.300s", path, r.code, r.body)
			continue
		}
		for _, w := range wants {
			if !strings.Contains(r.body, w) {
				t.Errorf("%s: no %q in %.2000s", path, w, r.body)
			}
		}
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
	}
}

func TestCSVDownloadIsNeutralised(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.signIn(f.tokens["contoso-reader"])
	r := b.do("GET", "/console/t/contoso/migrations?format=csv&dryRun=true", nil)
	if r.code != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", r.code, r.header)
	}
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][0] != "UserId" || rows[0][len(rows[0])-1] != "DryRun" {
		t.Fatalf("csv rows %v (%v)", rows, err)
	}
	found := false
	for _, row := range rows[1:] {
		if row[9] == "'=cmd|' 1 meeting failed "+secret {
			found = true
		}
		if strings.HasPrefix(row[9], "=") {
			t.Errorf("formula cell not neutralised: %q", row[9])
		}
	}
	if !found {
		t.Errorf("no neutralised failed row in %v", rows)
	}
}

func TestSideBySide(t *testing.T) {
	rows := sideBySide("--- old\n+++ new\n@@ -3,4 +3,3 @@\n a\n-b\n-c\n+B\n d\n+e\n")
	want := []diffRow{
		{Kind: "hunk", Left: "@@ -3,4 +3,3 @@"},
		{Kind: "same", Left: "a", Right: "a", LeftLine: 3, RightLine: 3},
		{Kind: "changed", Left: "b", Right: "B", LeftLine: 4, RightLine: 4},
		{Kind: "removed", Left: "c", LeftLine: 5},
		{Kind: "same", Left: "d", Right: "d", LeftLine: 6, RightLine: 5},
		{Kind: "added", Right: "e", RightLine: 6},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, rows[i], want[i])
		}
	}
	if sideBySide("") != nil {
		t.Error("an empty diff has rows")
	}
}

// Every field of the settings is on the settings page, new ones included.
func TestSettingsShowEveryField(t *testing.T) {
	rows := settingRows(migration.DefaultSettings())
	got := map[string]bool{}
	for _, r := range rows {
		got[r.Name] = true
	}
	for _, name := range []string{"meetingMigrationEnabled", "automaticallyMigrateUserMeetings", "automaticallyReplaceAcpProvider",
		"quietPeriodSeconds", "participantLimit", "defaultLanguage"} {
		if !got[name] {
			t.Errorf("no row for %s in %+v", name, rows)
		}
	}
	if label("organizerRecipientsPerDay") != "Organizer recipients per day" {
		t.Errorf("label: %q", label("organizerRecipientsPerDay"))
	}
}

var (
	controlID = regexp.MustCompile(`<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"`)
	control   = regexp.MustCompile(`<(?:input|select|textarea)\b[^>]*>`)
)

// Every visible control of every page has a label: the pages are usable
// with a screen reader and the keyboard alone.
func TestEveryControlIsLabelled(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	signin := b.do("GET", "/console/signin", nil)
	b.signIn(f.tokens["contoso-admin"])
	pages := []string{signin.body}
	for _, path := range []string{"/console/t/contoso/", "/console/t/contoso/migrations", "/console/t/contoso/failed",
		"/console/t/contoso/events", "/console/t/contoso/settings", "/console/t/contoso/preview", "/console/t/contoso/users/" + alice, "/docs"} {
		r := b.do("GET", path, nil)
		if r.code != 200 {
			t.Fatalf("%s: %d", path, r.code)
		}
		if !strings.Contains(r.body, `<main id="main"`) || !strings.Contains(r.body, `href="#main"`) {
			t.Errorf("%s: no skip link to the main content", path)
		}
		pages = append(pages, r.body)
	}
	for _, page := range pages {
		for _, tag := range control.FindAllString(page, -1) {
			if strings.Contains(tag, `type="hidden"`) {
				continue
			}
			id := controlID.FindStringSubmatch(tag)
			if id == nil {
				t.Errorf("a control without an id, so without a label: %s", tag)
				continue
			}
			if !strings.Contains(page, `<label for="`+id[1]+`"`) {
				t.Errorf("control %q has no label", id[1])
			}
		}
	}
}
