package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmms/mms/api"
	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/devstack"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/service"
	"github.com/openmms/mms/internal/store"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// cli runs the admin verbs in-process against one API, as main does.
type cli struct {
	t          *testing.T
	url, token string
}

type result struct {
	code           int
	stdout, stderr string
}

func (c cli) run(args ...string) result {
	c.t.Helper()
	root := &cobra.Command{Use: "mms", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(adminCommands()...)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(""))
	full := append(append([]string{}, args...), "--api-url", c.url, "--token", c.token, "--tenant", "contoso")
	root.SetArgs(full)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	code := 0
	if err != nil {
		code = exitCode(err)
		if !errors.Is(err, errSilent) {
			errOut.WriteString("mms: " + err.Error() + "\n")
		}
	}
	shown := out.String()
	if len(shown) > 3000 {
		shown = shown[:3000] + "…\n"
	}
	c.t.Logf("mms %s -> %d\n%s%s", strings.Join(args, " "), code, shown, errOut.String())
	return result{code, out.String(), errOut.String()}
}

func (c cli) must(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("mms %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// TestAdminVerbs drives config, event and status (with --watch) against the
// whole service running in-process.
func TestAdminVerbs(t *testing.T) {
	dir := t.TempDir()
	st, err := devstack.Start(context.Background(), devstack.Config{DataDir: dir, APIAddr: freeAddr(t),
		TemporalAddr: freeAddr(t), UIAddr: "-", SeedDemo: true, Service: service.Config{PageSize: 10},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop(context.Background())
	ctx := context.Background()
	users, err := sandbox.SeedBulk(ctx, st.DB, sandbox.BulkOptions{Tenant: "contoso", Users: 1, Meetings: 1000}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	bulk := users[0]
	c := cli{t: t, url: st.APIURL, token: st.AdminToken}

	// config: a partial set reaches both routes; a bad value is the API's 400; nothing given is a usage error.
	out := c.must("config", "get")
	for _, want := range []string{"MeetingMigrationEnabled", "QuietPeriodSeconds", "ParticipantLimit",
		"AutomaticallyMigrateUserMeetings", "AutomaticallyReplaceAcpProvider"} {
		if !strings.Contains(out, want) {
			t.Errorf("config get does not show %s:\n%s", want, out)
		}
	}
	out = c.must("config", "set", "--quiet-period", "5", "--automatically-replace-acp-provider=true")
	if !regexp.MustCompile(`QuietPeriodSeconds\s+5\s`).MatchString(out) {
		t.Errorf("config set does not print the new quiet period:\n%s", out)
	}
	var tc tenantConfig
	if err := json.Unmarshal([]byte(c.must("config", "get", "-o", "json")), &tc); err != nil {
		t.Fatal(err)
	}
	m, d := tc.MigrationConfiguration, tc.DialInConferencingSettings
	if m.QuietPeriodSeconds == nil || *m.QuietPeriodSeconds != 5 || d.AutomaticallyReplaceAcpProvider == nil ||
		!*d.AutomaticallyReplaceAcpProvider || m.ParticipantLimit == nil || *m.ParticipantLimit < 1 ||
		d.AutomaticallyMigrateUserMeetings == nil || m.MeetingMigrationEnabled == nil {
		t.Errorf("config get -o json = %+v %+v", m, d)
	}
	if r := c.run("config", "set", "--participant-limit", "0"); r.code != 2 || !strings.Contains(r.stderr, "participantLimit") {
		t.Errorf("config set --participant-limit 0: exit %d, %q; want 2 naming participantLimit", r.code, r.stderr)
	}
	if r := c.run("config", "set"); r.code != 1 || !strings.Contains(r.stderr, "--quiet-period") {
		t.Errorf("config set alone: exit %d, %q; want 1 naming the flags", r.code, r.stderr)
	}

	// Flood control (issue 21): set, refused at 0, previewed, removed again
	// (a closed window would hold the migrations below).
	out = c.must("config", "set", "--maintenance-window", "Mon-Fri 20:00-06:00 Europe/Paris", "--notification-budget", "500")
	if !regexp.MustCompile(`MaintenanceWindow\s+Mon,Tue,Wed,Thu,Fri 20:00-06:00 Europe/Paris\s`).MatchString(out) ||
		!regexp.MustCompile(`NotificationBudgetPerHour\s+500\s`).MatchString(out) || !regexp.MustCompile(`OrganizerRecipientsPerDay\s+10000\s`).MatchString(out) {
		t.Errorf("config set flood control:\n%s", out)
	}
	if r := c.run("config", "set", "--notification-budget", "0"); r.code != 2 ||
		!strings.Contains(r.stderr, "notificationBudgetPerHour: must be at least 1; use meetingMigrationEnabled to stop migrations") {
		t.Errorf("config set --notification-budget 0: exit %d, %q", r.code, r.stderr)
	}
	out = c.must("config", "set", "--preview", "--quiet-period", "7", "--notification-budget", "none")
	if !regexp.MustCompile(`QuietPeriodSeconds\s+5\s+7`).MatchString(out) || !regexp.MustCompile(`NotificationBudgetPerHour\s+500\s+-`).MatchString(out) ||
		!strings.Contains(out, "migrations queued: none") {
		t.Errorf("config set --preview:\n%s", out)
	}
	out = c.must("config", "set", "--maintenance-window", "none", "--notification-budget", "none")
	if !regexp.MustCompile(`QuietPeriodSeconds\s+5\s`).MatchString(out) || !regexp.MustCompile(`MaintenanceWindow\s+-\s`).MatchString(out) {
		t.Errorf("the preview changed something, or none did not remove:\n%s", out)
	}
	out = c.must("event", "post", "--preview", "--type", "conferenceIdChanged", "--user", "alice@contoso.com", "--conference-id", "7654321")
	if !strings.HasPrefix(out, "conferenceIdChanged: 1 users, ") || !regexp.MustCompile(`alice@contoso.com\s+true\s+\d+\s+\d+\s`).MatchString(out) {
		t.Errorf("event post --preview:\n%s", out)
	}

	// event post (flags and a file) and list.
	out = c.must("event", "post", "--type", "conferenceIdChanged", "--user", "alice@contoso.com", "--conference-id", "7654321",
		"--id", "cli-flag-1")
	if !strings.Contains(out, "CORRELATION ID") || !regexp.MustCompile(`(?m)^alice@contoso\.com\s+(true|false)\s+\S`).MatchString(out) {
		t.Errorf("event post: no decision row:\n%s", out)
	}
	file := filepath.Join(dir, "events.json")
	if err := os.WriteFile(file, []byte(`[{"id":"cli-file-1","type":"sipAddressChanged","user":"bob@contoso.com"},
		{"id":"cli-file-2","type":"sipAddressChanged","user":"alice@contoso.com"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	out = c.must("event", "post", "-f", file)
	if !regexp.MustCompile(`(?m)^bob@contoso\.com\s`).MatchString(out) || !regexp.MustCompile(`(?m)^alice@contoso\.com\s`).MatchString(out) {
		t.Errorf("event post -f: want a row for bob and one for alice:\n%s", out)
	}
	if r := c.run("event", "post", "-f", file, "--user", "bob@contoso.com"); r.code != 1 {
		t.Errorf("event post -f with --user: exit %d, want 1", r.code)
	}
	out = c.must("event", "list", "--limit", "10")
	for _, want := range []string{"RECEIVED", "cli-flag-1", "cli-file-1", "cli-file-2", "conferenceIdChanged", "sipAddressChanged"} {
		if !strings.Contains(out, want) {
			t.Errorf("event list does not show %s:\n%s", want, out)
		}
	}
	if out = c.must("event", "list", "--user", "bob@contoso.com"); strings.Contains(out, "cli-file-2") || !strings.Contains(out, "cli-file-1") {
		t.Errorf("event list --user bob:\n%s", out)
	}

	// start, then watch to the end: several progress lines, the expected total, Succeeded.
	c.must("start", "--user", bulk)
	begin := time.Now()
	r := c.run("status", "--user", bulk, "--watch", "--interval", "200ms")
	t.Logf("watched %s for %s", bulk, time.Since(begin).Round(time.Millisecond))
	if r.code != 0 {
		t.Fatalf("watch: exit %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout, "\r") || strings.Contains(r.stdout, "\x1b") {
		t.Errorf("watch redraws lines although stdout is not a terminal:\n%q", r.stdout)
	}
	progress := regexp.MustCompile(`(?m)^InProgress\s+\[[#-]+\] (\d+)/1000 meetings\s+\d+%`)
	var counts []int
	for _, mm := range progress.FindAllStringSubmatch(r.stdout, -1) {
		n, _ := strconv.Atoi(mm[1])
		counts = append(counts, n)
	}
	if len(counts) < 2 {
		t.Errorf("watch: %d progress lines with the expected total, want at least 2:\n%s", len(counts), r.stdout)
	}
	for i := 1; i < len(counts); i++ {
		if counts[i] <= counts[i-1] {
			t.Errorf("watch: processed counts do not increase: %v", counts)
			break
		}
	}
	if !regexp.MustCompile(`(?m)^Succeeded\s+\[#+\] 1000/1000 meetings$`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^State\s+: Succeeded$`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^SucceededMeeting\s+: 1000$`).MatchString(r.stdout) {
		t.Errorf("watch does not end with Succeeded and its counters:\n%s", r.stdout)
	}

	// A mailbox on premises: the migration fails, the watch exits 4.
	c.must("start", "--user", "carol@contoso.com")
	if r := c.run("status", "--user", "carol@contoso.com", "--watch", "--interval", "200ms"); r.code != 4 ||
		!regexp.MustCompile(`(?m)^State\s+: Failed$`).MatchString(r.stdout) || !strings.Contains(r.stderr, "failed") {
		t.Errorf("watch of a failing migration: exit %d, want 4\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := c.run("status", "--watch"); r.code != 1 {
		t.Errorf("status --watch without --user: exit %d, want 1", r.code)
	}
	if r := c.run("status", "--user", "nobody@contoso.com", "--watch"); r.code != 2 {
		t.Errorf("watch of an unknown user: exit %d, want 2", r.code)
	}
	// A migration waiting out an hour's quiet period stays Pending.
	c.must("start", "--user", "bob@contoso.com", "--quiet-period", "3600")

	// The summary: the four states with their counts, as a table and as CSV.
	out = c.must("status", "--summary")
	for _, st := range []string{"Pending", "InProgress", "Failed", "Succeeded"} {
		if !regexp.MustCompile(`(?m)^` + st + `\s+\d+$`).MatchString(out) {
			t.Errorf("status --summary has no %s row:\n%s", st, out)
		}
	}
	rows, err := csv.NewReader(strings.NewReader(c.must("status", "--summary", "-o", "csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"State", "UserCount"}, {"Pending", ""}, {"InProgress", ""}, {"Failed", ""}, {"Succeeded", ""}}
	if len(rows) != 5 {
		t.Fatalf("status --summary -o csv: %d rows, want 5: %q", len(rows), rows)
	}
	counts = nil
	for i, row := range rows {
		if len(row) != 2 || row[0] != want[i][0] {
			t.Errorf("summary CSV row %d = %q, want %s", i, row, want[i][0])
			continue
		}
		if i > 0 {
			n, err := strconv.Atoi(row[1])
			if err != nil {
				t.Errorf("summary CSV row %d: count %q", i, row[1])
			}
			counts = append(counts, n)
		}
	}
	if len(counts) == 4 && (counts[0] < 1 || counts[2] < 1 || counts[3] < 1) {
		t.Errorf("summary counts %v: want a Pending, a Failed and a Succeeded user at least", counts)
	}

	// The list as the API's CSV, and a user's meetings as CSV.
	out = c.must("status", "-o", "csv")
	if !strings.HasPrefix(out, "UserId,State,MigrationType,") || !strings.Contains(out, bulk+",Succeeded,") {
		t.Errorf("status -o csv:\n%s", out)
	}
	rows, err = csv.NewReader(strings.NewReader(c.must("status", "--user", bulk, "-o", "csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1001 || strings.Join(rows[0], ",") != "MeetingId,Subject,Start,Outcome,InvitesSent,Reason" ||
		rows[1][3] != "Updated" || rows[1][4] != "2" {
		t.Errorf("status --user -o csv: %d rows, first %q", len(rows), rows[:min(2, len(rows))])
	}
}

// fakeAPI answers a user's record route from a script of answers (a status
// code, or a record for 200), repeating the last one.
func fakeAPI(t *testing.T, script ...any) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("meetings") != "false" {
			t.Errorf("watch polls %s, want ?meetings=false", r.URL)
		}
		mu.Lock()
		step := script[min(n, len(script)-1)]
		n++
		mu.Unlock()
		switch v := step.(type) {
		case int:
			w.WriteHeader(v)
			fmt.Fprintf(w, `{"error":{"code":"unavailable","message":"status %d"}}`, v)
		case store.StatusRecord:
			_ = json.NewEncoder(w).Encode(api.MigrationDetail{StatusRecord: v, Meetings: []store.MeetingResult{}})
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestWatchOffline: transient errors are retried and said so; a back end
// that cannot count shows processed and rate only; -o json keeps stdout
// for the final record; errors for too long exit 2; Ctrl-C exits 130.
func TestWatchOffline(t *testing.T) {
	defer func(d time.Duration) { watchRetryFor = d }(watchRetryFor)
	watchRetryFor = 2 * time.Second
	rec := func(state migration.State, processed int) store.StatusRecord {
		return store.StatusRecord{UserID: "u@x", State: state, ProcessedMeeting: processed, TotalMeeting: processed,
			SucceededMeeting: processed, CorrelationID: "c1"}
	}
	srv := fakeAPI(t, 503, 502, rec("InProgress", 10), rec("InProgress", 10), rec("InProgress", 30), rec("Succeeded", 40))
	c := cli{t: t, url: srv.URL, token: "t"}
	r := c.run("status", "--user", "u@x", "--watch", "--interval", "20ms")
	if r.code != 0 || strings.Count(r.stderr, "retrying") != 2 || !strings.Contains(r.stderr, "answers again") {
		t.Fatalf("exit %d, stderr %q: want 0 after two retries", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) < 3 || !regexp.MustCompile(`^InProgress\s+10 meetings processed\s+-/s$`).MatchString(lines[0]) ||
		!regexp.MustCompile(`^InProgress\s+30 meetings processed\s+[0-9.]+/s$`).MatchString(lines[1]) ||
		!strings.HasPrefix(lines[2], "Succeeded") || strings.Contains(r.stdout, "[") {
		t.Errorf("progress without an expected count:\n%s", r.stdout)
	}

	srv = fakeAPI(t, rec("InProgress", 5), rec("Failed", 7))
	c = cli{t: t, url: srv.URL, token: "t"}
	r = c.run("status", "--user", "u@x", "--watch", "--interval", "20ms", "-o", "json")
	var m store.StatusRecord
	if err := json.Unmarshal([]byte(r.stdout), &m); r.code != 4 || err != nil || m.State != "Failed" ||
		!strings.Contains(r.stderr, "InProgress") {
		t.Errorf("-o json: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	srv = fakeAPI(t, 503)
	c = cli{t: t, url: srv.URL, token: "t"}
	begin := time.Now()
	if r := c.run("status", "--user", "u@x", "--watch", "--interval", "100ms"); r.code != 2 || time.Since(begin) < watchRetryFor ||
		strings.Count(r.stderr, "retrying") != 1 {
		t.Errorf("API failing: exit %d after %s, want 2 after %s", r.code, time.Since(begin), watchRetryFor)
	}
	srv = fakeAPI(t, 404)
	c = cli{t: t, url: srv.URL, token: "t"}
	if r := c.run("status", "--user", "u@x", "--watch"); r.code != 2 || strings.Contains(r.stderr, "retrying") {
		t.Errorf("a refusal is not retried: exit %d, %q", r.code, r.stderr)
	}

	srv = fakeAPI(t, rec("Pending", 0))
	root := &cobra.Command{Use: "mms", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(adminCommands()...)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"status", "--user", "u@x", "--watch", "--interval", "20ms", "--api-url", srv.URL, "--token", "t", "--tenant", "x"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(200*time.Millisecond, cancel) // Ctrl-C
	if err := root.ExecuteContext(ctx); exitCode(err) != 130 || !strings.Contains(out.String(), "migration itself goes on") ||
		strings.Count(out.String(), "Pending") != 1 {
		t.Errorf("interrupted: %v (exit %d)\n%s", err, exitCode(err), out.String())
	}
}

// TestProgressLine: the terminal form redraws one line.
func TestProgressLine(t *testing.T) {
	var out bytes.Buffer
	w := &watcher{out: &out, tty: true}
	now := time.Now()
	w.show(now, store.StatusRecord{State: "InProgress", ProcessedMeeting: 10, ExpectedMeeting: 100})
	w.show(now.Add(time.Second), store.StatusRecord{State: "InProgress", ProcessedMeeting: 30, ExpectedMeeting: 100})
	w.endLine()
	want := "\r\x1b[2KInProgress  [##----------------------] 10/100 meetings   10%  -/s  ETA -" +
		"\r\x1b[2KInProgress  [#######-----------------] 30/100 meetings   30%  20.0/s  ETA 4s\n"
	if out.String() != want {
		t.Errorf("got  %q\nwant %q", out.String(), want)
	}
}
