package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// Issue 20's end-to-end "Done when": a French organizer's meetings are
// migrated in French on both back ends that store what mms writes (the
// sandbox and Graph, through the emulator), while an en-US organizer's
// English blocks stay English, and a second run is a fixed point in every
// language.

// The labels are written out here rather than read from the catalogs, so
// that a catalog edit that breaks a label fails this test instead of
// silently moving its expectation.
var (
	frenchLabels  = []string{"Rejoindre la réunion maintenant", "Appel entrant par téléphone", "Trouver un numéro local", "ID de conférence téléphonique"}
	englishLabels = []string{"Join the meeting now", "Dial in by phone", "Find a local number", "Phone conference ID"}
)

const (
	langOldConfID = "111222333"
	langNewConfID = "424242424"
	// langTenantDefault is deliberately neither French nor English: the
	// organizer without a locale must get the language of her old block,
	// which outranks the tenant default, and nobody may end up in German.
	langTenantDefault = "de-DE"
)

// langOrganizer is one organizer of the test and what their new blocks
// must look like.
type langOrganizer struct {
	user, name string
	locale     string   // the profile's locale ("": none)
	blocks     []string // the language of each seeded meeting's old block
	want       string   // the language every new block must be in
	reason     string   // the start of every result's languageReason
	labels     []string // must all be in each new body
	foreign    []string // must not be in any new body
}

func langOrganizers() []langOrganizer {
	return []langOrganizer{
		// The profile's locale wins over the old block's language: English
		// blocks become French, and so does a French one (with the new ID).
		{user: "amelie@contoso.com", name: "Amélie Dupont", locale: "fr-FR", blocks: []string{"en-US", "en-US", "fr-FR"},
			want: "fr-FR", reason: meetingblock.LangFromProfile + " fr-FR", labels: frenchLabels, foreign: englishLabels},
		// No locale: the old French block's own language (its lang
		// attribute, or the omkt= help link of a text block) wins over the
		// tenant default.
		{user: "noemie@contoso.com", name: "Noémie Laurent", blocks: []string{"fr-FR", "fr-FR"},
			want: "fr-FR", reason: meetingblock.LangFromBlock, labels: frenchLabels, foreign: englishLabels},
		// An en-US organizer's English blocks stay English.
		{user: "ethan@contoso.com", name: "Ethan Brooks", locale: "en-US", blocks: []string{"en-US", "en-US"},
			want: "en-US", reason: meetingblock.LangFromProfile + " en-US", labels: englishLabels, foreign: frenchLabels},
	}
}

// langProfile is the organizer's profile before the conference-ID change.
func langProfile(locale string) map[string]any {
	p := map[string]any{"meetingType": "Teams", "provider": "Microsoft", "conferenceId": langOldConfID,
		"tollNumber": "+33 1 55 55 01 00", "dialInUrl": "https://dialin.teams.microsoft.com/local"}
	if locale != "" {
		p["locale"] = locale
	}
	return p
}

// langMeeting builds meeting i of an organizer: an agenda and an old block
// in language blockLang, as the organizer's client once wrote it; even
// meetings are HTML, odd ones text.
func langMeeting(t *testing.T, o langOrganizer, i int, blockLang string, start time.Time) calendar.Meeting {
	t.Helper()
	joinURL := fmt.Sprintf("https://teams.microsoft.com/l/meetup-join/19%%3ameeting_lang%s%d%%40thread.v2/0",
		strings.NewReplacer("@", "", ".", "").Replace(o.user), i)
	p := meetingblock.Profile{MeetingType: "Teams", Provider: "Microsoft", ConferenceID: langOldConfID,
		TollNumber: "+33 1 55 55 01 00", DialInURL: "https://dialin.teams.microsoft.com/local", Locale: blockLang, JoinURL: joinURL}
	m := calendar.Meeting{Subject: fmt.Sprintf("%s %d (%s block)", o.name, i+1, blockLang), Organizer: o.user,
		Kind: calendar.KindSingle, Start: start, End: start.Add(30 * time.Minute),
		Attendees:     []calendar.Attendee{{Address: "erin@fabrikam.com", Name: "Erin Lee"}, {Address: "sam@fabrikam.com"}},
		OnlineMeeting: &calendar.OnlineMeeting{Provider: calendar.ProviderTeams, JoinURL: joinURL, ConferenceID: langOldConfID}}
	const agenda = "Ordre du jour : budget, café ☕ — agenda."
	if i%2 == 0 {
		block, err := meetingblock.Render(p, meetingblock.KindTeams, meetingblock.FormatHTML)
		if err != nil {
			t.Fatal(err)
		}
		m.BodyType = calendar.BodyHTML
		m.Body = `<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body>` +
			"\n<div><p>" + html.EscapeString(agenda) + "</p></div>\n" + block + "\n</body></html>\n"
	} else {
		block, err := meetingblock.Render(p, meetingblock.KindTeams, meetingblock.FormatText)
		if err != nil {
			t.Fatal(err)
		}
		m.BodyType = calendar.BodyText
		m.Body = agenda + "\r\n\r\n" + block + "\r\n"
	}
	return m
}

// langItem is a seeded meeting as the back end stores it.
type langItem struct {
	id      string
	orig    calendar.Meeting
	version string // sandbox: its ETag; emulator: its write count
}

// langBackend reads and seeds the stack's calendar, the sandbox or the
// Graph emulator.
type langBackend struct {
	st *Stack
}

func (b langBackend) graph() bool { return b.st.Emulator != nil }

// seed creates the organizer's mailbox and meetings.
func (b langBackend) seed(t *testing.T, o langOrganizer, ms []calendar.Meeting) []langItem {
	t.Helper()
	ctx := context.Background()
	items := make([]langItem, len(ms))
	if b.graph() {
		b.st.Emulator.AddUser("contoso.onmicrosoft.com", o.user, o.name, false)
		for i, m := range ms {
			id, err := b.st.Emulator.AddEvent(o.user, emulatorEvent(m))
			if err != nil {
				t.Fatal(err)
			}
			items[i] = langItem{id: id, orig: m}
		}
	} else {
		if err := b.st.Sandbox.PutMailbox(ctx, "contoso", calendar.Mailbox{Address: o.user, DisplayName: o.name, Online: true}); err != nil {
			t.Fatal(err)
		}
		news := make([]sandbox.NewItem, len(ms))
		for i, m := range ms {
			news[i] = sandbox.NewItem{Mailbox: o.user, Meeting: m}
		}
		ids, err := b.st.Sandbox.AddMeetings(ctx, "contoso", news)
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range ids {
			items[i] = langItem{id: id, orig: ms[i]}
		}
	}
	for i := range items {
		_, items[i].version, _ = b.read(t, o.user, items[i].id)
	}
	return items
}

// read returns a meeting's body, its version (changed by every write) and
// the notifications sent for it.
func (b langBackend) read(t *testing.T, mailbox, id string) (body, version string, notified int) {
	t.Helper()
	if b.graph() {
		e, ok := b.st.Emulator.Event(id)
		if !ok {
			t.Fatalf("no event %s", id)
		}
		return e.Body, fmt.Sprint(e.Writes), b.st.Emulator.NotificationCount(id)
	}
	ctx := context.Background()
	m, err := b.st.Sandbox.GetMeeting(ctx, "contoso", mailbox, id)
	if err != nil {
		t.Fatal(err)
	}
	sent, err := b.st.Sandbox.Outbox(ctx, "contoso", id)
	if err != nil {
		t.Fatal(err)
	}
	return m.Body, m.ETag, len(sent)
}

// totalNotified counts every notification the back end sent.
func (b langBackend) totalNotified(t *testing.T) int {
	t.Helper()
	if b.graph() {
		return b.st.Emulator.NotificationCount("")
	}
	sent, err := b.st.Sandbox.Outbox(context.Background(), "contoso", "")
	if err != nil {
		t.Fatal(err)
	}
	return len(sent)
}

// TestEndToEndLanguageSandbox migrates a French organizer's meetings, an
// organizer's whose old blocks are French, and an en-US organizer's, on the
// sandbox.
func TestEndToEndLanguageSandbox(t *testing.T) {
	runLanguageEndToEnd(t, CalendarSandbox)
}

// TestEndToEndLanguageGraphEmulator is the same through the Graph client
// and the emulator: the body mms PATCHes is what the emulator stores and
// serves back to the second run (text bodies come back as HTML converted
// from text, whose block is still found and kept in its language).
func TestEndToEndLanguageGraphEmulator(t *testing.T) {
	runLanguageEndToEnd(t, CalendarGraphEmulator)
}

func runLanguageEndToEnd(t *testing.T, backend string) {
	st := startStack(t, Config{DataDir: t.TempDir(), APIAddr: freeAddr(t), TemporalAddr: freeAddr(t), UIAddr: "-", Calendar: backend})
	defer st.Stop(context.Background())
	ctx := context.Background()
	c := client_{t: t, base: st.APIURL, token: st.AdminToken}
	b := langBackend{st: st}

	// A short quiet period so the events' runs start at once, and a tenant
	// default that must lose to both the profile and the old block.
	ten, err := st.DB.Tenant(ctx, "contoso")
	if err != nil {
		t.Fatal(err)
	}
	ten.Settings.QuietPeriodSeconds = 1
	ten.Settings.DefaultLanguage = langTenantDefault
	if err := st.DB.PutTenant(ctx, ten); err != nil {
		t.Fatal(err)
	}

	orgs := langOrganizers()
	items := map[string][]langItem{}
	day := time.Now().UTC().Truncate(time.Hour).Add(48 * time.Hour)
	for n, o := range orgs {
		// A new user's profile decides nothing (they have no old blocks yet).
		code, raw := c.do("PUT", "/v1/tenants/contoso/users/"+o.user, st.AdminToken,
			map[string]any{"displayName": o.name, "profile": langProfile(o.locale)})
		if code != 201 {
			t.Fatalf("put %s = %d %s", o.user, code, raw)
		}
		var ms []calendar.Meeting
		for i, lang := range o.blocks {
			ms = append(ms, langMeeting(t, o, i, lang, day.Add(time.Duration(n*24+i*2)*time.Hour)))
		}
		items[o.user] = b.seed(t, o, ms)
	}

	// A malformed or unknown locale is refused, naming the field, and the
	// stored profile stays as it was.
	for _, bad := range []string{"xx_YY", "en_US", "xx-YY", "fr-FR-not a tag"} {
		code, raw := c.do("PUT", "/v1/tenants/contoso/users/"+orgs[0].user, st.AdminToken,
			map[string]any{"profile": langProfile(bad)})
		if code != 400 || !strings.Contains(string(raw), "profile.locale") {
			t.Errorf("profile locale %q: %d %s, want 400 naming profile.locale", bad, code, raw)
		}
	}
	u, err := st.DB.User(ctx, "contoso", orgs[0].user)
	if err != nil {
		t.Fatal(err)
	}
	var kept meetingblock.Profile
	if err := json.Unmarshal(u.Profile, &kept); err != nil || kept.Locale != "fr-FR" || kept.ConferenceID != langOldConfID {
		t.Fatalf("after the refused PUTs the profile is %s", u.Profile)
	}

	// The conference-ID change: one event per organizer, each starting a
	// run after the quiet period.
	corr := map[string]string{}
	for _, o := range orgs {
		event := map[string]any{"id": "lang-cid-" + o.user, "type": "conferenceIdChanged", "user": o.user, "conferenceId": langNewConfID}
		code, raw := c.do("POST", "/v1/tenants/contoso/events", st.AdminToken, event)
		var ev struct{ Results []store.Event }
		if code != 202 || json.Unmarshal(raw, &ev) != nil || len(ev.Results) != 1 || !ev.Results[0].Triggered || ev.Results[0].CorrelationID == "" {
			t.Fatalf("event for %s = %d %s", o.user, code, raw)
		}
		corr[o.user] = ev.Results[0].CorrelationID
	}
	for _, o := range orgs {
		d := c.waitRecord(o.user, corr[o.user], time.Minute)
		n := len(o.blocks)
		if d.State != migration.StateSucceeded || d.SucceededMeeting != n || d.FailedMeeting != 0 || d.InvitesUpdate != n {
			for _, m := range d.Meetings {
				t.Logf("%s %s %s", m.Subject, m.Outcome, m.Reason)
			}
			t.Fatalf("%s: record %+v, want %d meetings updated", o.user, d.StatusRecord, n)
		}
		if len(d.Meetings) != n {
			t.Fatalf("%s: %d meeting results, want %d", o.user, len(d.Meetings), n)
		}
		for _, m := range d.Meetings {
			if m.Outcome != migration.OutcomeUpdated || m.Language != o.want || !strings.HasPrefix(m.LanguageReason, o.reason) ||
				!strings.Contains(m.LanguageReason, o.want) || strings.Contains(m.LanguageReason, langTenantDefault) {
				t.Errorf("%s %q: %s, language %q (%q); want updated in %s, reason starting %q",
					o.user, m.Subject, m.Outcome, m.Language, m.LanguageReason, o.want, o.reason)
			}
		}
		for _, it := range items[o.user] {
			body, version, notified := b.read(t, o.user, it.id)
			checkLanguageBody(t, o, it, body)
			if version == it.version {
				t.Errorf("%s %q was not written", o.user, it.orig.Subject)
			}
			if notified != len(it.orig.Attendees) {
				t.Errorf("%s %q: %d notifications, want one per attendee (%d)", o.user, it.orig.Subject, notified, len(it.orig.Attendees))
			}
		}
	}

	// Run again: every block is up to date in its own language, so nothing
	// is written and nobody is notified.
	sent := b.totalNotified(t)
	versions := map[string]string{}
	for _, o := range orgs {
		for _, it := range items[o.user] {
			_, versions[it.id], _ = b.read(t, o.user, it.id)
		}
	}
	for _, o := range orgs {
		d := c.migrate(o.user, nil)
		if d.State != migration.StateSucceeded || d.InvitesUpdate != 0 || d.FailedMeeting != 0 || d.SucceededMeeting != len(o.blocks) {
			t.Errorf("%s again: %+v, want every meeting up to date", o.user, d.StatusRecord)
		}
		for _, m := range d.Meetings {
			if m.Outcome != migration.OutcomeUpToDate || m.InvitesSent != 0 {
				t.Errorf("%s again: %q %s %s, %d sent", o.user, m.Subject, m.Outcome, m.Reason, m.InvitesSent)
			}
		}
		for _, it := range items[o.user] {
			body, version, _ := b.read(t, o.user, it.id)
			if version != versions[it.id] {
				t.Errorf("%s again: %q rewritten", o.user, it.orig.Subject)
			}
			checkLanguageBody(t, o, it, body)
		}
	}
	if n := b.totalNotified(t) - sent; n != 0 {
		t.Errorf("the second runs sent %d notifications, want 0", n)
	}
}

// checkLanguageBody checks a migrated body: the new conference ID, every
// label of the organizer's language and none of the other's, the language
// marked where the layout carries it (the lang attribute of an HTML block,
// the omkt= help link of a text one), and the agenda kept.
func checkLanguageBody(t *testing.T, o langOrganizer, it langItem, body string) {
	t.Helper()
	// HTML blocks are ASCII with character references (réunion is
	// r&#xE9;union): compare the text a reader sees.
	text := html.UnescapeString(body)
	var problems []string
	if !strings.Contains(text, "424 242 424") {
		problems = append(problems, "no new conference ID")
	}
	if !strings.Contains(text, "Ordre du jour : budget, café ☕") {
		problems = append(problems, "agenda lost")
	}
	for _, l := range o.labels {
		if !strings.Contains(text, l) {
			problems = append(problems, fmt.Sprintf("no %q", l))
		}
	}
	for _, l := range o.foreign {
		if strings.Contains(text, l) {
			problems = append(problems, fmt.Sprintf("%q left", l))
		}
	}
	if it.orig.BodyType == calendar.BodyHTML && !strings.Contains(body, `lang="`+o.want+`"`) {
		problems = append(problems, fmt.Sprintf(`no lang="%s"`, o.want))
	}
	if !strings.Contains(body, "omkt="+o.want) {
		problems = append(problems, "no omkt="+o.want)
	}
	// The engine itself reads the new block back in the wanted language.
	f := meetingblock.FormatHTML
	if it.orig.BodyType == calendar.BodyText && !strings.HasPrefix(strings.TrimSpace(body), "<") {
		f = meetingblock.FormatText
	}
	if blk, err := meetingblock.Find(body, f); err != nil || blk.Language != o.want || blk.ConferenceID != langNewConfID {
		problems = append(problems, fmt.Sprintf("block read back as %q (from %s), conference ID %q, %v", blk.Language, blk.LanguageFrom, blk.ConferenceID, err))
	}
	if len(problems) > 0 {
		t.Errorf("%s %q (%s): %s\n%s", o.user, it.orig.Subject, it.orig.BodyType, strings.Join(problems, "; "), body)
	}
}
