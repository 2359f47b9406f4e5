package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// The black-box probe's payloads (issue 18), each put in every input of
// every route that takes one: path parameters, query parameters and body
// fields. Whatever the route makes of it: no 5xx; a refusal is a 4xx whose
// body is the one error shape, names the field, lists at most
// MaxListedErrors errors and shows no Go type; and a refused request
// writes nothing (the tenants' state, read through the API, is compared
// before and after). An input that accepts free text (a display name, a
// cancel reason, a meeting body) may take any of them.
var probePayloads = []string{
	"a\tb", "a\tb@contoso.com", "a\x00b@contoso.com", "a\r\nb@contoso.com", "\x1b[2J@contoso.com",
	strings.Repeat("a", 5000), strings.Repeat("a", 5000) + "@contoso.com",
	".", "..", "ALICE@", "alice@", "ALICE@contoso.com",
	"=1+2", "+1", "-1", "@x", "|x", `=HYPERLINK("http://x")`, "=1+2@contoso.com", `=HYPERLINK("http://x")@contoso.com`,
	"0001-01-01T00:00:00Z", "", "%", "\xff",
}

// A probe slot: one input of one route. build makes the request for a
// payload p; field is what a 400 must name; accepts says whether p is a
// value the input may take (nil: none of the payloads).
type probeSlot struct {
	name, field  string
	build        func(p string) (method, path, body string)
	accepts      func(p string) bool
	needsPending bool // a Pending record for admin@contoso.com, so cancel and retry reach their checks
}

const probeProfile = `{"meetingType":"Teams","conferenceId":"123456","tollNumber":"+1 425-555-0100"}`

func jsonString(p string) string { b, _ := json.Marshal(p); return string(b) }

func pathEscape(p string) string { return url.PathEscape(p) }

func anyText(string) bool { return true }

func validUser(p string) bool { _, err := migration.ParseUserID(p); return err == nil }

func validInt(lo, hi int) func(string) bool {
	return func(p string) bool { n, err := strconv.Atoi(p); return err == nil && n >= lo && n <= hi }
}

func probeSlots() []probeSlot {
	const c = "/v1/tenants/contoso"
	path := func(method, format string) func(string) (string, string, string) {
		return func(p string) (string, string, string) {
			body := ""
			if method == "PUT" {
				body = `{"profile":` + probeProfile + `}`
			}
			return method, fmt.Sprintf(format, pathEscape(p)), body
		}
	}
	query := func(route, param string) func(string) (string, string, string) {
		return func(p string) (string, string, string) {
			return "GET", route + "?" + param + "=" + url.QueryEscape(p), ""
		}
	}
	body := func(method, route, template string) func(string) (string, string, string) {
		return func(p string) (string, string, string) {
			return method, route, strings.ReplaceAll(template, "P", jsonString(p))
		}
	}
	event := `{"id":"e1","type":"conferenceIdChanged","user":"admin@contoso.com","conferenceId":"123456"}`
	eventWith := func(field string) string {
		var m map[string]any
		_ = json.Unmarshal([]byte(event), &m)
		m[field] = "P"
		b, _ := json.Marshal(m)
		return strings.Replace(string(b), `"P"`, "P", 1)
	}
	preview := func(field string) string {
		return strings.Replace(`{"body":"<p>x</p>","format":"html","profile":`+probeProfile+`,"F":P}`, `"F"`, jsonString(field), 1)
	}
	return []probeSlot{
		{name: "PUT users/{user}", field: "user", build: path("PUT", c+"/users/%s"), accepts: validUser},
		{name: "GET migrations/{user}", field: "user", build: path("GET", c+"/migrations/%s"), accepts: validUser},
		{name: "POST cancel {user}", field: "user", build: path("POST", c+"/migrations/%s/cancel"), accepts: validUser},
		{name: "POST retry-failed {user}", field: "user", build: path("POST", c+"/migrations/%s/retry-failed"), accepts: validUser},
		{name: "GET {tenant}/users", field: "tenant", build: path("GET", "/v1/tenants/%s/users")},
		{name: "PUT {tenant}/migration-configuration", field: "tenant", build: func(p string) (string, string, string) {
			return "PUT", "/v1/tenants/" + pathEscape(p) + "/migration-configuration", `{"quietPeriodSeconds":5}`
		}},
		{name: "GET migrations?user", field: "user", build: query(c+"/migrations", "user"), accepts: validUser},
		{name: "GET migrations?state", field: "state", build: query(c+"/migrations", "state"), accepts: func(p string) bool { return p == "" }},
		{name: "GET migrations?type", field: "type", build: query(c+"/migrations", "type"), accepts: func(p string) bool { return p == "" }},
		{name: "GET migrations?start", field: "start", build: query(c+"/migrations", "start"), accepts: func(p string) bool { return p == "" }},
		{name: "GET migrations?end", field: "end", build: query(c+"/migrations", "end"), accepts: func(p string) bool { return p == "" }},
		{name: "GET migrations?limit", field: "limit", build: query(c+"/migrations", "limit"), accepts: func(p string) bool { return p == "" || validInt(1, 1000)(p) }},
		{name: "GET migrations?offset", field: "offset", build: query(c+"/migrations", "offset"), accepts: func(p string) bool { return p == "" || validInt(0, 1<<30)(p) }},
		{name: "GET migrations?cursor", field: "cursor", build: query(c+"/migrations", "cursor"), accepts: func(p string) bool { return p == "" }},
		{name: "GET migrations?format", field: "format", build: query(c+"/migrations", "format"), accepts: func(p string) bool { return p == "" }},
		{name: "GET migrations?dryRun", field: "dryRun", build: query(c+"/migrations", "dryRun"), accepts: func(p string) bool { return p == "" }},
		{name: "GET summary?state", field: "state", build: query(c+"/migrations/summary", "state"), accepts: func(p string) bool { return p == "" }},
		{name: "GET summary?start", field: "start", build: query(c+"/migrations/summary", "start")},
		{name: "GET summary?end", field: "end", build: query(c+"/migrations/summary", "end"), accepts: func(p string) bool { return p == "" }},
		{name: "GET migrations/{user}?meetings", field: "meetings", build: query(c+"/migrations/admin@contoso.com", "meetings"), accepts: func(p string) bool { return p == "" }, needsPending: true},
		{name: "GET migrations/{user}?correlationId", field: "correlationId", build: query(c+"/migrations/admin@contoso.com", "correlationId"), accepts: func(p string) bool { return p == "" }, needsPending: true},
		{name: "GET events?user", field: "user", build: query(c+"/events", "user"), accepts: func(p string) bool { return p == "" || validUser(p) }},
		{name: "GET events?limit", field: "limit", build: query(c+"/events", "limit"), accepts: func(p string) bool { return p == "" || validInt(1, 1000)(p) }},
		{name: "PUT users displayName", field: "displayName", build: body("PUT", c+"/users/u@contoso.com", `{"displayName":P,"profile":`+probeProfile+`}`), accepts: anyText},
		{name: "PUT users profile.conferenceId", field: "profile.conferenceId", build: body("PUT", c+"/users/u@contoso.com", `{"profile":{"meetingType":"Teams","conferenceId":P}}`), accepts: func(p string) bool { return p == "" }},
		{name: "PUT users profile.tollNumber", field: "profile.tollNumber", build: body("PUT", c+"/users/u@contoso.com", `{"profile":{"meetingType":"Teams","tollNumber":P}}`), accepts: func(p string) bool { return p == "" || p == "+1" }},
		{name: "PUT users profile.tollFreeNumbers", field: "profile.tollFreeNumbers[0]", build: body("PUT", c+"/users/u@contoso.com", `{"profile":{"meetingType":"Teams","tollFreeNumbers":[P]}}`), accepts: func(p string) bool { return p == "+1" }},
		{name: "PUT users profile.joinUrl", field: "profile.joinUrl", build: body("PUT", c+"/users/u@contoso.com", `{"profile":{"meetingType":"Teams","joinUrl":P}}`), accepts: func(p string) bool { return p == "" }},
		{name: "PUT users profile.meetingType", field: "profile.meetingType", build: body("PUT", c+"/users/u@contoso.com", `{"profile":{"meetingType":P}}`)},
		{name: "PUT users profile.locale", field: "profile.locale", build: body("PUT", c+"/users/u@contoso.com", `{"profile":{"meetingType":"Teams","locale":P}}`), accepts: func(p string) bool { return p == "" }},
		{name: "PUT migration-configuration defaultLanguage", field: "defaultLanguage", build: body("PUT", c+"/migration-configuration", `{"defaultLanguage":P}`), accepts: func(p string) bool { return p == "" }},
		{name: "PUT migration-configuration quietPeriodSeconds", field: "quietPeriodSeconds", build: body("PUT", c+"/migration-configuration", `{"quietPeriodSeconds":P}`)},
		{name: "PUT dial-in automaticallyReplaceAcpProvider", field: "automaticallyReplaceAcpProvider", build: body("PUT", c+"/dial-in-conferencing-settings", `{"automaticallyReplaceAcpProvider":P}`)},
		{name: "POST migrations user", field: "user", build: body("POST", c+"/migrations", `{"user":P}`), accepts: func(p string) bool { return validUser(p) }},
		{name: "POST migrations sourceMeetingType", field: "sourceMeetingType", build: body("POST", c+"/migrations", `{"user":"nobody@contoso.com","sourceMeetingType":P}`)},
		{name: "POST migrations targetMeetingType", field: "targetMeetingType", build: body("POST", c+"/migrations", `{"user":"nobody@contoso.com","targetMeetingType":P}`)},
		{name: "POST cancel reason", field: "reason", build: body("POST", c+"/migrations/nobody@contoso.com/cancel", `{"reason":P}`), accepts: anyText},
		{name: "POST events id", field: "id", build: body("POST", c+"/events", eventWith("id")), accepts: func(p string) bool { return p == "" || !strings.ContainsAny(p, "\t\x00\r\n\x1b") && len(p) <= 200 }},
		{name: "POST events user", field: "user", build: body("POST", c+"/events", eventWith("user")), accepts: func(p string) bool { return validUser(p) }},
		{name: "POST events type", field: "type", build: body("POST", c+"/events", eventWith("type"))},
		{name: "POST events conferenceId", field: "conferenceId", build: body("POST", c+"/events", eventWith("conferenceId"))},
		{name: "POST events tollNumber", field: "tollNumber", build: body("POST", c+"/events", eventWith("tollNumber")), accepts: func(p string) bool { return p == "" || p == "+1" }},
		{name: "POST events joinUrl", field: "joinUrl", build: body("POST", c+"/events", eventWith("joinUrl")), accepts: func(p string) bool { return p == "" }},
		{name: "POST events batch user", field: "events[1].user", build: body("POST", c+"/events", `[`+event+`,{"id":"e2","type":"sipAddressChanged","user":P}]`), accepts: validUser},
		{name: "POST preview body", field: "body", build: body("POST", "/v1/preview", `{"body":P,"profile":`+probeProfile+`}`), accepts: anyText},
		{name: "POST preview format", field: "format", build: body("POST", "/v1/preview", preview("format")), accepts: func(p string) bool { return p == "" }},
		{name: "POST preview target", field: "target", build: body("POST", "/v1/preview", preview("target")), accepts: func(p string) bool { return p == "" }},
		{name: "POST preview locale", field: "locale", build: body("POST", "/v1/preview", preview("locale")), accepts: func(p string) bool { return p == "" }},
		{name: "POST preview profile.conferenceId", field: "profile.conferenceId", build: body("POST", "/v1/preview", `{"body":"x","profile":{"meetingType":"Teams","conferenceId":P}}`), accepts: func(p string) bool { return p == "" }},
	}
}

// goTypeName matches a Go type in a message: a package-qualified name, a
// pointer, map or slice type (issue 18: "must be api.StartRequest").
// fieldFirst matches a message that begins with a field's JSON path.
var fieldFirst = regexp.MustCompile(`^(body|[A-Za-z]+(\[[0-9]+\])?(\.[A-Za-z]+(\[[0-9]+\])?)*): `)

var goTypeName = regexp.MustCompile(`\b(api|intake|store|migration|rules|meetingblock|changes|json|time|http)\.[A-Z]|\*[a-z]+\.[A-Z]|map\[|\[\][a-z]|struct \{`)

func TestProbePayloadsOnEveryInputRoute(t *testing.T) {
	slots := probeSlots()
	tried := 0
	for _, slot := range slots {
		t.Run(slot.name, func(t *testing.T) {
			srv, db := newAPI(t)
			ctx := context.Background()
			admin, _ := db.CreateToken(ctx, "admin", "", store.RoleAdmin)
			if slot.needsPending {
				if _, err := db.OpenPending(ctx, store.Request{TenantID: "contoso", UserID: "admin@contoso.com", Trigger: "manual",
					MigrationType: "ToSameType", SourceMeetingType: "All", TargetMeetingType: "Current", WorkflowID: "wf"}); err != nil {
					t.Fatal(err)
				}
			}
			before := snapshot(t, srv.URL, db)
			for _, p := range probePayloads {
				method, path, body := slot.build(p)
				code, out := call(t, method, srv.URL+path, admin, body)
				tried++
				accepted := slot.accepts != nil && slot.accepts(p)
				checkProbeAnswer(t, fmt.Sprintf("%s %q", slot.name, truncate(p, 40)), slot.field, accepted, code, out)
				if code >= 400 || !accepted {
					if after := snapshot(t, srv.URL, db); after != before {
						t.Fatalf("%s %q: refused (%d) yet changed state:\n%s\n%s", slot.name, truncate(p, 40), code, before, after)
					}
				} else {
					before = snapshot(t, srv.URL, db)
				}
			}
		})
	}
	if want := len(slots) * len(probePayloads); tried != want {
		t.Fatalf("%d probes sent, want %d", tried, want)
	}
}

// checkProbeAnswer checks one answer of the probe: no 5xx; a 2xx only for
// a payload the input may take; a refusal in the one error shape, naming
// the field for a 400, at most MaxListedErrors errors, no Go type name.
func checkProbeAnswer(t *testing.T, what, field string, mayAccept bool, code int, out string) {
	t.Helper()
	switch {
	case code >= 500:
		t.Errorf("%s: %d %s", what, code, truncate(out, 300))
		return
	case code < 400:
		if !mayAccept {
			t.Errorf("%s: accepted (%d %s), want a refusal naming %s", what, code, truncate(out, 200), field)
		}
		return
	}
	var e struct{ Error Error }
	if err := json.Unmarshal([]byte(out), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Errorf("%s: %d %s, not the error shape", what, code, truncate(out, 300))
		return
	}
	if code == 400 && field != "" && !strings.HasPrefix(e.Error.Message, field+":") && !strings.HasPrefix(e.Error.Message, "body:") ||
		code == 400 && field == "" && !fieldFirst.MatchString(e.Error.Message) {
		t.Errorf("%s: 400 %q does not name %s", what, truncate(e.Error.Message, 200), field)
	}
	if lines := strings.Count(e.Error.Message, "\n") + 1; lines > MaxListedErrors+1 {
		t.Errorf("%s: %d lines in the error, want at most %d", what, lines, MaxListedErrors+1)
	}
	if goTypeName.MatchString(e.Error.Message) {
		t.Errorf("%s: a Go type in %q", what, truncate(e.Error.Message, 200))
	}
}

// The probe's structural payloads on every route that takes a body:
// duplicate keys, an array where an object is expected, and 600 KB of bad
// phone numbers, whose answer lists 20 errors and counts them all.
func TestProbeBodiesOnEveryBodyRoute(t *testing.T) {
	srv, db := newAPI(t)
	ctx := context.Background()
	admin, _ := db.CreateToken(ctx, "admin", "", store.RoleAdmin)
	before := snapshot(t, srv.URL, db)
	const c = "/v1/tenants/contoso"
	routes := []struct{ method, path, valid, dup string }{
		{"PUT", c + "/users/u@contoso.com", `{"profile":` + probeProfile + `}`, `{"profile":` + probeProfile + `,"profile":` + probeProfile + `}`},
		{"PUT", c + "/migration-configuration", `{"quietPeriodSeconds":5}`, `{"quietPeriodSeconds":5,"quietPeriodSeconds":6}`},
		{"PUT", c + "/dial-in-conferencing-settings", `{"automaticallyReplaceAcpProvider":true}`, `{"automaticallyReplaceAcpProvider":true,"automaticallyReplaceAcpProvider":false}`},
		{"POST", c + "/migrations", `{"user":"nobody@contoso.com"}`, `{"user":"nobody@contoso.com","user":"admin@contoso.com"}`},
		{"POST", c + "/migrations/nobody@contoso.com/cancel", `{"reason":"x"}`, `{"reason":"x","reason":"y"}`},
		{"POST", c + "/events", `{"type":"sipAddressChanged","user":"admin@contoso.com"}`, `{"type":"sipAddressChanged","user":"admin@contoso.com","user":"x@contoso.com"}`},
		{"POST", "/v1/preview", `{"body":"x","profile":` + probeProfile + `}`, `{"body":"x","body":"y","profile":` + probeProfile + `}`},
	}
	bad := make([]string, 100_000)
	for i := range bad {
		bad[i] = `"x"`
	}
	badNumbers := `{"meetingType":"Teams","tollFreeNumbers":[` + strings.Join(bad, ",") + `]}`
	for _, r := range routes {
		for name, body := range map[string]string{
			"duplicate key": r.dup,
			"array":         "[" + r.valid + "]",
			"nested array":  strings.Replace(r.valid, `{"`, `[{"`, 1) + "]",
			"string":        `"x"`,
			"number":        `1`,
			"null":          `null`,
			"truncated":     r.valid[:len(r.valid)-1],
		} {
			if r.path == c+"/events" && (name == "array" || name == "nested array") {
				continue // a batch of one is a valid body there
			}
			code, out := call(t, r.method, srv.URL+r.path, admin, body)
			checkProbeAnswer(t, r.method+" "+r.path+" "+name, "", false, code, out)
			if name == "duplicate key" && !strings.Contains(out, "duplicate key") {
				t.Errorf("%s %s duplicate key: %d %s", r.method, r.path, code, out)
			}
		}
	}
	for _, r := range []struct{ method, path, body, field string }{
		{"PUT", c + "/users/u@contoso.com", `{"profile":` + badNumbers + `}`, "profile.tollFreeNumbers[0]"},
		{"POST", c + "/events", `{"type":"dialInEnabled","user":"admin@contoso.com","tollFreeNumbers":[` + strings.Join(bad, ",") + `]}`, "tollFreeNumbers[0]"},
		{"POST", "/v1/preview", `{"body":"x","profile":` + badNumbers + `}`, "profile.tollFreeNumbers[0]"},
	} {
		code, out := call(t, r.method, srv.URL+r.path, admin, r.body)
		var e struct{ Error Error }
		if code != 400 || json.Unmarshal([]byte(out), &e) != nil || e.Error.Count < 100_000 || len(out) > 8<<10 ||
			!strings.HasPrefix(e.Error.Message, r.field+":") {
			t.Errorf("%s %s with 100,000 bad numbers: %d, count %d, %d bytes: %.300s", r.method, r.path, code, e.Error.Count, len(out), out)
		}
		checkProbeAnswer(t, r.path+" bad numbers", r.field, false, code, out)
	}
	if after := snapshot(t, srv.URL, db); after != before {
		t.Fatalf("bad bodies changed state:\n%s\n%s", before, after)
	}
}

// Records whose user IDs and messages hold the probe's formula and control
// characters come out of ?format=csv neutralised: no cell begins with a
// formula character and no cell holds a raw control character.
func TestProbeCSVHasNoFormulaOrControlCharacter(t *testing.T) {
	srv, db := newAPI(t)
	ctx := context.Background()
	admin, _ := db.CreateToken(ctx, "admin", "", store.RoleAdmin)
	n := 0
	for _, p := range probePayloads {
		id, err := migration.ParseUserID(p)
		if err != nil {
			continue
		}
		if code, out := call(t, "PUT", srv.URL+"/v1/tenants/contoso/users/"+pathEscape(p), admin, `{"displayName":`+jsonString(p)+`,"profile":`+probeProfile+`}`); code >= 300 {
			t.Fatalf("PUT user %q: %d %s", p, code, out)
		}
		rec, err := db.OpenPending(ctx, store.Request{TenantID: "contoso", UserID: id, Trigger: "=cmd|' /C calc'!A0",
			MigrationType: "ToSameType", SourceMeetingType: "All", TargetMeetingType: "Current", WorkflowID: "wf-" + id})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.FailOpen(ctx, rec.CorrelationID, "-\x1b[2J\t\x00\r\n@SUM(1)"); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n < 3 {
		t.Fatalf("only %d payloads are user IDs", n)
	}
	code, out := get(t, srv.URL+"/v1/tenants/contoso/migrations?format=csv&limit=1000", admin)
	if code != 200 {
		t.Fatalf("csv: %d %s", code, out)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != n+1 {
		t.Fatalf("csv: %d rows (want %d), %v:\n%s", len(rows), n+1, err, out)
	}
	for _, row := range rows {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r|", rune(cell[0])) {
				t.Errorf("cell %q begins with a formula character", cell)
			}
			// Tab, CR and LF are data inside a quoted cell; every other
			// control character (ESC above all) must not come out raw.
			if i := strings.IndexFunc(cell, isTerminalControl); i >= 0 {
				t.Errorf("cell %q holds control character %U", cell, []rune(cell[i:])[0])
			}
		}
	}
}
