package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/rules"
	"github.com/openmms/mms/internal/service"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/workflows"
)

// faultyCalendar is the back end with faults switched on per user: a
// mailbox check that fails, or updates that always conflict (so meetings
// fail without the activity's own retries).
type faultyCalendar struct {
	calendar.Backend
	mailboxErr sync.Map // user → error
	conflicts  sync.Map // mailbox → true
}

func (f *faultyCalendar) Mailbox(ctx context.Context, tenantID, user string) (calendar.Mailbox, error) {
	if err, ok := f.mailboxErr.Load(user); ok {
		return calendar.Mailbox{}, err.(error)
	}
	return f.Backend.Mailbox(ctx, tenantID, user)
}

func (f *faultyCalendar) UpdateMeeting(ctx context.Context, tenantID string, u calendar.Update) (calendar.UpdateResult, error) {
	if _, ok := f.conflicts.Load(u.Mailbox); ok {
		return calendar.UpdateResult{}, fmt.Errorf("organizer edited it: %w", calendar.ErrConflict)
	}
	return f.Backend.UpdateMeeting(ctx, tenantID, u)
}

// issue16 is the stack the issue's end-to-end tests share: starting one
// per test would cost more than the tests. Runs retry twice, a second
// apart, so a run that keeps failing ends within seconds.
type issue16 struct {
	t      *testing.T
	st     *Stack
	c      client_
	faults *faultyCalendar
}

// TestIssue16EndToEnd runs issue 16's "Done when" end-to-end items on one
// embedded stack with the sandbox back end, in sequence: several change
// the tenant's settings.
func TestIssue16EndToEnd(t *testing.T) {
	faults := &faultyCalendar{}
	cfg := Config{DataDir: t.TempDir(), APIAddr: freeAddr(t), TemporalAddr: freeAddr(t), UIAddr: "-",
		Service: service.Config{
			WrapCalendar: func(b calendar.Backend) calendar.Backend { faults.Backend = b; return faults },
			Runs:         service.Runs{MaxRetries: 2, RetryInterval: time.Second},
		}}
	st := startStack(t, cfg)
	defer st.Stop(context.Background())
	s := &issue16{t: t, st: st, c: client_{t: t, base: st.APIURL, token: st.AdminToken}, faults: faults}
	s.settings(func(st *migration.Settings) { st.QuietPeriodSeconds = 0 })
	for _, tc := range []struct {
		name string
		run  func(*issue16)
	}{
		{"AcpReplacedWithTheSwitchOn", (*issue16).acpReplaced},
		{"AcpSkippedWithTheSwitchOff", (*issue16).acpKept},
		{"TeamsUpgradeAndConferenceIDInBothOrders", (*issue16).upgradeAndIDChange},
		{"MailboxCheckFailingForTheRetryWindow", (*issue16).mailboxFailing},
		{"TriggerDuringTheRetryWait", (*issue16).triggerDuringRetryWait},
		{"MigrationTurnedOffDuringTheQuietPeriod", (*issue16).turnedOffWhileQuiet},
		{"DocumentedTemporalCLIExample", (*issue16).documentedExample},
		{"BridgeFanOutToFiveThousandUsers", (*issue16).fanOutFiveThousand},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := *s
			sub.t, sub.c.t = t, t
			tc.run(&sub)
		})
	}
}

// settings changes contoso's settings.
func (s *issue16) settings(change func(*migration.Settings)) {
	s.t.Helper()
	ctx := context.Background()
	ten, err := s.st.DB.Tenant(ctx, "contoso")
	if err != nil {
		s.t.Fatal(err)
	}
	change(&ten.Settings)
	if err := s.st.DB.PutTenant(ctx, ten); err != nil {
		s.t.Fatal(err)
	}
}

// seed puts a contoso user with an online mailbox and profile p, who
// organizes one meeting per body (HTML), online with the given meeting
// (nil: a Teams meeting's own, read from its block).
func (s *issue16) seed(user string, p meetingblock.Profile, online *calendar.OnlineMeeting, bodies ...string) {
	s.t.Helper()
	ctx := context.Background()
	raw, _ := json.Marshal(p)
	if err := s.st.DB.PutUser(ctx, store.User{TenantID: "contoso", ID: user, DisplayName: user, Profile: raw}); err != nil {
		s.t.Fatal(err)
	}
	if err := s.st.Sandbox.PutMailbox(ctx, "contoso", calendar.Mailbox{Address: user, DisplayName: user, Online: true}); err != nil {
		s.t.Fatal(err)
	}
	start := time.Now().UTC().Truncate(time.Hour).Add(48 * time.Hour)
	items := make([]sandbox.NewItem, len(bodies))
	for i, body := range bodies {
		var om *calendar.OnlineMeeting
		if online != nil {
			o := *online
			om = &o
		} else if b, err := meetingblock.Find(body, meetingblock.FormatHTML); err == nil && b.Kind == meetingblock.KindTeams {
			// A Teams meeting's own online meeting, as its block shows it.
			om = &calendar.OnlineMeeting{Provider: calendar.ProviderTeams, JoinURL: b.JoinURL, ConferenceID: b.ConferenceID}
		}
		items[i] = sandbox.NewItem{Mailbox: user, Meeting: calendar.Meeting{Subject: fmt.Sprintf("Meeting %d", i+1),
			Organizer: user, Attendees: []calendar.Attendee{{Address: "guest@fabrikam.com"}},
			Start: start.Add(time.Duration(i) * time.Hour), End: start.Add(time.Duration(i)*time.Hour + 30*time.Minute),
			Kind: calendar.KindSingle, Body: body, BodyType: calendar.BodyHTML, OnlineMeeting: om}}
	}
	if _, err := s.st.Sandbox.AddMeetings(ctx, "contoso", items); err != nil {
		s.t.Fatal(err)
	}
}

// rendered is an HTML invitation whose block is p's, as the organizer's
// client wrote it; a Teams meeting gets a join link of its own.
func (s *issue16) rendered(p meetingblock.Profile) string {
	s.t.Helper()
	if p.MeetingType == string(meetingblock.KindTeams) && p.JoinURL == "" {
		meetingSeq++
		p.JoinURL = fmt.Sprintf("https://teams.microsoft.com/l/meetup-join/19%%3ameeting_issue16-%d%%40thread.v2/0", meetingSeq)
	}
	block, err := meetingblock.Render(p, meetingblock.Kind(p.MeetingType), meetingblock.FormatHTML)
	if err != nil {
		s.t.Fatal(err)
	}
	return "<html><body>\n<div><p>Agenda.</p></div>\n" + block + "\n</body></html>\n"
}

// meetingSeq numbers the seeded Teams meetings' join links.
var meetingSeq int

// event posts one event and returns its decision for the user.
func (s *issue16) event(ev map[string]any) store.Event {
	s.t.Helper()
	code, raw := s.c.do("POST", "/v1/tenants/contoso/events", s.st.AdminToken, ev)
	var res struct{ Results []store.Event }
	if code != 202 || json.Unmarshal(raw, &res) != nil || len(res.Results) != 1 {
		s.t.Fatalf("event %v = %d %s", ev["type"], code, raw)
	}
	return res.Results[0]
}

// blocks reads back the user's meetings' blocks by subject.
func (s *issue16) blocks(user string) map[string]meetingblock.Block {
	s.t.Helper()
	ms, err := s.st.Sandbox.Meetings(context.Background(), "contoso", user)
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[string]meetingblock.Block{}
	for _, m := range ms {
		b, err := meetingblock.Find(m.Body, meetingblock.FormatHTML)
		if err != nil {
			s.t.Fatalf("%s's %q: %v", user, m.Subject, err)
		}
		out[m.Subject] = b
	}
	return out
}

// acpUser is a Skype user whose dial-in is a third party's (InterCall), with
// one meeting whose block is that provider's (meetingblock's golden body).
func (s *issue16) acpUser(user string) {
	s.t.Helper()
	body, err := os.ReadFile("../meetingblock/testdata/bodies/sfb_acp_third_party.html")
	if err != nil {
		s.t.Fatal(err)
	}
	const join = "https://meet.lync.com/contoso-com/lee.gu/7RTM3QWX"
	s.seed(user, meetingblock.Profile{MeetingType: "SfB", Provider: meetingblock.ProviderThirdParty, JoinURL: join,
		ConferenceID: "8824017", TollNumber: "+1 (334) 555-0162", TollFreeNumbers: []string{"+1 (888) 555-0162"},
		DialInURL: "https://www.intercall.com/l/dial-in-number-lookup.php", Locale: "en-US"},
		&calendar.OnlineMeeting{Provider: calendar.ProviderSkype, JoinURL: join}, string(body))
	if b := s.blocks(user)["Meeting 1"]; !b.ThirdParty {
		s.t.Fatalf("the seeded block is not a third party's: %+v", b)
	}
}

// Microsoft's coordinates, as the licence brings them.
var acpLicence = map[string]any{"conferenceId": "45738291", "tollNumber": "+1 (425) 555-0188",
	"dialInUrl": "https://dialin.lync.com/2e6b4a8c-1d3f-4b5a-9c7e-8f0a1b2c3d4e"}

func withFields(ev map[string]any, more map[string]any) map[string]any {
	for k, v := range more {
		ev[k] = v
	}
	return ev
}

// Finding 1: with AutomaticallyReplaceAcpProvider on, the licence moves an
// ACP user's meetings to Microsoft's bridge.
func (s *issue16) acpReplaced() {
	const user = "acp-on@contoso.com"
	s.acpUser(user)
	s.settings(func(st *migration.Settings) { st.AutomaticallyReplaceAcpProvider = true })
	defer s.settings(func(st *migration.Settings) { st.AutomaticallyReplaceAcpProvider = false })
	ev := s.event(withFields(map[string]any{"type": "licenceAssigned", "user": user}, acpLicence))
	if !ev.Triggered || !strings.Contains(ev.Reason, "third-party provider replaced by Microsoft") {
		s.t.Fatalf("licence: %+v", ev)
	}
	d := s.c.waitRecord(user, ev.CorrelationID, time.Minute)
	if d.State != migration.StateSucceeded || d.SucceededMeeting != 1 || d.InvitesUpdate != 1 {
		s.t.Fatalf("record %+v, meetings %+v", d.StatusRecord, d.Meetings)
	}
	b := s.blocks(user)["Meeting 1"]
	if b.ThirdParty || b.ConferenceID != "45738291" || !slices.Contains(b.TollNumbers, "+14255550188") {
		s.t.Fatalf("block after the licence: %+v", b)
	}
}

// Finding 1, switch off: the licence keeps the third party (the decision
// names the switch); when the provider is switched to Microsoft anyway,
// the third party's blocks are skipped with the reason naming the switch.
func (s *issue16) acpKept() {
	const user = "acp-off@contoso.com"
	s.acpUser(user)
	ev := s.event(withFields(map[string]any{"type": "licenceAssigned", "user": user}, acpLicence))
	if ev.Triggered || ev.Reason != rules.ReasonAcpKept || !strings.Contains(ev.Reason, "AutomaticallyReplaceAcpProvider is off") {
		s.t.Fatalf("licence with the switch off: %+v", ev)
	}
	ev = s.event(withFields(map[string]any{"type": "providerSwitchedToMicrosoft", "user": user}, acpLicence))
	if !ev.Triggered {
		s.t.Fatalf("provider switch: %+v", ev)
	}
	d := s.c.waitRecord(user, ev.CorrelationID, time.Minute)
	if d.State != migration.StateSucceeded || d.SkippedMeeting != 1 || d.InvitesUpdate != 0 {
		s.t.Fatalf("record %+v", d.StatusRecord)
	}
	checkOutcomes(s.t, d, map[string]string{"Meeting 1": "Skipped third-party provider block kept: AutomaticallyReplaceAcpProvider is off"})
	if b := s.blocks(user)["Meeting 1"]; !b.ThirdParty || !slices.Contains(b.TollNumbers, "+13345550162") {
		s.t.Fatalf("the third party's block was touched: %+v", b)
	}
}

// Finding 2: a Teams upgrade and a conference-ID change in one quiet
// period, in either order, make one run that converts every Skype meeting
// to Teams with the new ID.
func (s *issue16) upgradeAndIDChange() {
	s.settings(func(st *migration.Settings) { st.QuietPeriodSeconds = 2 })
	defer s.settings(func(st *migration.Settings) { st.QuietPeriodSeconds = 0 })
	upgrade := func(user string) map[string]any {
		return map[string]any{"type": "teamsUpgradeGranted", "user": user, "mode": "TeamsOnly", "migrateMeetingsToTeams": true}
	}
	idChange := func(user, id string) map[string]any {
		return map[string]any{"type": "conferenceIdChanged", "user": user, "conferenceId": id}
	}
	orders := []struct {
		user, id string
		events   func(user, id string) []map[string]any
	}{
		{"upgrade-first@contoso.com", "7770001", func(u, id string) []map[string]any { return []map[string]any{upgrade(u), idChange(u, id)} }},
		{"id-first@contoso.com", "7770002", func(u, id string) []map[string]any { return []map[string]any{idChange(u, id), upgrade(u)} }},
	}
	corr := map[string]string{}
	for _, o := range orders {
		join := "https://meet.lync.com/contoso/" + strings.Split(o.user, "@")[0] + "/K8QF2R7L"
		p := meetingblock.Profile{MeetingType: "SfB", Provider: meetingblock.ProviderMicrosoft, JoinURL: join,
			ConferenceID: "4410021", TollNumber: "+1 425-555-0142", DialInURL: "https://dialin.lync.com/contoso", Locale: "en-US"}
		s.seed(o.user, p, &calendar.OnlineMeeting{Provider: calendar.ProviderSkype, JoinURL: join, ConferenceID: "4410021"},
			s.rendered(p), s.rendered(p))
		for _, ev := range o.events(o.user, o.id) {
			rec := s.event(ev)
			if !rec.Triggered || (corr[o.user] != "" && rec.CorrelationID != corr[o.user]) {
				s.t.Fatalf("%s: %+v did not join the pending migration %s", o.user, rec, corr[o.user])
			}
			corr[o.user] = rec.CorrelationID
		}
	}
	for _, o := range orders {
		d := s.c.waitRecord(o.user, corr[o.user], time.Minute)
		if d.State != migration.StateSucceeded || d.SucceededMeeting != 2 || d.TriggerCount != 2 ||
			d.TargetMeetingType != migration.TargetTeams || !strings.HasSuffix(d.LastTrigger, "(+1 merged)") {
			s.t.Fatalf("%s: %+v", o.user, d.StatusRecord)
		}
		for subject, b := range s.blocks(o.user) {
			if b.Kind != meetingblock.KindTeams || b.ConferenceID != o.id {
				s.t.Errorf("%s's %q ended %s with conference ID %q, want Teams with %s", o.user, subject, b.Kind, b.ConferenceID, o.id)
			}
		}
	}
}

// Finding 3: the mailbox check fails on every attempt of the run's
// retries. The record carries the cause while it waits and ends Failed
// with it; it never stays InProgress. The error is non-retryable so that
// each attempt fails at once: the activity's own retries would take
// minutes, and what is tested is the run's retry budget.
func (s *issue16) mailboxFailing() {
	const user = "mailbox-down@contoso.com"
	p := meetingblock.Profile{MeetingType: "Teams", Provider: meetingblock.ProviderMicrosoft, ConferenceID: "100200300",
		TollNumber: "+1 425-555-0100", Locale: "en-US"}
	s.seed(user, p, nil, s.rendered(p))
	const cause = "Graph refused the app's credentials: AADSTS7000215: Invalid client secret provided"
	s.faults.mailboxErr.Store(user, temporal.NewNonRetryableApplicationError(cause, "Unauthorized", nil))
	defer s.faults.mailboxErr.Delete(user)
	code, raw := s.c.do("POST", "/v1/tenants/contoso/migrations", s.st.AdminToken, map[string]any{"user": user})
	var rec store.StatusRecord
	if code != 202 || json.Unmarshal(raw, &rec) != nil {
		s.t.Fatalf("start = %d %s", code, raw)
	}
	d := s.c.waitRecord(user, rec.CorrelationID, time.Minute)
	if d.State != migration.StateFailed || !strings.Contains(d.LastMessage, cause) || d.RetryCount != 2 {
		s.t.Fatalf("record %+v", d.StatusRecord)
	}
}

// Finding 4: a trigger during the retry wait ends it at once: the waiting
// run is closed as superseded, and exactly one follow-up migrates every
// meeting with the new profile.
func (s *issue16) triggerDuringRetryWait() {
	ctx := context.Background()
	const user = "retry-wait@contoso.com"
	old := meetingblock.Profile{MeetingType: "Teams", Provider: meetingblock.ProviderMicrosoft, ConferenceID: "999000111",
		TollNumber: "+1 425-555-0100", Locale: "en-US"}
	s.seed(user, meetingblock.Profile{MeetingType: "Teams", Provider: meetingblock.ProviderMicrosoft, ConferenceID: "100100100",
		TollNumber: "+1 425-555-0100", Locale: "en-US"}, nil, s.rendered(old), s.rendered(old))
	s.faults.conflicts.Store(user, true)
	// An hour between retries (the stack's default is a second): the
	// follow-up can only come that soon if the trigger ends the wait.
	wfID := workflows.WorkflowID("contoso", user)
	if _, err := s.st.Client.SignalWithStartWorkflow(ctx, wfID, workflows.TriggerSignal,
		migration.Trigger{Reason: "first run", RequestedBy: "test", Manual: true},
		client.StartWorkflowOptions{ID: wfID, TaskQueue: workflows.TaskQueue, TypedSearchAttributes: workflows.SearchAttributes("contoso", user)},
		workflows.MigrationWorkflowType, workflows.Input{TenantID: "contoso", UserID: user, MaxRetries: 2, RetryIntervalSeconds: 3600}); err != nil {
		s.t.Fatal(err)
	}
	// The workflow's status says when the run has done its page with both
	// meetings failed: it waits to retry them next (a trigger arriving a
	// moment before the wait begins is received by it all the same).
	var status workflows.Status
	for deadline := time.Now().Add(time.Minute); status.Pages != 1 || status.Failed != 2; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			s.t.Fatalf("the run does not wait to retry: %+v", status)
		}
		if v, err := s.st.Client.QueryWorkflow(ctx, wfID, "", workflows.StatusQuery); err == nil {
			_ = v.Get(&status)
		}
	}
	time.Sleep(300 * time.Millisecond)
	first, _ := s.st.DB.LatestStatusRecord(ctx, "contoso", user)
	if first.State != migration.StateInProgress || first.FailedMeeting != 2 || first.CorrelationID != status.CorrelationID {
		s.t.Fatalf("the waiting run's record: %+v", first)
	}
	s.faults.conflicts.Delete(user)
	began := time.Now()
	ev := s.event(map[string]any{"type": "conferenceIdReset", "user": user, "conferenceId": "5551234"})
	if !ev.Triggered || ev.CorrelationID == first.CorrelationID {
		s.t.Fatalf("event %+v", ev)
	}
	d := s.c.waitRecord(user, ev.CorrelationID, 30*time.Second)
	if d.State != migration.StateSucceeded || d.SucceededMeeting != 2 || d.InvitesUpdate != 2 {
		s.t.Fatalf("follow-up %+v", d.StatusRecord)
	}
	s.t.Logf("follow-up done %s after the trigger", time.Since(began).Round(time.Millisecond))
	if r, _ := s.st.DB.StatusRecord(ctx, first.CorrelationID); r.State != migration.StateFailed || !strings.HasPrefix(r.LastMessage, "superseded") {
		s.t.Fatalf("the waiting run: %+v", r)
	}
	if n, _ := s.st.DB.CountStatusRecords(ctx, "contoso", store.Filter{UserID: user}); n != 2 {
		s.t.Fatalf("%d records, want the first run and one follow-up", n)
	}
	for subject, b := range s.blocks(user) {
		if b.ConferenceID != "5551234" {
			s.t.Errorf("%q shows conference ID %q, want the new 5551234", subject, b.ConferenceID)
		}
	}
}

// Finding 6: MeetingMigrationEnabled turned off while an automatic run
// waits out its quiet period: the run is refused when it begins.
func (s *issue16) turnedOffWhileQuiet() {
	const user = "switched-off@contoso.com"
	p := meetingblock.Profile{MeetingType: "Teams", Provider: meetingblock.ProviderMicrosoft, ConferenceID: "300300300",
		TollNumber: "+1 425-555-0100", Locale: "en-US"}
	s.seed(user, p, nil, s.rendered(p))
	s.settings(func(st *migration.Settings) { st.QuietPeriodSeconds = 2 })
	ev := s.event(map[string]any{"type": "conferenceIdReset", "user": user, "conferenceId": "3003009"})
	s.settings(func(st *migration.Settings) { st.MeetingMigrationEnabled = false })
	defer s.settings(func(st *migration.Settings) { st.MeetingMigrationEnabled, st.QuietPeriodSeconds = true, 0 })
	if !ev.Triggered {
		s.t.Fatalf("event %+v", ev)
	}
	d := s.c.waitRecord(user, ev.CorrelationID, time.Minute)
	if d.State != migration.StateFailed || d.LastMessage != migration.NotRunDisabled || d.InvitesUpdate != 0 {
		s.t.Fatalf("record %+v", d.StatusRecord)
	}
	if b := s.blocks(user)["Meeting 1"]; b.ConferenceID != "300300300" {
		s.t.Fatalf("a refused run wrote the meeting: %+v", b)
	}
}

// Finding 7: docs/WORKFLOWS.md's temporal-CLI example, run as the CLI
// would run it: a signal-with-start with exactly the documented workflow
// ID, type, task queue, search attributes, input and trigger (the SDK
// client stands in for the `temporal` binary, which the test machine need
// not have). Only the 10-minute quiet period is cut to 0, so the test does
// not wait it out.
func (s *issue16) documentedExample() {
	ctx := context.Background()
	doc, err := os.ReadFile("../../docs/WORKFLOWS.md")
	if err != nil {
		s.t.Fatal(err)
	}
	flag := func(name string) string {
		m := regexp.MustCompile(`--`+name+` '([^']+)'`).FindAllSubmatch(doc, -1)
		if len(m) == 0 {
			s.t.Fatalf("no --%s in the example", name)
		}
		return string(m[0][1])
	}
	wfID, input, signal := flag("workflow-id"), flag("input"), flag("signal-input")
	for _, want := range []string{"--type " + workflows.MigrationWorkflowType, "--task-queue " + workflows.TaskQueue,
		"--signal-name " + workflows.TriggerSignal, `'MmsTenant="contoso"'`, `'MmsUser="alice@contoso.com"'`} {
		if !strings.Contains(string(doc), want) {
			s.t.Fatalf("the example does not say %s", want)
		}
	}
	if wfID != workflows.WorkflowID("contoso", "alice@contoso.com") || strings.Count(signal, `"quietPeriodSeconds":600`) != 1 {
		s.t.Fatalf("the example changed: %s %s", wfID, signal)
	}
	signal = strings.Replace(signal, `"quietPeriodSeconds":600`, `"quietPeriodSeconds":0`, 1)
	if _, err := s.st.Client.SignalWithStartWorkflow(ctx, wfID, workflows.TriggerSignal, json.RawMessage(signal),
		client.StartWorkflowOptions{ID: wfID, TaskQueue: workflows.TaskQueue, TypedSearchAttributes: workflows.SearchAttributes("contoso", "alice@contoso.com")},
		workflows.MigrationWorkflowType, json.RawMessage(input)); err != nil {
		s.t.Fatal(err)
	}
	d := s.c.waitRecord("alice@contoso.com", "", time.Minute)
	if d.State != migration.StateSucceeded || d.SucceededMeeting == 0 || !strings.HasPrefix(d.LastTrigger, "provisioning: conference ID reset") {
		s.t.Fatalf("record %+v", d.StatusRecord)
	}
	evs, _ := s.st.DB.EventsByID(ctx, "contoso", "prov-4711")
	if len(evs) != 1 || !evs[0].Triggered || evs[0].CorrelationID != d.CorrelationID {
		s.t.Fatalf("event prov-4711: %+v", evs)
	}
	u, _ := s.st.DB.User(ctx, "contoso", "alice@contoso.com")
	var p meetingblock.Profile
	if err := json.Unmarshal(u.Profile, &p); err != nil || p.ConferenceID != "5550123" {
		s.t.Fatalf("alice's profile %s", u.Profile)
	}
	ms, _ := s.st.Sandbox.Meetings(ctx, "contoso", "alice@contoso.com")
	shown := 0
	for _, m := range ms {
		if b, err := meetingblock.Find(m.Body, meetingblock.Format(m.BodyType)); m.IsOrganizer && err == nil && b.ConferenceID == "5550123" {
			shown++
		}
	}
	if shown != d.SucceededMeeting {
		s.t.Fatalf("%d meetings show the new ID, %d were updated", shown, d.SucceededMeeting)
	}
}

// The bridge fan-out to 5,000 users: the request answers within a second
// with the event's record, and the fan-out workflow hands every user to a
// migration in the background, counting them on the event's record. Each
// user has a mailbox and no meetings, so each migration is cheap; the test
// counts started migrations (records Pending, InProgress or Succeeded) and
// does not wait for all 5,000 to finish, which takes minutes on two cores.
func (s *issue16) fanOutFiveThousand() {
	ctx := context.Background()
	const tenant, bridge, n = "bulk", "amer-1", 5000
	settings := migration.DefaultSettings()
	// An hour's quiet period: each started workflow waits on its timer.
	// With 0, 5,000 migrations run beside the hand-off and, on two cores,
	// slow it several times over; what is tested is that each starts.
	settings.QuietPeriodSeconds, settings.AutomaticallyMigrateUserMeetings = 3600, true
	if err := s.st.DB.PutTenant(ctx, store.Tenant{ID: tenant, DisplayName: tenant, Settings: settings}); err != nil {
		s.t.Fatal(err)
	}
	seeded := time.Now()
	profile, _ := json.Marshal(meetingblock.Profile{MeetingType: "Teams", Provider: meetingblock.ProviderMicrosoft,
		ConferenceID: "123456", TollNumber: "+1 425-555-0100", BridgeID: bridge, Locale: "en-US"})
	for i := range n {
		id := fmt.Sprintf("user%05d@bulk.example", i)
		if err := s.st.DB.PutUser(ctx, store.User{TenantID: tenant, ID: id, Profile: profile}); err != nil {
			s.t.Fatal(err)
		}
		if err := s.st.Sandbox.PutMailbox(ctx, tenant, calendar.Mailbox{Address: id, Online: true}); err != nil {
			s.t.Fatal(err)
		}
	}
	s.t.Logf("seeded %d users in %s", n, time.Since(seeded).Round(time.Millisecond))
	began := time.Now()
	code, raw := s.c.do("POST", "/v1/tenants/"+tenant+"/events", s.st.AdminToken, map[string]any{"id": "bridge-5000",
		"type": "bridgeNumberChanged", "bridgeId": bridge, "oldNumber": "+1 425-555-0100", "newNumber": "+1 425-555-0199"})
	took := time.Since(began)
	var res struct{ Results []store.Event }
	if code != 202 || json.Unmarshal(raw, &res) != nil || len(res.Results) != 1 ||
		res.Results[0].Reason != "fan-out: handed off 0 of 5000 users on bridge amer-1" {
		s.t.Fatalf("event = %d %s", code, raw)
	}
	if took > time.Second {
		s.t.Fatalf("the request took %s", took)
	}
	var p workflows.FanOutProgress
	if err := s.st.Client.GetWorkflow(ctx, workflows.FanOutWorkflowID(tenant, "bridge-5000"), "").Get(ctx, &p); err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("request %s; %d users handed off in %s", took.Round(time.Millisecond), p.HandedOff, time.Since(began).Round(time.Millisecond))
	evs, _ := s.st.DB.EventsByID(ctx, tenant, "bridge-5000")
	if p.HandedOff != n || p.Total != n || len(evs) != n+1 || evs[0].Reason != "fan-out: handed off 5000 of 5000 users on bridge amer-1" {
		s.t.Fatalf("progress %+v; %d records, first %+v", p, len(evs), evs[0])
	}
	byState, err := s.st.DB.Summary(ctx, tenant, store.Filter{})
	if err != nil {
		s.t.Fatal(err)
	}
	if started := byState[migration.StatePending] + byState[migration.StateInProgress] + byState[migration.StateSucceeded]; started != n {
		s.t.Fatalf("%d migrations started, want %d: %v", started, n, byState)
	}
	for _, ev := range evs[1:] {
		if !ev.Triggered || ev.CorrelationID == "" {
			s.t.Fatalf("%s was not handed off: %+v", ev.UserID, ev)
		}
	}
	s.t.Logf("records by state: %v", byState)
}
