package devstack

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/service"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/workflows"
)

// recordFlood, when set, is a directory where the flood tests write a
// waiting run's workflow history for the replay test in workflows/.
var recordFlood = flag.String("record-flood-history", "", "write flood-control workflow histories (JSON) to this directory")

// floodHour is the "hour" of flood control's budgets in these tests.
//
// The budget binds only if the runs could send faster than it allows:
// 200 runs take some 30 to 50 seconds on two busy cores, so each sends 20
// notifications, and the runs wait out a 5-second quiet period together
// (a burst, as a real bridge change is).
const floodHour = 6 * time.Second

// flood is the stack issue 21's flood-control tests share. Its activities'
// clock is the real one shifted by offset, so a test can stand just before
// a maintenance window opens; timers still run in real time.
type flood struct {
	t      *testing.T
	st     *Stack
	c      client_
	offset atomic.Int64 // nanoseconds added to the activities' clock
}

func (f *flood) now() time.Time { return time.Now().Add(time.Duration(f.offset.Load())) }

// TestFloodControlEndToEnd runs issue 21's flood-control "Done when" items
// on one embedded stack with the sandbox back end: a budget hour is
// floodHour long.
func TestFloodControlEndToEnd(t *testing.T) {
	f := &flood{t: t}
	cfg := Config{DataDir: t.TempDir(), APIAddr: freeAddr(t), TemporalAddr: freeAddr(t), UIAddr: "-",
		Service: service.Config{Clock: f.now, FloodHour: floodHour}}
	f.st = startStack(t, cfg)
	defer f.st.Stop(context.Background())
	f.c = client_{t: t, base: f.st.APIURL, token: f.st.AdminToken}
	t.Run("BudgetForABridgeChangeOf200Users", f.budget)
	t.Run("MaintenanceWindow", f.window)
}

// seedTenant creates a tenant whose users are all on bridge; each
// organizes meetings meetings with attendees attendees each, whose block
// shows the bridge's toll number.
func (f *flood) seedTenant(tenant, bridge string, users, meetings, attendees int, settings migration.Settings) []string {
	f.t.Helper()
	ctx := context.Background()
	if err := f.st.DB.PutTenant(ctx, store.Tenant{ID: tenant, DisplayName: tenant, Settings: settings}); err != nil {
		f.t.Fatal(err)
	}
	start := time.Now().UTC().Truncate(time.Hour).Add(72 * time.Hour)
	var ids []string
	for u := range users {
		id := fmt.Sprintf("user%03d@%s.example", u, tenant)
		ids = append(ids, id)
		p := meetingblock.Profile{MeetingType: "Teams", Provider: meetingblock.ProviderMicrosoft,
			ConferenceID: fmt.Sprintf("%06d", 100000+u), TollNumber: "+1 425-555-0100", BridgeID: bridge, Locale: "en-US"}
		raw, _ := json.Marshal(p)
		if err := f.st.DB.PutUser(ctx, store.User{TenantID: tenant, ID: id, DisplayName: id, Profile: raw}); err != nil {
			f.t.Fatal(err)
		}
		if err := f.st.Sandbox.PutMailbox(ctx, tenant, calendar.Mailbox{Address: id, DisplayName: id, Online: true}); err != nil {
			f.t.Fatal(err)
		}
		var items []sandbox.NewItem
		for m := range meetings {
			mp := p
			mp.JoinURL = fmt.Sprintf("https://teams.microsoft.com/l/meetup-join/19%%3ameeting_flood-%s-%d-%d%%40thread.v2/0", tenant, u, m)
			block, err := meetingblock.Render(mp, meetingblock.KindTeams, meetingblock.FormatHTML)
			if err != nil {
				f.t.Fatal(err)
			}
			var att []calendar.Attendee
			for a := range attendees {
				att = append(att, calendar.Attendee{Address: fmt.Sprintf("guest%02d@fabrikam.com", a)})
			}
			at := start.Add(time.Duration(m) * time.Hour)
			items = append(items, sandbox.NewItem{Mailbox: id, Meeting: calendar.Meeting{Subject: fmt.Sprintf("Meeting %d", m+1),
				Organizer: id, Attendees: att, Start: at, End: at.Add(30 * time.Minute), Kind: calendar.KindSingle,
				Body: "<html><body>\n<p>Agenda.</p>\n" + block + "\n</body></html>\n", BodyType: calendar.BodyHTML,
				OnlineMeeting: &calendar.OnlineMeeting{Provider: calendar.ProviderTeams, JoinURL: mp.JoinURL, ConferenceID: mp.ConferenceID}}})
		}
		if _, err := f.st.Sandbox.AddMeetings(ctx, tenant, items); err != nil {
			f.t.Fatal(err)
		}
	}
	return ids
}

func (f *flood) preview(tenant string, ev map[string]any) intake.Impact {
	f.t.Helper()
	code, raw := f.c.do("POST", "/v1/tenants/"+tenant+"/events?preview=true", f.st.AdminToken, ev)
	var imp intake.Impact
	if code != 200 || json.Unmarshal(raw, &imp) != nil {
		f.t.Fatalf("preview = %d %s", code, raw)
	}
	return imp
}

// watch polls the tenant's records until every one of users is final,
// returning every LastMessage seen on a record still open, with one user
// who showed it in each state.
func (f *flood) watch(tenant string, users int, within time.Duration) map[string]map[migration.State]string {
	f.t.Helper()
	ctx := context.Background()
	seen := map[string]map[migration.State]string{}
	deadline := time.Now().Add(within)
	for {
		recs, err := f.st.DB.StatusRecords(ctx, tenant, store.Filter{Limit: 10000})
		if err != nil {
			f.t.Fatal(err)
		}
		final := 0
		for _, r := range recs {
			switch r.State {
			case migration.StateSucceeded, migration.StateFailed:
				final++
			default:
				if seen[r.LastMessage] == nil {
					seen[r.LastMessage] = map[migration.State]string{}
				}
				seen[r.LastMessage][r.State] = r.UserID
			}
		}
		if final == users && len(recs) == users {
			return seen
		}
		if time.Now().After(deadline) {
			sum, _ := f.st.DB.Summary(ctx, tenant, store.Filter{})
			f.f("after %s: %d records, %d final: %v", within, len(recs), final, sum)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (f *flood) f(format string, args ...any) { f.t.Helper(); f.t.Fatalf(format, args...) }

// A bridge change for 200 users, one meeting of 20 attendees each: 4,000
// notifications under a budget of 500 an hour. No hour sends more, every
// meeting is updated once (ten notifications under one key), the users
// waiting say why, and the preview announced exactly what happened.
func (f *flood) budget(t *testing.T) {
	f.t = t
	const tenant, bridge, users, meetings, attendees, budget = "budget", "emea-1", 200, 1, 20, 500
	settings := migration.DefaultSettings()
	settings.QuietPeriodSeconds, settings.NotificationBudgetPerHour = 5, budget
	f.seedTenant(tenant, bridge, users, meetings, attendees, settings)
	ev := map[string]any{"id": "bridge-200", "type": "bridgeNumberChanged", "bridgeId": bridge,
		"oldNumber": "+1 425-555-0100", "newNumber": "+1 425-555-0199"}

	// Bad input first: a bridge nobody is on.
	bad := map[string]any{"type": "bridgeNumberChanged", "bridgeId": "nowhere", "oldNumber": "+1 425-555-0100", "newNumber": "+1 425-555-0199"}
	if code, raw := f.c.do("POST", "/v1/tenants/"+tenant+"/events?preview=true", f.st.AdminToken, bad); code != 400 ||
		!strings.Contains(string(raw), `bridgeId: no user of tenant \"budget\" is on bridge \"nowhere\"`) {
		t.Fatalf("unknown bridge = %d %s", code, raw)
	}

	imp := f.preview(tenant, ev)
	t.Logf("preview: %s", imp.Summary.Text)
	if s := imp.Summary; s.Users != users || s.Migrations != users || s.Meetings != users*meetings ||
		s.Notifications != users*meetings*attendees || s.Estimate || len(imp.Users) != users ||
		s.Text != "bridge change: 200 users, 200 meetings, 4,000 update mails" {
		t.Fatalf("preview summary %+v", s)
	}
	if recs, _ := f.st.DB.StatusRecords(context.Background(), tenant, store.Filter{}); len(recs) != 0 {
		t.Fatalf("the preview recorded %d migrations", len(recs))
	}

	began := time.Now()
	if code, raw := f.c.do("POST", "/v1/tenants/"+tenant+"/events", f.st.AdminToken, ev); code != 202 {
		t.Fatalf("event = %d %s", code, raw)
	}
	seen := f.watch(tenant, users, 3*time.Minute)
	t.Logf("200 migrations final in %s", time.Since(began).Round(time.Millisecond))
	waited := 0
	for msg, who := range seen {
		if strings.HasPrefix(msg, "notification budget: resumes at ") {
			waited++
			// A run stopped mid-way (InProgress), or one not begun (Pending).
			if u := who[migration.StateInProgress]; u != "" && *recordFlood != "" {
				writeHistory(t, f.st, workflows.WorkflowID(tenant, u), filepath.Join(*recordFlood, "migration-flood-budget.json"))
			}
		}
	}
	if waited == 0 {
		t.Fatalf("no waiting record said why; messages seen: %v", seen)
	}

	ctx := context.Background()
	sent, err := f.st.Sandbox.Outbox(ctx, tenant, "")
	if err != nil {
		t.Fatal(err)
	}
	perHour := map[time.Time]int{}
	keys := map[string]map[string]bool{} // meeting → idempotency keys
	perMeeting := map[string]int{}
	for _, n := range sent {
		perHour[n.SentAt.Truncate(floodHour)]++
		if keys[n.MeetingID] == nil {
			keys[n.MeetingID] = map[string]bool{}
		}
		keys[n.MeetingID][n.IdempotencyKey] = true
		perMeeting[n.MeetingID]++
	}
	if len(sent) != imp.Summary.Notifications || len(perMeeting) != imp.Summary.Meetings {
		t.Fatalf("sent %d notifications for %d meetings; the preview said %d for %d",
			len(sent), len(perMeeting), imp.Summary.Notifications, imp.Summary.Meetings)
	}
	for m, n := range perMeeting {
		if n != attendees || len(keys[m]) != 1 {
			t.Fatalf("meeting %s: %d notifications under %d keys, want %d under one", m, n, len(keys[m]), attendees)
		}
	}
	hours := 0
	for h, n := range perHour {
		if n > budget {
			t.Fatalf("the hour of %s sent %d notifications, more than the budget of %d", h.Format("15:04:05"), n, budget)
		}
		hours++
	}
	if hours < users*meetings*attendees/budget {
		t.Fatalf("%d notifications in %d hours of at most %d", len(sent), hours, budget)
	}
	recs, _ := f.st.DB.StatusRecords(ctx, tenant, store.Filter{Limit: 1000})
	updated := 0
	for _, r := range recs {
		if r.State != migration.StateSucceeded {
			t.Fatalf("%s ended %s: %s", r.UserID, r.State, r.LastMessage)
		}
		results, err := f.st.DB.MeetingResults(ctx, r.CorrelationID)
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range results {
			if res.Outcome == migration.OutcomeUpdated {
				updated++
			}
		}
	}
	if updated != imp.Summary.Meetings {
		t.Fatalf("%d meetings recorded updated, the preview said %d", updated, imp.Summary.Meetings)
	}
	t.Logf("%d notifications over %d budget hours of %s; %d distinct waiting messages", len(sent), hours, floodHour, waited)
}

// A maintenance window that opens in a few seconds (on the activities'
// clock): migrations started before wait Pending, saying when it opens,
// and no update is sent before it opens.
func (f *flood) window(t *testing.T) {
	f.t = t
	const tenant, bridge, users = "window", "apac-1", 5
	paris, _ := time.LoadLocation("Europe/Paris")
	// The window opens at a minute to come; once the tenant is seeded, the
	// activities' clock stands 6 seconds before it.
	opens := time.Now().In(paris).Truncate(time.Minute).Add(2 * time.Minute)
	closes := opens.Add(time.Hour)
	settings := migration.DefaultSettings()
	settings.QuietPeriodSeconds = 0
	settings.MaintenanceWindow = &migration.Window{Days: migration.WeekDays, Start: opens.Format("15:04"),
		End: closes.Format("15:04"), TimeZone: "Europe/Paris"}
	f.seedTenant(tenant, bridge, users, 1, 3, settings)
	f.offset.Store(int64(time.Until(opens.Add(-6 * time.Second))))
	began := time.Now()
	if code, raw := f.c.do("POST", "/v1/tenants/"+tenant+"/events", f.st.AdminToken, map[string]any{"type": "bridgeNumberChanged",
		"bridgeId": bridge, "oldNumber": "+1 425-555-0100", "newNumber": "+1 425-555-0199"}); code != 202 {
		t.Fatalf("event = %d %s", code, raw)
	}
	want := fmt.Sprintf("waiting for the maintenance window (opens %s Europe/Paris)", opens.Format("Mon 15:04"))
	seen := f.watch(tenant, users, time.Minute)
	if seen[want][migration.StatePending] == "" {
		t.Fatalf("no waiting Pending record said %q; messages seen: %v", want, seen)
	}
	if *recordFlood != "" {
		writeHistory(t, f.st, workflows.WorkflowID(tenant, seen[want][migration.StatePending]),
			filepath.Join(*recordFlood, "migration-flood-window.json"))
	}
	sent, err := f.st.Sandbox.Outbox(context.Background(), tenant, "")
	if err != nil {
		t.Fatal(err)
	}
	offset := time.Duration(f.offset.Load())
	for _, n := range sent {
		if at := n.SentAt.Add(offset); at.Before(opens) {
			t.Fatalf("an update was sent at %s, before the window opened at %s", at.Format(time.RFC3339Nano), opens)
		}
	}
	if len(sent) != users*3 {
		t.Fatalf("%d notifications sent, want %d", len(sent), users*3)
	}
	// They began at the opening: the first update within seconds of it.
	if first := sent[0].SentAt.Add(offset); first.Sub(opens) > 20*time.Second {
		t.Fatalf("the first update was sent %s after the window opened", first.Sub(opens))
	}
	recs, _ := f.st.DB.StatusRecords(context.Background(), tenant, store.Filter{})
	for _, r := range recs {
		if r.State != migration.StateSucceeded {
			t.Fatalf("%s ended %s: %s", r.UserID, r.State, r.LastMessage)
		}
	}
	if took := time.Since(began); took < 4*time.Second {
		t.Fatalf("the migrations ended %s after they were started, before the window opened", took)
	}
	f.offset.Store(0)
}
