package caldav

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/meetingblock"
	icaledit "github.com/openmms/mms/internal/meetingblock/ical"
)

// delivered is one iMIP message OpenSMTPD put into the maildir.
type delivered struct {
	To       string
	Method   string
	Calendar string
}

// maildirIMIP reads the iMIP messages about uid from a maildir.
func maildirIMIP(t *testing.T, dir, uid string) []delivered {
	t.Helper()
	var out []delivered
	files, _ := filepath.Glob(filepath.Join(dir, "new", "*"))
	cur, _ := filepath.Glob(filepath.Join(dir, "cur", "*"))
	for _, f := range append(files, cur...) {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		require.NoError(t, err)
		cal, method := calendarPart(t, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		if cal == "" || !strings.Contains(cal, uid) {
			continue
		}
		to, _ := msg.Header.AddressList("To")
		for _, a := range to {
			out = append(out, delivered{To: strings.ToLower(a.Address), Method: method, Calendar: cal})
		}
	}
	return out
}

// calendarPart finds the text/calendar part of a message.
func calendarPart(t *testing.T, ctype, cte string, body io.Reader) (string, string) {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return "", ""
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return "", ""
			}
			// multipart.Reader decodes quoted-printable itself.
			if c, m := calendarPart(t, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); c != "" {
				return c, m
			}
		}
	}
	if mt != "text/calendar" {
		return "", ""
	}
	switch strings.ToLower(cte) {
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	}
	data, _ := io.ReadAll(body)
	return strings.ReplaceAll(string(data), "\r\n ", ""), strings.ToUpper(params["method"])
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestCyrusServerScheduling runs against Cyrus IMAP's CalDAV with RFC 6638
// scheduling and OpenSMTPD (testdata/cyrus-setup.sh): in "auto" mode the
// server is detected as scheduling, the update carries SCHEDULE-FORCE-SEND,
// Cyrus sends exactly one iMIP REQUEST per external attendee, and mms sends
// nothing itself; a replay sends nothing more.
func TestCyrusServerScheduling(t *testing.T) {
	base, maildir := os.Getenv("MMS_CYRUS_URL"), os.Getenv("MMS_CYRUS_MAILDIR")
	if base == "" || maildir == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("MMS_CYRUS_URL/MMS_CYRUS_MAILDIR not set: CI must start Cyrus (.ci/run, testdata/cyrus-setup.sh)")
		}
		t.Skip("MMS_CYRUS_URL/MMS_CYRUS_MAILDIR not set (see testdata/cyrus-setup.sh); set CI to make this a failure")
	}
	own := startSMTP(t)
	cfg := TenantConfig{URL: base, Users: map[string]Credentials{"alice@example.com": {Username: "alice", Password: "alicepw"}},
		Notify: NotifyAuto, SMTP: SMTPConfig{Host: "127.0.0.1", Port: own.Port, Security: SMTPNone, From: "mms@example.com"}}
	b := New(func(context.Context, string) (TenantConfig, error) { return cfg, nil })
	mb, err := b.Mailbox(ctx(t), tenant, "alice@example.com")
	require.NoError(t, err)
	assert.True(t, mb.Online)
	p, err := b.principal(ctx(t), tenant, "alice@example.com")
	require.NoError(t, err)
	require.Equal(t, NotifyServer, p.mode, "calendar-auto-schedule detected")
	require.NotEmpty(t, p.calendars)

	now := time.Now().UTC().Truncate(time.Hour)
	uid := createCyrusEvent(t, p.calendars[0], now)
	waitFor(t, "the invitations", func() bool { return len(maildirIMIP(t, maildir, uid)) >= 2 })
	time.Sleep(time.Second)
	baseline := len(maildirIMIP(t, maildir, uid))
	m := findMeeting(t, b, now, uid)
	res, err := b.UpdateMeeting(ctx(t), tenant, calendar.Update{Mailbox: "alice@example.com", MeetingID: m.ID,
		ETag: m.ETag, Body: migrate(t, m, newProfile), IdempotencyKey: "cyrus/" + uid})
	require.NoError(t, err)
	assert.Equal(t, 2, res.InvitesSent)

	waitFor(t, "the updates", func() bool { return len(maildirIMIP(t, maildir, uid)) >= baseline+2 })
	time.Sleep(2 * time.Second) // and no more
	all := maildirIMIP(t, maildir, uid)
	require.Len(t, all, baseline+2)
	for _, who := range []string{"bob@example.net", "carol@example.net"} {
		var updates []delivered
		for _, d := range all {
			if d.To == who && strings.Contains(d.Calendar, "987 654 321") {
				updates = append(updates, d)
			}
		}
		require.Len(t, updates, 1, who)
		assert.Equal(t, "REQUEST", updates[0].Method)
		assert.Contains(t, updates[0].Calendar, "SEQUENCE:1")
	}
	for _, d := range all {
		assert.NotEqual(t, "alice@example.com", d.To, "the organizer gets nothing")
	}
	assert.Empty(t, own.Messages(), "mms sent nothing itself")

	// A replay writes nothing, so the server sends nothing.
	got, err := b.GetMeeting(ctx(t), tenant, "alice@example.com", m.ID)
	require.NoError(t, err)
	assert.Contains(t, got.Body, nonASCII)
	_, err = b.UpdateMeeting(ctx(t), tenant, calendar.Update{Mailbox: "alice@example.com", MeetingID: m.ID,
		ETag: got.ETag, Body: got.Body, IdempotencyKey: "cyrus/" + uid})
	require.NoError(t, err)
	time.Sleep(2 * time.Second)
	assert.Len(t, maildirIMIP(t, maildir, uid), baseline+2)
	assert.Empty(t, own.Messages())

	// iMIP mode on a scheduling server is refused: both would notify (and
	// SCHEDULE-AGENT=CLIENT makes Cyrus send a CANCEL).
	cfg.Notify = NotifyIMIP
	_, err = b.ListMeetings(ctx(t), tenant, "alice@example.com", now, now.Add(time.Hour), "", 10)
	assert.ErrorContains(t, err, "schedules by itself")
	_, err = New(b.lookup).Mailbox(ctx(t), tenant, "alice@example.com")
	assert.ErrorContains(t, err, "schedules by itself")
}

func findMeeting(t *testing.T, b *Backend, now time.Time, uid string) calendar.Meeting {
	t.Helper()
	page, err := b.ListMeetings(ctx(t), tenant, "alice@example.com", now, now.Add(7*24*time.Hour), "", 500)
	require.NoError(t, err)
	for _, x := range page.Meetings {
		if strings.HasSuffix(x.ID, "/"+uid+".ics") {
			require.True(t, x.IsOrganizer)
			return x
		}
	}
	t.Fatalf("%s not listed", uid)
	return calendar.Meeting{}
}

// createCyrusEvent stores a new meeting of alice with two external attendees.
func createCyrusEvent(t *testing.T, cal string, now time.Time) string {
	t.Helper()
	uid := fmt.Sprintf("cyrus-%d", time.Now().UnixNano())
	href := strings.TrimSuffix(cal, "/") + "/" + uid + ".ics"
	body := ics("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//mms test//EN", "BEGIN:VEVENT", "UID:"+uid,
		"DTSTAMP:20250101T000000Z", "DTSTART:"+icalUTCTime(now.Add(48*time.Hour)), "DURATION:PT1H",
		"SUMMARY:Cyrus sync", "ORGANIZER;CN=Alice:mailto:alice@example.com",
		"ATTENDEE;CN=Alice;PARTSTAT=ACCEPTED:mailto:alice@example.com",
		"ATTENDEE;CN=Bob Remote;RSVP=TRUE:mailto:bob@example.net",
		"ATTENDEE;CN=Carol Remote;RSVP=TRUE:mailto:carol@example.net",
		"X-MICROSOFT-SKYPETEAMSMEETINGURL:"+oldJoin,
		"DESCRIPTION:"+icaledit.Escape(textBody(t, "cyrus "+nonASCII, oldProfile, meetingblock.KindTeams)),
		"X-ALT-DESC;FMTTYPE=text/html:"+icaledit.Escape(htmlBody(t, "cyrus "+nonASCII, oldProfile)),
		"END:VEVENT", "END:VCALENDAR")
	req, err := http.NewRequest(http.MethodPut, href, strings.NewReader(body))
	require.NoError(t, err)
	req.SetBasicAuth("alice", "alicepw")
	req.Header.Set("Content-Type", "text/calendar; charset=utf-8")
	req.Header.Set("If-None-Match", "*")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	return uid
}
