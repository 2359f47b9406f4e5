package devstack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/service"
	"github.com/openmms/mms/internal/store"
)

// slowCalendar delays the updates of chosen mailboxes, so a browser can
// watch a migration's progress bar before the run ends. It counts meetings
// with the back end it wraps (the sandbox), which gives the bar its maximum.
type slowCalendar struct {
	calendar.Backend
	counter calendar.Counter
	slow    sync.Map // mailbox → time.Duration
}

func (s *slowCalendar) CountMeetings(ctx context.Context, tenantID, mailbox string, from, to time.Time) (int, error) {
	return s.counter.CountMeetings(ctx, tenantID, mailbox, from, to)
}

func (s *slowCalendar) UpdateMeeting(ctx context.Context, tenantID string, u calendar.Update) (calendar.UpdateResult, error) {
	if d, ok := s.slow.Load(u.Mailbox); ok {
		select {
		case <-time.After(d.(time.Duration)):
		case <-ctx.Done():
			return calendar.UpdateResult{}, ctx.Err()
		}
	}
	return s.Backend.UpdateMeeting(ctx, tenantID, u)
}

// chromium finds Debian's chromium; without it the browser tests skip,
// unless CI is set, where they fail.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed (apt-get install chromium): the console's browser tests cannot run")
	}
	t.Skip("chromium is not installed; the console's browser tests need it (they fail under CI)")
	return ""
}

// browserTab drives one headless chromium tab against the stack and saves
// screenshots of the pages it visits.
type browserTab struct {
	t     *testing.T
	ctx   context.Context
	base  string
	dir   string
	shots int
}

func (b *browserTab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.shot("failure")
		b.t.Fatalf("browser: %v (at %s)", err, b.location())
	}
}

func (b *browserTab) eval(js string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("browser: %s: %v", js, err)
	}
	return v
}

func (b *browserTab) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

// text is an element's text, "" when there is none.
func (b *browserTab) text(sel string) string {
	return b.eval(fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel))
}

// waitText waits until the element's text contains want.
func (b *browserTab) waitText(sel, want string, within time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(b.text(sel), want) {
		if time.Now().After(deadline) {
			b.shot("failure")
			b.t.Fatalf("%s: %q after %s, want %q (at %s)", sel, b.text(sel), within, want, b.location())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// shot saves a full-page PNG, numbered in the order of the scenario.
func (b *browserTab) shot(name string) {
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	b.shots++
	path := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.shots, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
	}
}

func (b *browserTab) open(path string) { b.do(chromedp.Navigate(b.base + path)) }

// TestConsoleInABrowser walks the console as a help-desk operator would,
// in headless chromium against the whole embedded stack: sign in, read the
// summary, open a user, a dry run and its diffs, a migration watched to
// Succeeded, a cancel, a retry of failed meetings, and every other page.
// Then an admin previews a bridge change and sets a notification budget
// (consoleAdmin). Screenshots go to $MMS_SCREENSHOTS (default: the test's temporary
// directory).
func TestConsoleInABrowser(t *testing.T) {
	chrome := chromium(t)
	dir := os.Getenv("MMS_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	faults := &faultyCalendar{}
	slow := &slowCalendar{}
	cfg := Config{DataDir: t.TempDir(), APIAddr: freeAddr(t), TemporalAddr: freeAddr(t), UIAddr: "-",
		Service: service.Config{
			WrapCalendar: func(b calendar.Backend) calendar.Backend {
				faults.Backend = b
				slow.Backend, slow.counter = faults, b.(calendar.Counter)
				return slow
			},
			// A run whose meetings keep failing ends Failed within seconds.
			Runs: service.Runs{MaxRetries: 1, RetryInterval: time.Second},
		}}
	st := startStack(t, cfg)
	defer st.Stop(context.Background())
	ctx := context.Background()
	// The help desk signs in with an operator token of the tenant.
	token, err := st.DB.CreateToken(ctx, "helpdesk", "contoso", store.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}

	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.Flag("headless", "new"), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))...)
	defer cancelAlloc()
	tabCtx, cancelTab := chromedp.NewContext(alloc)
	defer cancelTab()
	// The first run starts the browser, and cancelling its context would
	// stop it: it gets the tab's own context, not a step's deadline.
	if err := chromedp.Do(tabCtx); err != nil {
		t.Fatalf("starting %s: %v", chrome, err)
	}
	b := &browserTab{t: t, ctx: tabCtx, base: st.APIURL, dir: dir}
	const alice, bob = "alice@contoso.com", "bob@contoso.com"
	user := func(u string) string { return "/console/t/contoso/users/" + u }

	// Sign in: / sends a browser without a session to the form.
	b.open("/")
	b.do(chromedp.WaitVisible(chromedp.CSS("#token")))
	if loc := b.location(); !strings.HasSuffix(loc, "/console/signin") {
		t.Fatalf("/ without a session: at %s", loc)
	}
	b.shot("signin")
	b.do(chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#summary")))

	// The summary: nobody migrated yet, three users... none counted.
	if got := b.text(`#summary td[data-state="Succeeded"]`); got != "0" {
		t.Errorf("summary before any migration: Succeeded %q", got)
	}
	b.shot("summary")

	// Open a user from the summary's form.
	b.do(chromedp.SendKeys(chromedp.CSS("#open-user"), alice), chromedp.Click(chromedp.CSS(`form.inline button`)),
		chromedp.WaitVisible(chromedp.CSS("#start-form")))
	if got := b.text("#state"); !strings.Contains(got, "No migration") {
		t.Errorf("alice before any migration: %q", got)
	}
	b.shot("user-before")

	// A dry run: its page shows each meeting's outcome and, side by side,
	// the diff of its body.
	b.do(chromedp.Click(chromedp.CSS("#dryrun")))
	b.waitText("#state", "Succeeded", time.Minute)
	if loc := b.location(); !strings.Contains(loc, "?run=") {
		t.Errorf("dry run page at %s", loc)
	}
	b.do(chromedp.WaitVisible(chromedp.CSS("table.diff")))
	if !strings.Contains(b.text("#meetings"), "WouldUpdate") || b.text("table.diff ins") == "" || b.text("table.diff del") == "" {
		t.Errorf("dry run page: meetings %q, diff %q", b.text("#meetings"), b.text("table.diff"))
	}
	b.shot("dry-run-diffs")
	if before, err := st.DB.LatestStatusRecord(ctx, "contoso", alice); err == nil {
		t.Fatalf("the dry run left a real record: %+v", before)
	}

	// A migration, slowed so that its progress bar shows: watched to
	// Succeeded without reloading (the page's script refreshes it).
	slow.slow.Store(alice, 3*time.Second)
	b.open(user(alice))
	b.do(chromedp.Click(chromedp.CSS("#start")), chromedp.WaitVisible(chromedp.CSS("#progress")))
	// Once the back end has counted the meetings the bar has a maximum
	// and says how many are done.
	b.waitText("#progress-text", " meetings (", time.Minute)
	b.shot("migration-running")
	b.waitText("#state", "Succeeded", 2*time.Minute)
	if b.text("#progress") != "" {
		t.Error("the progress bar is still there after the run")
	}
	b.shot("migration-succeeded")
	rec, err := st.DB.LatestStatusRecord(ctx, "contoso", alice)
	if err != nil || rec.State != migration.StateSucceeded || rec.SucceededMeeting == 0 {
		t.Fatalf("alice's record: %+v, %v", rec, err)
	}
	if !strings.Contains(b.text("#meetings"), "Updated") {
		t.Errorf("meetings after the run: %q", b.text("#meetings"))
	}

	// Cancel one: bob's migration waits 300 s before starting; the cancel
	// ends it Failed, "cancelled by helpdesk".
	b.open(user(bob))
	b.do(chromedp.SendKeys(chromedp.CSS("#a-quiet"), "300"), chromedp.Click(chromedp.CSS("#start")))
	b.waitText("#state", "Pending", 30*time.Second)
	b.shot("cancel-pending")
	b.do(chromedp.SendKeys(chromedp.CSS("#a-reason"), "wrong user"), chromedp.Click(chromedp.CSS("#cancel")))
	b.waitText("#state", "Failed", time.Minute)
	b.waitText("#last-message", "cancelled", 10*time.Second)
	b.shot("cancelled")

	// Retry failed: bob's updates conflict, so his meetings fail; once the
	// conflicts are gone, the failed users' page retries them.
	faults.conflicts.Store(bob, true)
	b.open(user(bob))
	b.do(chromedp.Click(chromedp.CSS("#start")))
	// (The page showed the cancelled record, Failed too, and no meetings.)
	b.waitText("#meetings", "Failed", 2*time.Minute)
	b.waitText("#state", "Failed", 2*time.Minute)
	faults.conflicts.Delete(bob)
	b.open("/console/t/contoso/failed")
	retry := chromedp.CSS(`form[action$="/` + bob + `/retry-failed"] button`)
	b.do(chromedp.WaitVisible(retry))
	b.shot("failed-users")
	b.do(chromedp.Click(retry))
	b.waitText("#state", "Succeeded", 2*time.Minute)
	b.shot("retried")
	rec, err = st.DB.LatestStatusRecord(ctx, "contoso", bob)
	if err != nil || rec.State != migration.StateSucceeded || !strings.HasPrefix(rec.LastTrigger, "retry failed of") {
		t.Fatalf("bob's record after the retry: %+v, %v", rec, err)
	}

	// The other pages, read with the keyboard's links.
	for _, p := range []struct{ path, sel, want, name string }{
		{"/console/t/contoso/", `#summary td[data-state="Succeeded"]`, "2", "summary-after"},
		{"/console/t/contoso/migrations?state=Succeeded", "#count", "of 2", "migrations"},
		{"/console/t/contoso/events", "#events", "", "events"},
		{"/console/t/contoso/settings", `td[data-setting="quietPeriodSeconds"]`, "600", "settings"},
		{"/docs", "main", "/v1/tenants/{tenant}/migrations", "docs"},
	} {
		b.open(p.path)
		b.do(chromedp.WaitVisible(chromedp.CSS(p.sel)))
		if !strings.Contains(b.text(p.sel), p.want) {
			t.Errorf("%s: %s is %q, want %q", p.path, p.sel, b.text(p.sel), p.want)
		}
		b.shot(p.name)
	}
	// Signing out ends the session: a page sends back to sign in.
	b.open("/console/t/contoso/")
	b.do(chromedp.Click(chromedp.CSS(`.signout button`)), chromedp.WaitVisible(chromedp.CSS("#token")))
	b.open("/console/t/contoso/")
	b.do(chromedp.WaitVisible(chromedp.CSS("#token")))

	consoleAdmin(t, b, st)
	t.Logf("screenshots in %s", dir)
}

// consoleAdmin is the admin's part of the browser test, on a tenant whose
// users are on one bridge: preview a change of the bridge's number and
// read the counts the sandbox holds, then set a notification budget (0
// refused on the form with the API's message) and see it stored.
func consoleAdmin(t *testing.T, b *browserTab, st *Stack) {
	ctx := context.Background()
	const tenant, bridge, users, meetings, attendees = "northwind", "nw-bridge-1", 12, 3, 4
	(&flood{t: t, st: st}).seedTenant(tenant, bridge, users, meetings, attendees, migration.DefaultSettings())
	token, err := st.DB.CreateToken(ctx, "northwind-admin", tenant, store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	// What the sandbox holds: the users' future meetings and their
	// attendees (the organizer is not notified).
	wantMeetings, wantMails := 0, 0
	users_, err := st.DB.Users(ctx, tenant)
	if err != nil || len(users_) != users {
		t.Fatalf("northwind's users: %d, %v", len(users_), err)
	}
	now := time.Now().UTC()
	for _, u := range users_ {
		mb, err := st.Sandbox.Mailbox(ctx, tenant, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		page, err := st.Sandbox.ListMeetings(ctx, tenant, mb.Key(), now, now.Add(2*365*24*time.Hour), "", 1000)
		if err != nil || page.NextCursor != "" {
			t.Fatalf("listing %s: %v (cursor %q)", u.ID, err, page.NextCursor)
		}
		for _, m := range page.Meetings {
			wantMeetings++
			wantMails += m.Participants() - 1
		}
	}
	if wantMeetings != users*meetings || wantMails != users*meetings*attendees {
		t.Fatalf("the sandbox holds %d meetings and %d attendees, seeded %d and %d", wantMeetings, wantMails, users*meetings, users*meetings*attendees)
	}

	b.do(chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#summary")))
	before, err := st.DB.Events(ctx, tenant, "", 100)
	if err != nil {
		t.Fatal(err)
	}

	// An unknown bridge: the form names the field.
	b.open("/console/t/" + tenant + "/preview")
	b.do(chromedp.WaitVisible(chromedp.CSS("#preview-form")),
		chromedp.SendKeys(chromedp.CSS("#p-bridge"), "nowhere"), chromedp.SendKeys(chromedp.CSS("#p-old"), "+1 425-555-0100"),
		chromedp.SendKeys(chromedp.CSS("#p-new"), "+1 425-555-0199"), chromedp.Click(chromedp.CSS("#preview")),
		chromedp.WaitVisible(chromedp.CSS("#form-error")))
	if got := b.text("#form-error"); !strings.HasPrefix(got, "bridgeId: ") {
		t.Errorf("unknown bridge: %q", got)
	}
	if got := b.eval(`document.querySelector("#p-bridge").getAttribute("aria-invalid") || ""`); got != "true" {
		t.Errorf("the bridge field is not marked invalid: %q", got)
	}
	b.shot("preview-unknown-bridge")

	// The bridge's number changes: the summary line and the counts are
	// what the sandbox holds, for each of the users on the bridge.
	b.eval(`(document.querySelector("#p-bridge").value = "", "")`)
	b.do(chromedp.SendKeys(chromedp.CSS("#p-bridge"), bridge), chromedp.Click(chromedp.CSS("#preview")),
		chromedp.WaitVisible(chromedp.CSS("#impact-summary")))
	wantLine := fmt.Sprintf("bridge change: %d users, %d meetings, %d update mails", users, wantMeetings, wantMails)
	if got := b.text("#impact-summary"); got != wantLine {
		t.Errorf("summary %q, want %q", got, wantLine)
	}
	for sel, want := range map[string]int{`[data-count="users"]`: users, `[data-count="migrations"]`: users,
		`[data-count="meetings"]`: wantMeetings, `[data-count="notifications"]`: wantMails} {
		if got := b.text(sel); got != fmt.Sprint(want) {
			t.Errorf("%s: %q, want %d", sel, got, want)
		}
	}
	if got := b.eval(`String(document.querySelectorAll("#impact-users tbody tr").length)`); got != fmt.Sprint(users) {
		t.Errorf("%s rows in the per-user table, want %d", got, users)
	}
	if b.text("#impact-estimate") != "" {
		t.Error("the counts are marked as estimates")
	}
	b.shot("preview-bridge-change")
	after, err := st.DB.Events(ctx, tenant, "", 100)
	if err != nil || len(after) != len(before) {
		t.Errorf("the preview recorded events: %d, were %d (%v)", len(after), len(before), err)
	}
	if n, err := st.DB.CountStatusRecords(ctx, tenant, store.Filter{DryRun: true}); err != nil || n != 0 {
		t.Errorf("the preview opened %d records (%v)", n, err)
	}

	// A notification budget: 0 is refused as the API refuses it, 500 is stored.
	b.open("/console/t/" + tenant + "/settings")
	b.do(chromedp.WaitVisible(chromedp.CSS("#settings-form")), chromedp.SendKeys(chromedp.CSS("#s-budget"), "0"),
		chromedp.Click(chromedp.CSS("#save-settings")), chromedp.WaitVisible(chromedp.CSS("#form-error")))
	if got := b.text("#form-error"); got != "notificationBudgetPerHour: must be at least 1; use meetingMigrationEnabled to stop migrations" {
		t.Errorf("budget 0: %q", got)
	}
	b.shot("settings-budget-refused")
	b.eval(`(document.querySelector("#s-budget").value = "", "")`)
	b.do(chromedp.SendKeys(chromedp.CSS("#s-budget"), "500"), chromedp.Click(chromedp.CSS("#save-settings")),
		chromedp.WaitVisible(chromedp.CSS("#saved")))
	if got := b.text(`td[data-setting="notificationBudgetPerHour"]`); got != "500" {
		t.Errorf("the page shows the budget as %q", got)
	}
	b.shot("settings-saved")
	tn, err := st.DB.Tenant(ctx, tenant)
	if err != nil || tn.Settings.NotificationBudgetPerHour != 500 || tn.Settings.QuietPeriodSeconds != 600 || !tn.Settings.MeetingMigrationEnabled {
		t.Errorf("stored settings: %+v, %v", tn.Settings, err)
	}
}
