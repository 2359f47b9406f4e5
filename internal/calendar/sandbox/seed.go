package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// DemoTenant is the tenant seeded on the first start of `mms dev`.
const DemoTenant = "contoso"

// demoUser is a directory user with the profile their meetings were created
// with (old) and the one the directory holds now (current).
type demoUser struct {
	id, name    string
	online      bool
	old, actual meetingblock.Profile
}

func teamsProfile(confID, toll string, tollFree ...string) meetingblock.Profile {
	return meetingblock.Profile{MeetingType: "Teams", Provider: "Microsoft", ConferenceID: confID,
		TollNumber: toll, TollFreeNumbers: tollFree, DialInURL: "https://dialin.teams.microsoft.com/local",
		Locale: "en-US"}
}

func demoUsers() []demoUser {
	return []demoUser{
		{ // Her bridge moved and her conference ID was reset.
			id: "alice@contoso.com", name: "Alice Wong", online: true,
			old:    teamsProfile("111222333", "+1 425-555-0100"),
			actual: teamsProfile("987654321", "+1 206-555-0199", "+1 888-555-0123"),
		},
		{ // Moved from the on-premises Skype server to the online service.
			id: "bob@contoso.com", name: "Bob Fischer", online: true,
			old: meetingblock.Profile{MeetingType: "SfB", Provider: "Microsoft",
				JoinURL: "https://meet.contoso.com/bob/K8QF2R7L", ConferenceID: "4410021",
				TollNumber: "+1 425-555-0142", DialInURL: "https://dialin.contoso.com", Locale: "en-US"},
			actual: meetingblock.Profile{MeetingType: "SfB", Provider: "Microsoft",
				JoinURL: "https://meet.lync.com/contoso/bob/Z3JT9W5M", ConferenceID: "88213047",
				TollNumber: "+1 206-555-0177", TollFreeNumbers: []string{"+1 866-555-0110"},
				DialInURL: "https://dialin.lync.com/contoso", Locale: "en-US"},
		},
		{ // Mailbox still on premises: cannot be migrated.
			id: "carol@contoso.com", name: "Carol Diaz", online: false,
			old:    teamsProfile("555000111", "+1 425-555-0100"),
			actual: teamsProfile("555000999", "+1 206-555-0199"),
		},
	}
}

// SeedDemo creates the demo tenant, its directory and calendars, unless the
// tenant already exists. It reports whether it seeded.
func SeedDemo(ctx context.Context, db *store.DB, now time.Time) (bool, error) {
	if _, err := db.Tenant(ctx, DemoTenant); err == nil {
		return false, nil
	}
	b, err := In(ctx, db)
	if err != nil {
		return false, err
	}
	defer b.Close()
	if err := db.PutTenant(ctx, store.Tenant{ID: DemoTenant, DisplayName: "Contoso (demo)",
		Settings: migration.DefaultSettings()}); err != nil {
		return false, err
	}
	day := now.UTC().Truncate(24 * time.Hour) // meetings on round hours, UTC
	var items []NewItem
	for _, u := range demoUsers() {
		if err := putUser(ctx, db, b, DemoTenant, u.id, u.name, u.online, u.actual); err != nil {
			return false, err
		}
	}
	alice, bob := "alice@contoso.com", "bob@contoso.com"
	au, bu := demoUsers()[0], demoUsers()[1]
	team := []calendar.Attendee{{Address: bob, Name: "Bob Fischer"}, {Address: "erin@fabrikam.com", Name: "Erin Lee"}}
	var seedErr error
	add := func(mailbox, subject string, start time.Time, kind, format string, p meetingblock.Profile, online bool, attendees []calendar.Attendee, agenda string) {
		it, err := demoItem(mailbox, subject, start, kind, format, p, online, attendees, agenda)
		seedErr = errors.Join(seedErr, err)
		items = append(items, it)
	}
	// Alice organizes these: the future ones with metadata are migrated.
	add(alice, "Weekly sync", day.Add(-14*24*time.Hour+9*time.Hour), calendar.KindSeriesMaster, calendar.BodyHTML,
		au.old, true, team, "Standing agenda: risks, decisions, next steps.")
	add(alice, "Quarterly review — Q1 📈 (日本語 / العربية)", day.Add(3*24*time.Hour+14*time.Hour), calendar.KindSingle,
		calendar.BodyHTML, au.old, true, team, "Agenda — naïve café résumé, 会議の議題, مراجعة ربع سنوية, e\u0301 and a non\u00a0breaking space.")
	add(alice, "1:1 Alice / Bob", day.Add(2*24*time.Hour+10*time.Hour), calendar.KindSingle, calendar.BodyText,
		au.old, true, team[:1], "Topics: hiring plan; offsite.")
	add(alice, "All hands", day.Add(5*24*time.Hour+16*time.Hour), calendar.KindSingle, calendar.BodyHTML,
		au.old, true, crowd(300), "More than 250 participants: Microsoft's service skips these, so do we.")
	add(alice, "Lunch & learn", day.Add(4*24*time.Hour+12*time.Hour), calendar.KindSingle, calendar.BodyHTML,
		au.old, false, team, "The join details below were pasted by hand: not an online meeting.")
	add(alice, "Retrospective", day.Add(-2*24*time.Hour+15*time.Hour), calendar.KindSingle, calendar.BodyHTML,
		au.old, true, team, "Already happened: left alone.")
	add(alice, "Architecture board", day.Add(6*24*time.Hour+11*time.Hour), calendar.KindSingle, calendar.BodyHTML,
		bu.old, true, []calendar.Attendee{{Address: alice, Name: "Alice Wong"}}, "Bob organizes this one.")
	items[len(items)-1].Organizer = bob
	// An edited occurrence of the weekly sync: its own exception.
	add(alice, "Weekly sync (moved to Thursday)", day.Add(8*24*time.Hour+13*time.Hour), calendar.KindException,
		calendar.BodyHTML, au.old, true, team, "Moved this week only.")
	exc := items[len(items)-1]
	items = items[:len(items)-1]
	exc.SeriesMasterID = "demo-alice-weekly-sync"
	items[0].ID = "demo-alice-weekly-sync"
	items[0].Recurrence = "FREQ=WEEKLY;BYDAY=MO"
	items = append(items, exc)
	// Bob's Skype meetings.
	add(bob, "Vendor call", day.Add(1*24*time.Hour+17*time.Hour), calendar.KindSingle, calendar.BodyHTML,
		bu.old, true, []calendar.Attendee{{Address: alice, Name: "Alice Wong"}, {Address: "sam@fabrikam.com"}}, "Contract renewal.")
	add(bob, "Budget planning", day.Add(9*24*time.Hour+9*time.Hour), calendar.KindSingle, calendar.BodyText,
		bu.old, true, []calendar.Attendee{{Address: alice, Name: "Alice Wong"}}, "FY27 budget.")
	// Carol's mailbox is on premises.
	add("carol@contoso.com", "Team meeting", day.Add(2*24*time.Hour+9*time.Hour), calendar.KindSingle, calendar.BodyHTML,
		demoUsers()[2].old, true, team, "Weekly.")
	if seedErr != nil {
		return false, seedErr
	}
	_, err = b.AddMeetings(ctx, DemoTenant, items)
	return err == nil, err
}

// BulkOptions sizes a generated tenant for load and benchmarks.
type BulkOptions struct {
	Tenant   string
	Users    int
	Meetings int // future organized meetings per user
}

// SeedBulk adds generated users, each organizing opts.Meetings future Teams
// meetings whose blocks show an old bridge, and returns the user IDs.
func SeedBulk(ctx context.Context, db *store.DB, opts BulkOptions, now time.Time) ([]string, error) {
	if opts.Tenant == "" || opts.Users <= 0 || opts.Meetings < 0 {
		return nil, fmt.Errorf("seed: need a tenant, users > 0 and meetings >= 0")
	}
	b, err := In(ctx, db)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	if _, err := db.Tenant(ctx, opts.Tenant); err != nil {
		if err := db.PutTenant(ctx, store.Tenant{ID: opts.Tenant, DisplayName: opts.Tenant,
			Settings: migration.DefaultSettings()}); err != nil {
			return nil, err
		}
	}
	old := teamsProfile("100200300", "+1 425-555-0100")
	actual := teamsProfile("300200100", "+1 206-555-0199", "+1 888-555-0123")
	start := now.UTC().Truncate(time.Hour).Add(24 * time.Hour)
	var users []string
	suffix := fmt.Sprintf("%d", now.UnixNano()%1_000_000)
	for u := range opts.Users {
		id := fmt.Sprintf("user%05d-%s@%s.example", u+1, suffix, opts.Tenant)
		users = append(users, id)
		if err := putUser(ctx, db, b, opts.Tenant, id, fmt.Sprintf("User %d", u+1), true, actual); err != nil {
			return nil, err
		}
		items := make([]NewItem, 0, opts.Meetings)
		attendees := []calendar.Attendee{{Address: "guest1@fabrikam.com"}, {Address: "guest2@fabrikam.com"}}
		for m := range opts.Meetings {
			format := calendar.BodyHTML
			if m%4 == 3 {
				format = calendar.BodyText
			}
			it, err := demoItem(id, fmt.Sprintf("Meeting %d", m+1), start.Add(time.Duration(m)*time.Hour),
				calendar.KindSingle, format, old, true, attendees, fmt.Sprintf("Agenda item %d — ✓ done", m+1))
			if err != nil {
				return nil, err
			}
			items = append(items, it)
		}
		if _, err := b.AddMeetings(ctx, opts.Tenant, items); err != nil {
			return nil, err
		}
	}
	return users, nil
}

func putUser(ctx context.Context, db *store.DB, b *Backend, tenant, id, name string, online bool, p meetingblock.Profile) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := db.PutUser(ctx, store.User{TenantID: tenant, ID: id, DisplayName: name, Profile: raw}); err != nil {
		return err
	}
	return b.PutMailbox(ctx, tenant, calendar.Mailbox{Address: id, DisplayName: name, Online: online})
}

// demoItem builds a meeting whose body is an agenda, the block rendered from
// profile p (as the organizer's client once did), and a closing note.
func demoItem(mailbox, subject string, start time.Time, kind, format string, p meetingblock.Profile, online bool, attendees []calendar.Attendee, agenda string) (NewItem, error) {
	k := meetingblock.Kind(p.MeetingType)
	if k == meetingblock.KindTeams && p.JoinURL == "" {
		// Teams meetings have a join link of their own.
		sum := sha256.Sum256([]byte(mailbox + "\x00" + subject + "\x00" + start.Format(time.RFC3339)))
		p.JoinURL = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + base64.RawURLEncoding.EncodeToString(sum[:18]) +
			"%40thread.v2/0?context=%7b%22Tid%22%3a%22contoso%22%7d"
	}
	f := meetingblock.FormatHTML
	if format == calendar.BodyText {
		f = meetingblock.FormatText
	}
	block, err := meetingblock.Render(p, k, f)
	if err != nil {
		return NewItem{}, fmt.Errorf("seed %q: render block: %w", subject, err)
	}
	var body string
	if format == calendar.BodyHTML {
		body = `<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body>` +
			"\n<div><p>" + escape(agenda) + "</p></div>\n" + block + "\n<div><p>Notes: bring last week's numbers.</p></div>\n</body></html>\n"
	} else {
		body = agenda + "\r\n\r\n" + block + "\r\n\r\nNotes: bring last week's numbers.\r\n"
	}
	m := calendar.Meeting{Subject: subject, Organizer: mailbox, Attendees: attendees, Start: start,
		End: start.Add(30 * time.Minute), Kind: kind, Body: body, BodyType: format}
	if online {
		provider := calendar.ProviderTeams
		if k == meetingblock.KindSfB {
			provider = calendar.ProviderSkype
		}
		m.OnlineMeeting = &calendar.OnlineMeeting{Provider: provider, JoinURL: p.JoinURL, ConferenceID: p.ConferenceID}
	}
	return NewItem{Mailbox: mailbox, Meeting: m}, nil
}

func crowd(n int) []calendar.Attendee {
	out := make([]calendar.Attendee, n)
	for i := range out {
		out[i] = calendar.Attendee{Address: fmt.Sprintf("employee%03d@contoso.com", i+1)}
	}
	return out
}

var escape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace
