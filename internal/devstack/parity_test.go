package devstack

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/openmms/mms/api"
	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// migrate starts a migration (body: the start request without the user)
// and waits for that record to be final.
func (c client_) migrate(user string, body map[string]any) api.MigrationDetail {
	c.t.Helper()
	req := map[string]any{"user": user}
	for k, v := range body {
		req[k] = v
	}
	code, raw := c.do("POST", "/v1/tenants/contoso/migrations", c.token, req)
	var rec store.StatusRecord
	if code != 202 || json.Unmarshal(raw, &rec) != nil {
		c.t.Fatalf("start %v = %d %s", req, code, raw)
	}
	return c.waitRecord(user, rec.CorrelationID, 2*time.Minute)
}

// blockOf finds a sandbox meeting's block.
func blockOf(t *testing.T, m calendar.Meeting) meetingblock.Block {
	t.Helper()
	f := meetingblock.FormatHTML
	if m.BodyType == calendar.BodyText {
		f = meetingblock.FormatText
	}
	b, err := meetingblock.Find(m.Body, f)
	if err != nil {
		t.Fatalf("%q: %v", m.Subject, err)
	}
	return b
}

// TestEndToEndEveryDemoUserIsAFixedPoint is issue 16's fixed point on the
// sandbox: every demo user's migration, plain and converting (--source SfB
// --target Teams), run a second time (and a plain run after the
// conversion), sends 0 notifications and updates nothing.
func TestEndToEndEveryDemoUserIsAFixedPoint(t *testing.T) {
	st := startStack(t, Config{DataDir: t.TempDir(), APIAddr: freeAddr(t), TemporalAddr: freeAddr(t), UIAddr: "-"})
	defer st.Stop(context.Background())
	ctx := context.Background()
	c := client_{t: t, base: st.APIURL, token: st.AdminToken}
	plain := map[string]any{}
	convert := map[string]any{"sourceMeetingType": "SfB", "targetMeetingType": "Teams"}
	for _, user := range []string{"alice@contoso.com", "bob@contoso.com", "carol@contoso.com"} {
		for _, runs := range []struct {
			name  string
			first map[string]any
			again []map[string]any
		}{{"plain", plain, []map[string]any{plain}}, {"converting", convert, []map[string]any{convert, plain}}} {
			d := c.migrate(user, runs.first)
			if user == "carol@contoso.com" {
				// Her mailbox is on premises: every run fails, nothing is sent.
				if d.State != migration.StateFailed {
					t.Errorf("carol %s: %+v, want Failed", runs.name, d.StatusRecord)
				}
			} else if d.State != migration.StateSucceeded {
				t.Fatalf("%s %s: %+v", user, runs.name, d.StatusRecord)
			}
			sent, _ := st.Sandbox.Outbox(ctx, "contoso", "")
			before, _ := st.Sandbox.Meetings(ctx, "contoso", user)
			for _, body := range runs.again {
				d2 := c.migrate(user, body)
				if d2.CorrelationID == d.CorrelationID {
					// Served by the first run (no run of its own): what it
					// would have done is checked from the sandbox below.
					continue
				}
				if d2.InvitesUpdate != 0 || d2.FailedMeeting != 0 && user != "carol@contoso.com" {
					t.Errorf("%s %s, then %v: %+v; want nothing updated, nobody notified", user, runs.name, body, d2.StatusRecord)
				}
				for _, m := range d2.Meetings {
					if m.Outcome == migration.OutcomeUpdated || m.InvitesSent != 0 {
						t.Errorf("%s %s, then %v: %q %s, %d sent", user, runs.name, body, m.Subject, m.Outcome, m.InvitesSent)
					}
				}
			}
			if again, _ := st.Sandbox.Outbox(ctx, "contoso", ""); len(again) != len(sent) {
				t.Errorf("%s %s: the later runs sent %d notifications, want 0", user, runs.name, len(again)-len(sent))
			}
			after, _ := st.Sandbox.Meetings(ctx, "contoso", user)
			for i := range before {
				if after[i].ETag != before[i].ETag || after[i].Body != before[i].Body {
					t.Errorf("%s %s: the later runs rewrote %q", user, runs.name, before[i].Subject)
				}
			}
		}
	}
}

// TestEndToEndSandboxParity runs two findings of issue 16 end to end on the
// sandbox, on alice's demo calendar.
func TestEndToEndSandboxParity(t *testing.T) {
	st := startStack(t, Config{DataDir: t.TempDir(), APIAddr: freeAddr(t), TemporalAddr: freeAddr(t), UIAddr: "-"})
	defer st.Stop(context.Background())
	ctx := context.Background()
	c := client_{t: t, base: st.APIURL, token: st.AdminToken}
	const alice = "alice@contoso.com"

	// A meeting under way and an exception of the weekly series under way
	// have started: reported skipped as past. One that has ended is not
	// listed at all (it lies outside the run's window).
	t.Run("PastSingleAndPastExceptionAreSkippedAsPast", func(t *testing.T) {
		now := time.Now().UTC()
		online := &calendar.OnlineMeeting{Provider: calendar.ProviderTeams,
			JoinURL: "https://teams.microsoft.com/l/meetup-join/19%3ameeting_past%40thread.v2/0"}
		item := func(subject, kind string, start time.Time) sandbox.NewItem {
			return sandbox.NewItem{Mailbox: alice, Meeting: calendar.Meeting{Subject: subject, Organizer: alice, Kind: kind,
				Start: start, End: start.Add(30 * time.Minute), BodyType: calendar.BodyText, Body: "Agenda.",
				Attendees: []calendar.Attendee{{Address: "erin@fabrikam.com"}}, OnlineMeeting: online}}
		}
		exc := item("Weekly sync (moved to now)", calendar.KindException, now.Add(-10*time.Minute))
		exc.SeriesMasterID = "demo-alice-weekly-sync"
		if _, err := st.Sandbox.AddMeetings(ctx, "contoso", []sandbox.NewItem{
			item("Stand-up (under way)", calendar.KindSingle, now.Add(-10*time.Minute)), exc,
			item("Ended an hour ago", calendar.KindSingle, now.Add(-90*time.Minute)),
		}); err != nil {
			t.Fatal(err)
		}
		d := c.migrate(alice, nil)
		checkOutcomes(t, d, map[string]string{
			"Stand-up (under way)":       "Skipped past meeting: started ",
			"Weekly sync (moved to now)": "Skipped past meeting: started ",
			"Weekly sync":                "Updated", // the master covers the series' future occurrences
		})
		for _, m := range d.Meetings {
			if m.Subject == "Ended an hour ago" || m.Subject == "Retrospective" {
				t.Errorf("%q has ended, yet the run reports it: %s %s", m.Subject, m.Outcome, m.Reason)
			}
		}
	})

	// Finding 5: a profile holding one Teams join link (an upgrade event
	// carried it), then a conference-ID change: alice's Teams meetings keep
	// their own, different links and take the new ID.
	t.Run("TeamsMeetingsKeepTheirLinksThroughAConferenceIDChange", func(t *testing.T) {
		ten, _ := st.DB.Tenant(ctx, "contoso")
		ten.Settings.QuietPeriodSeconds = 1
		if err := st.DB.PutTenant(ctx, ten); err != nil {
			t.Fatal(err)
		}
		before, _ := st.Sandbox.Meetings(ctx, "contoso", alice)
		links := map[string]string{} // meeting ID -> its join link
		for _, m := range before {
			if m.IsOrganizer && m.OnlineMeeting != nil && m.Start.After(time.Now()) && m.Participants() <= 250 {
				links[m.ID] = blockOf(t, m).JoinURL
			}
		}
		own := map[string]bool{}
		for _, l := range links {
			own[l] = true
		}
		if len(links) < 2 || len(own) != len(links) {
			t.Fatalf("alice's future Teams meetings do not each have a link of their own: %v", links)
		}
		const stamped = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_STAMPED%40thread.v2/0"
		profile := map[string]any{"meetingType": "Teams", "provider": "Microsoft", "joinUrl": stamped,
			"conferenceId": "987654321", "tollNumber": "+1 206-555-0199", "dialInUrl": "https://dialin.teams.microsoft.com/local"}
		code, raw := c.do("PUT", "/v1/tenants/contoso/users/"+alice, st.AdminToken, map[string]any{"profile": profile})
		var put struct{ CorrelationID string }
		if code != 200 || json.Unmarshal(raw, &put) != nil {
			t.Fatalf("put alice = %d %s", code, raw)
		}
		if put.CorrelationID != "" {
			c.waitRecord(alice, put.CorrelationID, 2*time.Minute)
		}
		event := map[string]any{"id": "parity-cid-1", "type": "conferenceIdChanged", "user": alice, "conferenceId": "5550001"}
		code, raw = c.do("POST", "/v1/tenants/contoso/events", st.AdminToken, event)
		var ev struct{ Results []store.Event }
		if code != 202 || json.Unmarshal(raw, &ev) != nil || len(ev.Results) != 1 || ev.Results[0].CorrelationID == "" {
			t.Fatalf("event = %d %s", code, raw)
		}
		if d := c.waitRecord(alice, ev.Results[0].CorrelationID, 2*time.Minute); d.State != migration.StateSucceeded || d.FailedMeeting != 0 {
			t.Fatalf("after the conference-ID change: %+v", d.StatusRecord)
		}
		after, _ := st.Sandbox.Meetings(ctx, "contoso", alice)
		distinct := map[string]bool{}
		for _, m := range after {
			old, ok := links[m.ID]
			if !ok {
				continue
			}
			b := blockOf(t, m)
			distinct[b.JoinURL] = true
			if b.JoinURL != old || b.JoinURL == stamped || strings.Contains(m.Body, "STAMPED") {
				t.Errorf("%q: join link %q, want its own %q", m.Subject, b.JoinURL, old)
			}
			if b.ConferenceID != "5550001" {
				t.Errorf("%q: conference ID %q, want the new 5550001", m.Subject, b.ConferenceID)
			}
		}
		if len(distinct) != len(links) {
			t.Errorf("%d meetings ended with %d distinct links", len(links), len(distinct))
		}
	})
}

// TestEndToEndGraphFixedPoint is issue 16's fixed point through Graph's
// write and read-back path (the emulator stores the body the client
// PATCHes and serves it back through calendarView): a plain migration and
// a conversion, each run again on what was read back, and a plain run after
// the conversion, write nothing and notify nobody.
func TestEndToEndGraphFixedPoint(t *testing.T) {
	st := startStack(t, Config{DataDir: t.TempDir(), APIAddr: freeAddr(t), TemporalAddr: freeAddr(t), UIAddr: "-",
		Calendar: CalendarGraphEmulator})
	defer st.Stop(context.Background())
	c := client_{t: t, base: st.APIURL, token: st.AdminToken}
	for _, tc := range []struct {
		user  string
		first map[string]any
		again []map[string]any
	}{
		{"alice@contoso.com", map[string]any{}, []map[string]any{{}}},
		{"bob@contoso.com", map[string]any{"sourceMeetingType": "SfB", "targetMeetingType": "Teams"},
			[]map[string]any{{"sourceMeetingType": "SfB", "targetMeetingType": "Teams"}, {}, {"targetMeetingType": "Teams"}}},
	} {
		d := c.migrate(tc.user, tc.first)
		if d.State != migration.StateSucceeded || d.SucceededMeeting == 0 || d.InvitesUpdate == 0 {
			t.Fatalf("%s first run: %+v", tc.user, d.StatusRecord)
		}
		writes := map[string]int{}
		for _, e := range st.Emulator.Events(tc.user) {
			writes[e.ID] = e.Writes
		}
		notified := st.Emulator.NotificationCount("")
		for _, body := range tc.again {
			d2 := c.migrate(tc.user, body)
			if d2.State != migration.StateSucceeded || d2.InvitesUpdate != 0 || d2.FailedMeeting != 0 {
				t.Errorf("%s %v again: %+v", tc.user, body, d2.StatusRecord)
			}
			for _, m := range d2.Meetings {
				if m.Outcome == migration.OutcomeUpdated {
					t.Errorf("%s %v again: %q updated a second time", tc.user, body, m.Subject)
				}
			}
		}
		for _, e := range st.Emulator.Events(tc.user) {
			if e.Writes != writes[e.ID] {
				t.Errorf("%s: %q written %d more times", tc.user, e.Subject, e.Writes-writes[e.ID])
			}
		}
		if n := st.Emulator.NotificationCount(""); n != notified {
			t.Errorf("%s: the later runs sent %d notifications, want 0", tc.user, n-notified)
		}
	}
}
