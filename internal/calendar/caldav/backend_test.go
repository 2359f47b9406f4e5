package caldav

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/meetingblock"
	icaledit "github.com/openmms/mms/internal/meetingblock/ical"
	"github.com/openmms/mms/internal/migration"
)

func TestDiscoveryAndMailbox(t *testing.T) {
	w := newWorld(t, NotifyIMIP)
	mb, err := w.b.Mailbox(ctx(t), tenant, "alice@example.com")
	require.NoError(t, err)
	assert.Equal(t, "alice@example.com", mb.Address)
	assert.True(t, mb.Online)

	p, err := w.b.principal(ctx(t), tenant, "alice@example.com")
	require.NoError(t, err)
	assert.Equal(t, NotifyIMIP, p.mode, "Radicale does not advertise calendar-auto-schedule")
	w.cfg.Notify = NotifyAuto
	p, err = w.b.principal(ctx(t), tenant, "alice@example.com")
	require.NoError(t, err)
	assert.False(t, p.autoSchedule)
	assert.Equal(t, NotifyIMIP, p.mode, "auto on Radicale: iMIP")
	assert.Equal(t, []string{strings.TrimSuffix(w.r.URL, "/") + w.cal}, p.calendars)
	assert.True(t, p.addrs["a.example@example.org"], "alias")

	_, err = w.b.Mailbox(ctx(t), tenant, "nobody@example.com")
	assert.ErrorIs(t, err, calendar.ErrNotFound, "no credentials")
	_, err = w.b.Mailbox(ctx(t), "other-tenant", "alice@example.com")
	assert.ErrorIs(t, err, calendar.ErrNotFound)

	// One delegate account for every calendar, homes from a template.
	w.cfg = TenantConfig{URL: w.r.URL, Delegate: &Credentials{Username: "mms", Password: "mmspw"},
		HomeTemplate: "{base}/{local}/", Notify: NotifyServer}
	d := New(w.b.lookup)
	_, err = d.Mailbox(ctx(t), tenant, "alice@example.com")
	require.NoError(t, err)
	_, err = d.Mailbox(ctx(t), tenant, "carol@example.com")
	assert.ErrorIs(t, err, calendar.ErrNotFound, "carol has no calendar home")
	ms, err := d.ListMeetings(ctx(t), tenant, "alice@example.com", w.from, w.to, "", 100)
	require.NoError(t, err)
	assert.Len(t, ms.Meetings, 5)
}

func TestListMeetings(t *testing.T) {
	w := newWorld(t, NotifyIMIP)
	ms := w.list(t, 100)
	ids := map[string]bool{}
	for _, m := range ms {
		ids[m.ID] = true
	}
	require.Len(t, ms, 5, "master, exception, single, foreign, skype; not the past one: %v", ids)
	assert.False(t, ids[w.past], "past meeting listed")

	master := byID(t, ms, w.series)
	assert.Equal(t, calendar.KindSeriesMaster, master.Kind)
	assert.True(t, master.Start.Before(w.from), "series started in the past")
	assert.Equal(t, "FREQ=WEEKLY;COUNT=20", master.Recurrence)
	start := time.Date(w.now.Year(), w.now.Month(), w.now.Day(), 10, 0, 0, 0, berlin).AddDate(0, 0, -28)
	assert.Equal(t, start.AddDate(0, 0, 19*7).Add(time.Hour).UTC(), master.SeriesEnd)
	assert.True(t, master.IsOrganizer)
	assert.Equal(t, "alice@example.com", master.Organizer)
	assert.Equal(t, calendar.BodyHTML, master.BodyType)
	assert.Contains(t, master.Body, "quarterly numbers")
	require.NotNil(t, master.OnlineMeeting)
	assert.Equal(t, calendar.OnlineMeeting{Provider: calendar.ProviderTeams, JoinURL: oldJoin, ConferenceID: "123456789"}, *master.OnlineMeeting)
	assert.Equal(t, []calendar.Attendee{{Address: "alice@example.com", Name: "Alice Example"},
		{Address: "bob@example.com", Name: "Bob Builder"}, {Address: "carol@example.com", Name: "Carol, C."}}, master.Attendees)
	assert.NotEmpty(t, master.ETag)
	assert.Empty(t, master.UpdateKey)

	exc := byID(t, ms, w.series+"#"+local(start.AddDate(0, 0, 35)))
	assert.Equal(t, calendar.KindException, exc.Kind)
	assert.Equal(t, w.series, exc.SeriesMasterID)
	assert.Equal(t, "Weekly sync (moved)", exc.Subject)
	assert.Contains(t, exc.Body, "moved occurrence")

	single := byID(t, ms, w.single)
	assert.Equal(t, calendar.KindSingle, single.Kind)
	assert.Equal(t, "Ünïcödé review 日本", single.Subject)
	assert.Equal(t, lf(htmlBody(t, nonASCII, oldProfile)), single.Body, "non-ASCII body exact (TEXT line breaks read as LF)")

	foreign := byID(t, ms, w.foreign)
	assert.False(t, foreign.IsOrganizer)
	assert.Equal(t, "bob@example.com", foreign.Organizer)
	assert.Equal(t, calendar.BodyText, foreign.BodyType)

	// Not the organizer: the back end refuses to update (and notify).
	_, err := w.b.UpdateMeeting(ctx(t), tenant, calendar.Update{Mailbox: "alice@example.com", MeetingID: foreign.ID,
		ETag: foreign.ETag, Body: foreign.Body + "x", IdempotencyKey: "nope"})
	assert.ErrorContains(t, err, "bob@example.com organizes it")

	sfb := byID(t, ms, w.sfb)
	require.NotNil(t, sfb.OnlineMeeting)
	assert.Equal(t, calendar.ProviderSkype, sfb.OnlineMeeting.Provider)
	assert.Equal(t, sfbJoin, sfb.OnlineMeeting.JoinURL)

	got, err := w.b.GetMeeting(ctx(t), tenant, "alice@example.com", exc.ID)
	require.NoError(t, err)
	assert.Equal(t, exc, got)

	_, err = w.b.GetMeeting(ctx(t), tenant, "alice@example.com", w.cal+"nope.ics")
	assert.ErrorIs(t, err, calendar.ErrNotFound)
	_, err = w.b.GetMeeting(ctx(t), tenant, "alice@example.com", "/bob/calendar/x.ics")
	assert.ErrorIs(t, err, calendar.ErrNotFound, "another user's calendar")
}

func TestListPaging(t *testing.T) {
	w := newWorld(t, NotifyIMIP)
	for i := range 7 {
		s := w.now.Add(time.Duration(i*13+7) * time.Hour)
		w.r.put(t, "alice", fmt.Sprintf("%sextra-%d.ics", w.cal, i), ics("BEGIN:VCALENDAR", "VERSION:2.0",
			"PRODID:-//t//EN", "BEGIN:VEVENT", fmt.Sprintf("UID:extra-%d", i), "DTSTAMP:20250101T000000Z",
			"DTSTART:"+icalUTCTime(s), "DURATION:PT1H", "SUMMARY:extra", "END:VEVENT", "END:VCALENDAR"))
	}
	// Two with the same start: the cursor must order by ID too.
	for _, uid := range []string{"same-b", "same-a"} {
		w.r.put(t, "alice", w.cal+uid+".ics", ics("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN",
			"BEGIN:VEVENT", "UID:"+uid, "DTSTAMP:20250101T000000Z", "DTSTART:"+icalUTCTime(w.now.Add(50*time.Hour)),
			"DURATION:PT1H", "END:VEVENT", "END:VCALENDAR"))
	}
	whole := w.list(t, 1000)
	require.Len(t, whole, 14)
	n, err := w.b.CountMeetings(ctx(t), tenant, "alice@example.com", w.from, w.to)
	require.NoError(t, err)
	assert.Equal(t, len(whole), n, "CountMeetings counts what ListMeetings lists")
	for _, size := range []int{1, 2, 4} {
		paged := w.list(t, size)
		seen := map[string]bool{}
		for _, m := range paged {
			assert.False(t, seen[m.ID], "duplicate %s", m.ID)
			seen[m.ID] = true
		}
		assert.Equal(t, whole, paged, "page size %d", size)
	}
	_, err = w.b.ListMeetings(ctx(t), tenant, "alice@example.com", w.from, w.to, "!!", 2)
	assert.Error(t, err)
}

// update runs one migration step for a listed meeting, as the activity does.
func (w *world) update(t *testing.T, id, key string, p meetingblock.Profile) (calendar.UpdateResult, error) {
	t.Helper()
	m, err := w.b.GetMeeting(ctx(t), tenant, "alice@example.com", id)
	require.NoError(t, err)
	return w.b.UpdateMeeting(ctx(t), tenant, calendar.Update{Mailbox: "alice@example.com", MeetingID: id,
		ETag: m.ETag, Body: migrate(t, m, p), IdempotencyKey: key})
}

func TestUpdateMasterIMIP(t *testing.T) {
	w := newWorld(t, NotifyIMIP)
	before, _ := w.r.get(t, "alice", w.series)
	master := byID(t, w.list(t, 100), w.series)
	newBody := migrate(t, master, newProfile)
	res, err := w.b.UpdateMeeting(ctx(t), tenant, calendar.Update{Mailbox: "alice@example.com", MeetingID: master.ID,
		ETag: master.ETag, Body: newBody, IdempotencyKey: "run-1/" + master.ID})
	require.NoError(t, err)
	assert.Equal(t, 2, res.InvitesSent)
	after, etag := w.r.get(t, "alice", w.series)
	// The SMTP session is a span with counts, never an address.
	var smtpSpans int
	for _, s := range w.spans.Ended() {
		if s.Name() != "smtp imip" {
			continue
		}
		smtpSpans++
		for _, kv := range s.Attributes() {
			assert.NotContains(t, kv.Value.String(), "@", "attribute %s", kv.Key)
			if kv.Key == "mms.imip.accepted" {
				assert.Equal(t, int64(2), kv.Value.AsInt64())
			}
		}
	}
	assert.Equal(t, 1, smtpSpans, "one span per SMTP session")

	// The master: only the allowed properties changed, every other line
	// (parameters, order, nested VALARM) is the same.
	b, a := eventLines(t, before, ""), eventLines(t, after, "")
	assert.Equal(t, without(b, changeable), without(a, changeable))
	assert.Equal(t, []string{"4"}, value(a, "SEQUENCE"))
	assert.Equal(t, []string{"run-1/" + master.ID}, value(a, "X-MMS-UPDATE-KEY"))
	assert.Equal(t, value(b, "CONFERENCE"), value(a, "CONFERENCE"), "join link unchanged")
	assert.Equal(t, value(b, "X-MICROSOFT-SKYPETEAMSMEETINGURL"), value(a, "X-MICROSOFT-SKYPETEAMSMEETINGURL"))
	assert.Len(t, value(a, "LAST-MODIFIED"), 1)
	assert.NotEqual(t, value(b, "DTSTAMP"), value(a, "DTSTAMP"))
	// The exception in the same resource is untouched.
	rid := byID(t, w.list(t, 100), w.series).ID // listed again: same ID
	assert.Equal(t, w.series, rid)
	for _, e := range icaledit.Parse(before).Events() {
		if e.RID != "" {
			assert.Equal(t, eventLines(t, before, e.RID), eventLines(t, after, e.RID))
		}
	}

	got, err := w.b.GetMeeting(ctx(t), tenant, "alice@example.com", master.ID)
	require.NoError(t, err)
	assert.Equal(t, newBody, got.Body, "X-ALT-DESC is the new body")
	assert.Equal(t, res.ETag, got.ETag)
	assert.Equal(t, "run-1/"+master.ID, got.UpdateKey)
	desc := icaledit.Unescape(value(a, "DESCRIPTION")[0])
	assert.Contains(t, desc, "987 654 321", "text DESCRIPTION follows the HTML")
	assert.NotContains(t, desc, "123 456 789")
	assert.True(t, strings.HasPrefix(desc, "Agenda: quarterly numbers\n"), "text outside the block kept: %q", desc)
	assert.True(t, strings.HasSuffix(desc, "\nNotes; see you, all\n"), "text outside the block kept: %q", desc)

	// One iMIP REQUEST per attendee, none for the organizer.
	for _, who := range []string{"bob@example.com", "carol@example.com"} {
		msgs := w.mail.To(who)
		require.Len(t, msgs, 1, who)
		im := decodeIMIP(t, msgs[0])
		assert.Equal(t, "REQUEST", im.Cal.Props.Get("METHOD").Value)
		evs := im.Cal.Events()
		require.Len(t, evs, 2, "master and its exception")
		assert.Equal(t, "4", evs[0].Props.Get("SEQUENCE").Value)
		d, err := evs[0].Props.Text("DESCRIPTION")
		require.NoError(t, err)
		assert.Contains(t, d, "987 654 321")
		assert.NotContains(t, im.Text, "X-MMS-NOTIFIED")
		assert.Equal(t, MessageID("run-1/"+master.ID, who, "example.com"), im.Header.Get("Message-Id"))
		assert.Equal(t, "mms@example.com", msgs[0].From, "envelope sender")
		from, err := im.Header.AddressList("From")
		require.NoError(t, err)
		assert.Equal(t, "alice@example.com", from[0].Address)
		assert.Equal(t, "<mms@example.com>", im.Header.Get("Sender"))
		assert.Len(t, im.Cal.Children, 3, "VTIMEZONE + 2 VEVENTs")
	}
	assert.Empty(t, w.mail.To("alice@example.com"))
	assert.Len(t, w.mail.Messages(), 2)

	// A replay (retried activity) writes and sends nothing more.
	again, err := w.b.UpdateMeeting(ctx(t), tenant, calendar.Update{Mailbox: "alice@example.com", MeetingID: master.ID,
		ETag: got.ETag, Body: got.Body, IdempotencyKey: "run-1/" + master.ID})
	require.NoError(t, err)
	assert.Equal(t, 2, again.InvitesSent)
	_, etag2 := w.r.get(t, "alice", w.series)
	assert.Equal(t, etag, etag2, "no write on replay")
	assert.Len(t, w.mail.Messages(), 2, "no mail on replay")
}

func TestUpdateExceptionOnly(t *testing.T) {
	w := newWorld(t, NotifyIMIP)
	before, _ := w.r.get(t, "alice", w.series)
	var exc calendar.Meeting
	for _, m := range w.list(t, 100) {
		if m.Kind == calendar.KindException {
			exc = m
		}
	}
	master := byID(t, w.list(t, 100), w.series)
	// The master first: its update must not make the exception conflict.
	_, err := w.b.UpdateMeeting(ctx(t), tenant, calendar.Update{Mailbox: "alice@example.com", MeetingID: master.ID,
		ETag: master.ETag, Body: migrate(t, master, newProfile), IdempotencyKey: "k/master"})
	require.NoError(t, err)
	res, err := w.b.UpdateMeeting(ctx(t), tenant, calendar.Update{Mailbox: "alice@example.com", MeetingID: exc.ID,
		ETag: exc.ETag, Body: migrate(t, exc, newProfile), IdempotencyKey: "k/exc"})
	require.NoError(t, err, "a stale resource ETag whose VEVENT did not change is no conflict")
	assert.Equal(t, 2, res.InvitesSent)
	after, _ := w.r.get(t, "alice", w.series)
	_, rid, _ := strings.Cut(exc.ID, "#")
	b, a := eventLines(t, before, rid), eventLines(t, after, rid)
	assert.Equal(t, without(b, changeable), without(a, changeable))
	assert.Equal(t, []string{"4"}, value(a, "SEQUENCE"))
	msgs := w.mail.To("bob@example.com")
	require.Len(t, msgs, 2)
	im := decodeIMIP(t, msgs[1])
	require.Len(t, im.Cal.Events(), 1, "only the exception")
	assert.NotNil(t, im.Cal.Events()[0].Props.Get("RECURRENCE-ID"))
	assert.NotEqual(t, MessageID("k/master", "bob@example.com", "example.com"), MessageID("k/exc", "bob@example.com", "example.com"))
}

func TestUpdateConflictThenReapply(t *testing.T) {
	w := newWorld(t, NotifyIMIP)
	m := byID(t, w.list(t, 100), w.single)
	newBody := migrate(t, m, newProfile)
	// The organizer edits the meeting between our read and our write.
	stored, etag := w.r.get(t, "alice", w.single)
	edited := strings.Replace(stored, "Agenda: Gr", "Agenda (edited): Gr", 2)
	require.NotEqual(t, stored, edited)
	w.r.request(t, "alice", http.MethodPut, w.single, map[string]string{"If-Match": etag, "Content-Type": "text/calendar"}, edited)

	_, err := w.b.UpdateMeeting(ctx(t), tenant, calendar.Update{Mailbox: "alice@example.com", MeetingID: m.ID,
		ETag: m.ETag, Body: newBody, IdempotencyKey: "k1"})
	require.ErrorIs(t, err, calendar.ErrConflict)
	assert.Empty(t, w.mail.Messages())

	// The activity re-reads and re-applies.
	m2, err := w.b.GetMeeting(ctx(t), tenant, "alice@example.com", m.ID)
	require.NoError(t, err)
	assert.Contains(t, m2.Body, "Agenda (edited)")
	body2 := strings.Replace(m2.Body, "123 456 789", "987 654 321", 1) // a simple re-apply
	require.NotEqual(t, m2.Body, body2)
	res, err := w.b.UpdateMeeting(ctx(t), tenant, calendar.Update{Mailbox: "alice@example.com", MeetingID: m.ID,
		ETag: m2.ETag, Body: body2, IdempotencyKey: "k1"})
	require.NoError(t, err)
	assert.Equal(t, 2, res.InvitesSent)
	m3, err := w.b.GetMeeting(ctx(t), tenant, "alice@example.com", m.ID)
	require.NoError(t, err)
	assert.Equal(t, body2, m3.Body, "non-ASCII and the concurrent edit survive")
	assert.Contains(t, m3.Body, nonASCII)

	// A raw race: our PUT's If-Match fails when the resource changes after
	// our GET (simulated with a stale ETag of the same VEVENT content).
	_, err = w.b.UpdateMeeting(ctx(t), tenant, calendar.Update{Mailbox: "alice@example.com", MeetingID: m.ID,
		ETag: m.ETag, Body: body2 + " ", IdempotencyKey: "k2"})
	assert.ErrorIs(t, err, calendar.ErrConflict)
}

func TestIMIPRetryAfterPartialFailure(t *testing.T) {
	w := newWorld(t, NotifyIMIP)
	w.mail.FailFirst("carol@example.com")
	m := byID(t, w.list(t, 100), w.single)
	up := calendar.Update{Mailbox: "alice@example.com", MeetingID: m.ID, ETag: m.ETag,
		Body: migrate(t, m, newProfile), IdempotencyKey: "run-7/" + m.ID}
	_, err := w.b.UpdateMeeting(ctx(t), tenant, up)
	require.Error(t, err, "carol's mail failed")
	assert.Len(t, w.mail.To("bob@example.com"), 1)
	assert.Empty(t, w.mail.To("carol@example.com"))
	stored, _ := w.r.get(t, "alice", w.single)
	assert.Equal(t, []string{"mailto:bob@example.com"}, value(eventLines(t, stored, ""), "X-MMS-NOTIFIED"))

	// The retried activity: the body is already up to date, same key.
	m2, err := w.b.GetMeeting(ctx(t), tenant, "alice@example.com", m.ID)
	require.NoError(t, err)
	assert.Equal(t, up.IdempotencyKey, m2.UpdateKey)
	up.ETag, up.Body = m2.ETag, m2.Body
	res, err := w.b.UpdateMeeting(ctx(t), tenant, up)
	require.NoError(t, err)
	assert.Equal(t, 2, res.InvitesSent)
	for _, who := range []string{"bob@example.com", "carol@example.com"} {
		msgs := w.mail.To(who)
		require.Len(t, msgs, 1, who)
		im := decodeIMIP(t, msgs[0])
		assert.Equal(t, "1", im.Cal.Events()[0].Props.Get("SEQUENCE").Value)
		d, _ := im.Cal.Events()[0].Props.Text("DESCRIPTION")
		assert.Contains(t, d, nonASCII)
	}
	assert.Empty(t, w.mail.To("alice@example.com"))
	// And once more: nothing.
	_, err = w.b.UpdateMeeting(ctx(t), tenant, up)
	require.NoError(t, err)
	assert.Len(t, w.mail.Messages(), 2)
}

func TestServerModeForceSend(t *testing.T) {
	w := newWorld(t, NotifyServer)
	before, _ := w.r.get(t, "alice", w.single)
	res, err := w.update(t, w.single, "s1", newProfile)
	require.NoError(t, err)
	assert.Equal(t, 2, res.InvitesSent)
	after, etag := w.r.get(t, "alice", w.single)
	b, a := eventLines(t, before, ""), eventLines(t, after, "")
	notAttendee := func(n string) bool { return changeable(n) || n == "ATTENDEE" }
	assert.Equal(t, without(b, notAttendee), without(a, notAttendee))
	for i, l := range a {
		if l.Name != "ATTENDEE" {
			continue
		}
		if calAddr(l.Value) == "alice@example.com" {
			assert.NotContains(t, l.Params, "SCHEDULE-FORCE-SEND", "not the organizer")
			continue
		}
		assert.Equal(t, "REQUEST", parseParams(l.Params).Get("SCHEDULE-FORCE-SEND"), l.Params)
		assert.Equal(t, without(eventLines(t, before, ""), func(n string) bool { return n != "ATTENDEE" })[i-attendeeOffset(a)].Params,
			icaledit.RemoveParam(l.Params, "SCHEDULE-FORCE-SEND"), "other parameters kept")
	}
	assert.Empty(t, w.mail.Messages(), "the server notifies, not mms")
	// Replay: nothing written.
	m, err := w.b.GetMeeting(ctx(t), tenant, "alice@example.com", w.single)
	require.NoError(t, err)
	_, err = w.b.UpdateMeeting(ctx(t), tenant, calendar.Update{Mailbox: "alice@example.com", MeetingID: w.single,
		ETag: m.ETag, Body: m.Body, IdempotencyKey: "s1"})
	require.NoError(t, err)
	_, etag2 := w.r.get(t, "alice", w.single)
	assert.Equal(t, etag, etag2)
}

// attendeeOffset is the index of the first ATTENDEE line.
func attendeeOffset(ls []line) int {
	for i, l := range ls {
		if l.Name == "ATTENDEE" {
			return i
		}
	}
	return 0
}

func lf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func TestConversionWritesJoinURL(t *testing.T) {
	w := newWorld(t, NotifyIMIP)
	m := byID(t, w.list(t, 100), w.sfb)
	require.Equal(t, calendar.BodyText, m.BodyType)
	om := calendar.OnlineMeeting{Provider: calendar.ProviderTeams, JoinURL: newJoin}
	p := newProfile
	p.JoinURL = newJoin
	r := meetingblock.Replace(m.Body, meetingblock.FormatText, p, migration.TargetTeams)
	require.Equal(t, meetingblock.Replaced, r.Outcome, r.Reason)
	_, err := w.b.UpdateMeeting(ctx(t), tenant, calendar.Update{Mailbox: "alice@example.com", MeetingID: m.ID,
		ETag: m.ETag, Body: r.Body, OnlineMeeting: &om, IdempotencyKey: "conv"})
	require.NoError(t, err)
	got, err := w.b.GetMeeting(ctx(t), tenant, "alice@example.com", m.ID)
	require.NoError(t, err)
	assert.Equal(t, r.Body, got.Body)
	require.NotNil(t, got.OnlineMeeting)
	assert.Equal(t, calendar.ProviderTeams, got.OnlineMeeting.Provider)
	assert.Equal(t, newJoin, got.OnlineMeeting.JoinURL)
	stored, _ := w.r.get(t, "alice", w.sfb)
	a := eventLines(t, stored, "")
	assert.Equal(t, []string{newJoin}, value(a, "CONFERENCE"))
	assert.Equal(t, []string{newJoin}, value(a, "X-MICROSOFT-SKYPETEAMSMEETINGURL"))
	assert.Len(t, value(a, "X-ALT-DESC"), 0, "a text meeting stays text")
	assert.Len(t, w.mail.Messages(), 1, "bob only (alice organizes)")
}

func TestEnsureTeamsMeetingUnsupported(t *testing.T) {
	b := New(func(context.Context, string) (TenantConfig, error) { return TenantConfig{}, errors.New("unused") })
	_, err := b.EnsureTeamsMeeting(context.Background(), tenant, "alice@example.com", "/x.ics")
	assert.ErrorIs(t, err, calendar.ErrUnsupported)
}

// TestWriteThroughput measures updates per second against Radicale (server
// mode: one PUT and one GET each; iMIP adds a mail and a second PUT).
func TestWriteThroughput(t *testing.T) {
	for _, mode := range []string{NotifyServer, NotifyIMIP} {
		t.Run(mode, func(t *testing.T) {
			w := newWorld(t, mode)
			const n = 20
			var ids []string
			for i := range n {
				ids = append(ids, w.r.put(t, "alice", fmt.Sprintf("%sload-%d.ics", w.cal, i), ics("BEGIN:VCALENDAR",
					"VERSION:2.0", "PRODID:-//t//EN", "BEGIN:VEVENT", fmt.Sprintf("UID:load-%d", i), "DTSTAMP:20250101T000000Z",
					"DTSTART:"+icalUTCTime(w.now.Add(time.Duration(i+1)*time.Hour)), "DURATION:PT1H",
					"ORGANIZER:mailto:alice@example.com", "ATTENDEE:mailto:bob@example.com",
					"X-MICROSOFT-SKYPETEAMSMEETINGURL:"+oldJoin,
					"DESCRIPTION:"+icaledit.Escape(textBody(t, "load", oldProfile, meetingblock.KindTeams)), "END:VEVENT", "END:VCALENDAR")))
			}
			start := time.Now()
			for i, id := range ids {
				_, err := w.update(t, id, fmt.Sprint("load/", i), newProfile)
				require.NoError(t, err)
			}
			el := time.Since(start)
			t.Logf("%s: %d updates in %v: %.1f updates/s (GetMeeting + UpdateMeeting each)", mode, n, el.Round(time.Millisecond), float64(n)/el.Seconds())
		})
	}
}

// TestIMIPRetryAfterCrashBeforeMails: the PUT succeeded but no mail went out
// (SMTP unreachable, as if the worker died right after the PUT); the retry
// sends every mail once. Then the remaining window: mails accepted but the
// record lost; the re-sent messages carry the same Message-ID.
func TestIMIPRetryAfterCrashBeforeMails(t *testing.T) {
	w := newWorld(t, NotifyIMIP)
	port := w.cfg.SMTP.Port
	w.cfg.SMTP.Port = freePort(t) // nothing listens there
	m := byID(t, w.list(t, 100), w.single)
	up := calendar.Update{Mailbox: "alice@example.com", MeetingID: m.ID, ETag: m.ETag,
		Body: migrate(t, m, newProfile), IdempotencyKey: "run-9/" + m.ID}
	_, err := w.b.UpdateMeeting(ctx(t), tenant, up)
	require.Error(t, err)
	stored, _ := w.r.get(t, "alice", w.single)
	assert.Equal(t, []string{"1"}, value(eventLines(t, stored, ""), "SEQUENCE"), "the update is stored")
	assert.Empty(t, value(eventLines(t, stored, ""), "X-MMS-NOTIFIED"))

	w.cfg.SMTP.Port = port
	res, err := w.b.UpdateMeeting(ctx(t), tenant, up)
	require.NoError(t, err)
	assert.Equal(t, 2, res.InvitesSent)
	assert.Len(t, w.mail.To("bob@example.com"), 1)
	assert.Len(t, w.mail.To("carol@example.com"), 1)
	stored, etag := w.r.get(t, "alice", w.single)
	assert.Equal(t, []string{"1"}, value(eventLines(t, stored, ""), "SEQUENCE"), "no second write of the body")

	// Lose the record (as a crash before the second PUT would) and replay.
	lost := strings.Join(slices.DeleteFunc(strings.SplitAfter(stored, "\n"), func(l string) bool {
		return strings.HasPrefix(l, "X-MMS-NOTIFIED")
	}), "")
	w.r.request(t, "alice", http.MethodPut, w.single, map[string]string{"If-Match": etag, "Content-Type": "text/calendar"}, lost)
	_, err = w.b.UpdateMeeting(ctx(t), tenant, up)
	require.NoError(t, err)
	bob := w.mail.To("bob@example.com")
	require.Len(t, bob, 2)
	assert.Equal(t, decodeIMIP(t, bob[0]).Header.Get("Message-Id"), decodeIMIP(t, bob[1]).Header.Get("Message-Id"),
		"a re-send is recognisably the same message")
}
