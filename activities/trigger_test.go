package activities

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

func beginWith(t *testing.T, a *Activities, in BeginRunInput) RunPlan {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	v, err := env.ExecuteActivity(a.BeginRun, in)
	if err != nil {
		t.Fatal(err)
	}
	var plan RunPlan
	if err := v.Get(&plan); err != nil {
		t.Fatal(err)
	}
	return plan
}

func profileOf(t *testing.T, db *store.DB, user string) meetingblock.Profile {
	t.Helper()
	u, err := db.User(context.Background(), "t", user)
	if err != nil {
		t.Fatal(err)
	}
	var p meetingblock.Profile
	if err := json.Unmarshal(u.Profile, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// The temporal-CLI example of docs/WORKFLOWS.md, read from the document so
// that it cannot drift: its trigger really changes the conference ID, once
// however often BeginRun is retried, and the run writes it into the meetings.
func TestDocumentedTriggerChangesTheConferenceID(t *testing.T) {
	doc, err := os.ReadFile("../docs/WORKFLOWS.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`--signal-input '([^']+)'`).FindSubmatch(doc)
	if m == nil {
		t.Fatal("no --signal-input in docs/WORKFLOWS.md")
	}
	var tr migration.Trigger
	if err := json.Unmarshal(m[1], &tr); err != nil {
		t.Fatalf("the documented trigger is not valid JSON: %v", err)
	}
	var ev struct {
		ID           string `json:"id"`
		ConferenceID string `json:"conferenceId"`
	}
	if err := json.Unmarshal(tr.Event, &ev); err != nil || ev.ConferenceID == "" {
		t.Fatalf("the documented trigger carries no conference ID: %s", tr.Event)
	}
	ctx := context.Background()
	db, user := seeded(t, 2)
	sb := sandboxIn(t, db)
	a := &Activities{DB: db, Calendar: sb}
	sel := migration.Merge(tr)
	in := BeginRunInput{TenantID: "t", UserID: user, RunKey: "k", WorkflowID: "wf", Trigger: sel.Reason,
		SourceMeetingType: sel.Source, TargetMeetingType: sel.Target, CheckSwitches: true, EventsOnly: true,
		Events: []TriggerEvent{{Key: "k/event/0", Event: tr.Event}}}
	plan := beginWith(t, a, in)
	again := beginWith(t, a, in) // a retried BeginRun
	if plan.Blocked != "" || plan.Profile.ConferenceID != ev.ConferenceID || again.MigrationID != plan.MigrationID {
		t.Fatalf("plan %+v, again %+v", plan, again)
	}
	if p := profileOf(t, db, user); p.ConferenceID != ev.ConferenceID {
		t.Fatalf("stored profile %+v", p)
	}
	evs, _ := db.EventsByID(ctx, "t", ev.ID)
	if len(evs) != 1 || !evs[0].Triggered || evs[0].CorrelationID != plan.MigrationID {
		t.Fatalf("recorded event: %+v", evs)
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	v, err := env.ExecuteActivity(a.ProcessPage, PageInput{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	var pr PageResult
	if err := v.Get(&pr); err != nil || pr.Updated != 2 {
		t.Fatalf("page: %+v, %v", pr, err)
	}
	ms, _ := sb.Meetings(ctx, "t", user)
	for _, mt := range ms {
		if !strings.Contains(mt.Body, ev.ConferenceID) {
			t.Errorf("%s does not show the new conference ID", mt.Subject)
		}
	}
}

// Bad input is refused on the record, naming the field; nothing is applied.
func TestBadTriggersAreRefusedAndApplyNothing(t *testing.T) {
	db, user := seeded(t, 1)
	a := &Activities{DB: db, Calendar: sandboxIn(t, db)}
	before := profileOf(t, db, user)
	for i, c := range []struct {
		in   BeginRunInput
		want string
	}{
		{BeginRunInput{Refused: `sourceMeetingType: must be All, SfB or Teams, not "Zoom"`}, `trigger refused: sourceMeetingType`},
		{BeginRunInput{Events: []TriggerEvent{{Event: json.RawMessage(`{"type":"conferenceIdChanged","conferenceId":"12ab"}`)}}},
			"trigger refused: event.conferenceId"},
		{BeginRunInput{Events: []TriggerEvent{{Event: json.RawMessage(`{"type":"noSuchEvent"}`)}}}, `trigger refused: event.type: unknown event type "noSuchEvent"`},
		{BeginRunInput{Events: []TriggerEvent{{Event: json.RawMessage(`{"type":"conferenceIdChanged","conferenceId":"1234","user":"x@t"}`)}}},
			`trigger refused: event.user: "x@t" is not this workflow's user`},
		{BeginRunInput{Events: []TriggerEvent{{Event: json.RawMessage(`{"type":"conferenceIdChanged","conferenceId":"77777"}`)},
			{Event: json.RawMessage(`{"type":"dialInEnabled"}`)}}}, "trigger refused: event.tollNumber: required"},
	} {
		in := c.in
		in.TenantID, in.UserID, in.RunKey, in.WorkflowID = "t", user, "bad"+string(rune('0'+i)), "wf"
		in.SourceMeetingType, in.TargetMeetingType, in.CheckSwitches = migration.SourceAll, migration.TargetCurrent, true
		plan := beginWith(t, a, in)
		if !strings.HasPrefix(plan.Blocked, c.want) {
			t.Errorf("%d: blocked %q, want %q", i, plan.Blocked, c.want)
		}
		// The workflow finishes a blocked run: the record ends Failed with it.
		var s testsuite.WorkflowTestSuite
		env := s.NewTestActivityEnvironment()
		env.RegisterActivity(a)
		if _, err := env.ExecuteActivity(a.FinishRun, FinishRunInput{MigrationID: plan.MigrationID, Message: plan.Blocked}); err != nil {
			t.Fatal(err)
		}
		if rec, _ := db.StatusRecord(context.Background(), plan.MigrationID); rec.State != migration.StateFailed || rec.LastMessage != plan.Blocked {
			t.Errorf("%d: record %+v", i, rec)
		}
	}
	if after := profileOf(t, db, user); after.ConferenceID != before.ConferenceID {
		t.Fatalf("a refused trigger changed the profile: %+v", after)
	}
	// A direct start for an unknown user is refused on its record; for an
	// unknown tenant no record can exist, and the refusal is the workflow's.
	for _, c := range []struct{ tenant, user, want string }{
		{"t", "nobody@t", `user "nobody@t" is not in the directory`}, {"nope", user, `tenant "nope" does not exist`},
		// Issue 18: a malformed ID is refused before any record is written.
		{"t", "a\tb", `user "a\tb": must be printable`}} {
		plan := beginWith(t, a, BeginRunInput{TenantID: c.tenant, UserID: c.user, RunKey: "u" + c.tenant, WorkflowID: "wf",
			SourceMeetingType: migration.SourceAll, TargetMeetingType: migration.TargetCurrent, CheckSwitches: true})
		if !strings.Contains(plan.Blocked, c.want) || (plan.MigrationID == "") != (c.tenant == "nope" || c.user == "a\tb") {
			t.Errorf("%s/%s: %+v", c.tenant, c.user, plan)
		}
	}
}

// MeetingMigrationEnabled is checked again when an automatic run begins; a
// manual one runs whatever it says. The ACP switch decides whether the
// third party's blocks are replaced.
func TestBeginRunChecksTheSwitchesAgain(t *testing.T) {
	ctx := context.Background()
	db, user := seeded(t, 1)
	a := &Activities{DB: db, Calendar: sandboxIn(t, db)}
	ten, _ := db.Tenant(ctx, "t")
	ten.Settings.MeetingMigrationEnabled = false
	if err := db.PutTenant(ctx, ten); err != nil {
		t.Fatal(err)
	}
	in := BeginRunInput{TenantID: "t", UserID: user, RunKey: "auto", WorkflowID: "wf",
		SourceMeetingType: migration.SourceAll, TargetMeetingType: migration.TargetCurrent, CheckSwitches: true}
	if plan := beginWith(t, a, in); plan.Blocked != migration.NotRunDisabled {
		t.Fatalf("automatic run with the service off: %+v", plan)
	}
	in.RunKey, in.CheckSwitches, in.ReplaceThirdParty = "manual", false, true
	plan := beginWith(t, a, in)
	if plan.Blocked != "" || plan.Profile.ReplaceThirdParty || !plan.KeepsThirdParty {
		t.Fatalf("manual run with the switches off: %+v", plan)
	}
	ten.Settings.AutomaticallyReplaceAcpProvider = true
	if err := db.PutTenant(ctx, ten); err != nil {
		t.Fatal(err)
	}
	in.RunKey = "acp"
	if plan := beginWith(t, a, in); !plan.Profile.ReplaceThirdParty || plan.KeepsThirdParty {
		t.Fatalf("ACP switch on: %+v", plan)
	}
}
