package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/store/storetest"
)

// run runs one whole migration of user (BeginRun and every page) and
// returns the pages' totals.
func run(t *testing.T, a *Activities, tenant, user string, src migration.Source, tg migration.Target) PageResult {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	key := fmt.Sprintf("run-%d", time.Now().UnixNano())
	v, err := env.ExecuteActivity(a.BeginRun, BeginRunInput{TenantID: tenant, UserID: user, RunKey: key, WorkflowID: key,
		Trigger: "test", SourceMeetingType: src, TargetMeetingType: tg})
	if err != nil {
		t.Fatal(err)
	}
	var plan RunPlan
	if err := v.Get(&plan); err != nil || plan.Blocked != "" {
		t.Fatalf("plan = %+v, %v", plan, err)
	}
	var sum PageResult
	for cursor := ""; ; {
		v, err := env.ExecuteActivity(a.ProcessPage, PageInput{Plan: plan, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		var r PageResult
		if err := v.Get(&r); err != nil {
			t.Fatal(err)
		}
		sum.Updated, sum.UpToDate, sum.Skipped, sum.Failed, sum.Invites =
			sum.Updated+r.Updated, sum.UpToDate+r.UpToDate, sum.Skipped+r.Skipped, sum.Failed+r.Failed, sum.Invites+r.Invites
		if cursor = r.NextCursor; cursor == "" {
			return sum
		}
	}
}

// demo opens a database with the demo tenant seeded, and its sandbox.
func demo(t *testing.T) (*store.DB, *sandbox.Backend) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, storetest.Default(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := sandbox.SeedDemo(ctx, db, time.Now()); err != nil {
		t.Fatal(err)
	}
	return db, sandboxIn(t, db)
}

// TestConvertedMeetingsAreAFixedPoint is finding 9 of issue 16: Bob's Skype
// meetings converted to Teams, then the same command and a plain run: the
// later runs find every block up to date and mail nobody.
func TestConvertedMeetingsAreAFixedPoint(t *testing.T) {
	ctx := context.Background()
	db, sb := demo(t)
	a := &Activities{DB: db, Calendar: sb}
	const bob = "bob@contoso.com"
	if r := run(t, a, "contoso", bob, migration.SourceSfB, migration.TargetTeams); r.Updated != 2 {
		t.Fatalf("conversion: %+v, want 2 updated", r)
	}
	before, err := sb.Outbox(ctx, "contoso", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, again := range []struct {
		src migration.Source
		tg  migration.Target
	}{{migration.SourceSfB, migration.TargetTeams}, {migration.SourceAll, migration.TargetTeams}, {migration.SourceAll, migration.TargetCurrent}} {
		if r := run(t, a, "contoso", bob, again.src, again.tg); r.Updated != 0 || r.Failed != 0 {
			t.Errorf("%s -> %s again: %+v, want nothing updated", again.src, again.tg, r)
		}
	}
	after, _ := sb.Outbox(ctx, "contoso", "")
	if len(after) != len(before) {
		t.Errorf("later runs sent %d notifications, want 0", len(after)-len(before))
	}
	ms, _ := sb.Meetings(ctx, "contoso", bob)
	for _, m := range ms {
		f := meetingblock.FormatHTML
		if m.BodyType == calendar.BodyText {
			f = meetingblock.FormatText
		}
		if b, err := meetingblock.Find(m.Body, f); err != nil || b.Kind != meetingblock.KindTeams || b.MeetingID == "" || b.Passcode == "" {
			t.Errorf("%s: block %+v, %v; want a Teams block with its meeting ID and passcode", m.Subject, b, err)
		}
	}
}

// TestTeamsMeetingsKeepTheirOwnLinks is finding 5 of issue 16: a profile
// holding a Teams joinUrl (an upgrade event carried one) and a new
// conference ID: each Teams meeting keeps its own link, meeting ID and
// passcode, and takes the user's new conference ID.
func TestTeamsMeetingsKeepTheirOwnLinks(t *testing.T) {
	ctx := context.Background()
	db, user := seeded(t, 2)
	sb := sandboxIn(t, db)
	u, err := db.User(ctx, "t", user)
	if err != nil {
		t.Fatal(err)
	}
	var p meetingblock.Profile
	if err := json.Unmarshal(u.Profile, &p); err != nil {
		t.Fatal(err)
	}
	p.JoinURL, p.MeetingID, p.Passcode = "https://teams.microsoft.com/meet/4445556667778?p=Stamp1", "444 555 666 777 8", "Stamp1"
	p.ConferenceID = "123123123"
	if u.Profile, err = json.Marshal(p); err != nil {
		t.Fatal(err)
	}
	if err := db.PutUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	blocks := func() []meetingblock.Block {
		ms, err := sb.Meetings(ctx, "t", user)
		if err != nil || len(ms) != 2 {
			t.Fatalf("meetings: %d, %v", len(ms), err)
		}
		var out []meetingblock.Block
		for _, m := range ms {
			b, err := meetingblock.Find(m.Body, meetingblock.FormatHTML)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
		return out
	}
	old := blocks()
	if old[0].JoinURL == old[1].JoinURL {
		t.Fatal("the seeded meetings share a link")
	}
	a := &Activities{DB: db, Calendar: sb}
	if r := run(t, a, "t", user, migration.SourceAll, migration.TargetCurrent); r.Updated != 2 {
		t.Fatalf("run: %+v, want 2 updated", r)
	}
	for i, b := range blocks() {
		if b.JoinURL != old[i].JoinURL || b.MeetingID != old[i].MeetingID || b.Passcode != old[i].Passcode {
			t.Errorf("meeting %d: coordinates %q %q %q, want its own %q %q %q", i, b.JoinURL, b.MeetingID, b.Passcode,
				old[i].JoinURL, old[i].MeetingID, old[i].Passcode)
		}
		if b.ConferenceID != "123123123" {
			t.Errorf("meeting %d: conference ID %q, want the new one", i, b.ConferenceID)
		}
	}
}
