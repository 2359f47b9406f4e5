package devstack

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/caldav"
	"github.com/openmms/mms/internal/calendar/caldav/caldavtest"
	"github.com/openmms/mms/internal/calendar/router"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
)

// intl is a paragraph of non-ASCII text (umlauts, Japanese, emoji with a
// zero-width joiner) put outside the block of one meeting: it must come
// back byte for byte.
const intl = "Grüße aus Köln – Übersicht für Jürgen · 日本語の議題：来週の予定 · 🎉👩‍💻 naïve"

// calItem is one of alice's meetings as put into Radicale.
type calItem struct {
	m         calendar.Meeting // the sandbox meeting it was built from
	path, uid string
	rid       string // RECURRENCE-ID value of an exception
	key       string // uid|rid: the VEVENT in the resource
}

// TestEndToEndCalDAV migrates alice's demo calendar kept in Radicale as
// iCalendar resources, notifying by iMIP through an SMTP recorder, while
// alice edits one meeting concurrently.
//
// The concurrent edit is deterministic: the stack reaches Radicale through
// a reverse proxy (no hook in the stack is needed), which, on the first
// conditional PUT of the "1:1" resource, first makes alice's edit directly
// in Radicale (a changed sentence outside the block, new ETag) and then
// forwards the PUT, whose If-Match is now stale: Radicale answers 412, the
// back end reports a conflict, the activity re-reads the meeting and
// re-applies the block to the edited text.
func TestEndToEndCalDAV(t *testing.T) {
	started := time.Now()
	const alice = "alice@contoso.com"
	radURL := caldavtest.StartRadicale(t, map[string]string{"alice": "alicepw", "mms": "mmspw"})
	smtpRec := caldavtest.StartSMTP(t)
	owner := caldavtest.DAV{URL: radURL, User: "alice", Password: "alicepw"}

	// The proxy in front of Radicale, with alice's concurrent edit.
	target, _ := url.Parse(radURL)
	rp := httputil.NewSingleHostReverseProxy(target)
	var (
		mu        sync.Mutex
		conflicts = map[string]int{} // path -> PUTs answered 412
	)
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method == http.MethodPut && resp.StatusCode == http.StatusPreconditionFailed {
			mu.Lock()
			conflicts[resp.Request.URL.Path]++
			mu.Unlock()
		}
		return nil
	}
	const (
		editFrom = `Topics: hiring plan\; offsite.`
		editTo   = `Topics: hiring plan\; offsite\; budget (added by Alice).`
	)
	var (
		editPath string // set before the run starts
		editOnce sync.Once
		editErr  error
	)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Path == editPath && r.Header.Get("If-Match") != "" {
			editOnce.Do(func() { editErr = organizerEdit(owner, editPath, editFrom, editTo) })
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()

	st := startStack(t, Config{DataDir: t.TempDir(), APIAddr: freeAddr(t), TemporalAddr: freeAddr(t), UIAddr: "-",
		Calendars: &router.Config{Tenants: map[string]router.Tenant{"contoso": {Backend: router.CalDAV,
			CalDAV: &caldav.TenantConfig{
				URL:          proxy.URL + "/",
				Delegate:     &caldav.Credentials{Username: "mms", Password: "mmspw"},
				HomeTemplate: "{base}/{local}/",
				Notify:       caldav.NotifyIMIP,
				SMTP: caldav.SMTPConfig{Host: smtpRec.Host, Port: smtpRec.Port, Security: caldav.SMTPNone,
					From: "mms@contoso.com"},
			}}}}})
	defer st.Stop(context.Background())
	ctx := context.Background()
	c := client_{t: t, base: st.APIURL, token: st.AdminToken}

	// Alice's demo calendar, from the sandbox, into Radicale.
	demo, err := st.Sandbox.Meetings(ctx, "contoso", alice)
	if err != nil {
		t.Fatal(err)
	}
	cal := owner.MkCalendar(t, "calendar")
	items := putDemoCalendar(t, owner, cal, demo)
	before := map[string]string{} // path -> resource as stored
	etags := map[string]string{}
	for _, it := range items {
		if _, ok := before[it.path]; !ok {
			before[it.path], etags[it.path] = owner.Get(t, it.path)
		}
		if it.m.Subject == "1:1 Alice / Bob" {
			editPath = it.path
		}
	}
	if editPath == "" || !strings.Contains(icsUnfold(before[editPath]), editFrom) {
		t.Fatalf("the 1:1 to edit concurrently is missing or lacks %q", editFrom)
	}

	if code, raw := c.do("POST", "/v1/tenants/contoso/migrations", st.AdminToken, map[string]any{"user": alice}); code != 202 {
		t.Fatalf("start = %d %s", code, raw)
	}
	d := c.waitRecord(alice, "", time.Minute)
	if d.State != migration.StateSucceeded || d.SucceededMeeting != 4 || d.SkippedMeeting != 3 || d.FailedMeeting != 0 ||
		d.InvitesUpdate != 4 {
		for _, m := range d.Meetings {
			t.Logf("%s %s %s %s", m.Subject, m.Start.Format(time.RFC3339), m.Outcome, m.Reason)
		}
		t.Fatalf("record = %+v", d.StatusRecord)
	}
	// Once.Do returns after the proxy's edit (if any) completed.
	editOnce.Do(func() { editErr = errors.New("mms never updated the meeting") })
	if editErr != nil {
		t.Fatalf("the concurrent edit was not made: %v", editErr)
	}
	// The series master and its exception share a resource: updated at
	// once, one of them may meet a 412 of mms's own making too.
	mu.Lock()
	if n := conflicts[editPath]; n != 1 {
		t.Fatalf("%d PUTs of the edited meeting answered 412, want exactly 1 (all: %v)", n, conflicts)
	}
	t.Logf("412 answers by resource: %v", conflicts)
	mu.Unlock()
	checkOutcomes(t, d, map[string]string{
		"Weekly sync":                     "Updated",
		"Weekly sync (moved to Thursday)": "Updated",
		"1:1 Alice / Bob":                 "Updated",
		"All hands":                       "Skipped 301 participants",
		"Lunch & learn":                   "Skipped not created as an online meeting",
		"Architecture board":              "Skipped not organizer",
	})

	// Every mail, by recipient and by the VEVENT it announces.
	mails := map[string]map[string][]*ical.Component{} // recipient -> uid|rid -> VEVENTs
	for _, msg := range smtpRec.Messages() {
		key, ev := decodeRequest(t, msg)
		for _, to := range msg.To {
			to = strings.ToLower(to)
			if mails[to] == nil {
				mails[to] = map[string][]*ical.Component{}
			}
			mails[to][key] = append(mails[to][key], ev)
		}
	}
	if len(mails[alice]) != 0 {
		t.Errorf("the organizer was sent %d mails", len(mails[alice]))
	}

	now := time.Now()
	after := map[string]string{}
	updated, sent := 0, 0
	for _, it := range items {
		if _, ok := after[it.path]; !ok {
			after[it.path], _ = owner.Get(t, it.path)
		}
		old := it.m
		oldEv, newEv := icsEvents(before[it.path])[it.key], icsEvents(after[it.path])[it.key]
		if oldEv == nil || newEv == nil {
			t.Fatalf("%q: VEVENT %s missing (before %v, after %v)", old.Subject, it.key, oldEv != nil, newEv != nil)
		}
		selected := old.Organizer == alice && old.OnlineMeeting != nil && old.Participants() <= 250 &&
			(old.Kind == calendar.KindSeriesMaster || old.Start.After(now))
		if !selected {
			if !equalLines(oldEv, newEv) {
				t.Errorf("%q (not selected) was changed:\n%s", old.Subject, strings.Join(newEv, "\n"))
			}
			if it.rid == "" && after[it.path] != before[it.path] {
				t.Errorf("%q (not selected): its resource changed", old.Subject)
			}
			continue
		}
		updated++
		if it.m.Kind == calendar.KindSeriesMaster && !it.m.Start.Before(now) {
			t.Fatalf("the series should have started in the past: %s", it.m.Start)
		}
		// Only the block, its metadata, SEQUENCE, the stamps and mms's own
		// properties changed; every other line keeps its bytes.
		if !equalLines(icsStable(oldEv), icsStable(newEv)) {
			t.Errorf("%q: lines outside the changeable ones differ:\nbefore:\n%s\nafter:\n%s", old.Subject,
				strings.Join(icsStable(oldEv), "\n"), strings.Join(icsStable(newEv), "\n"))
		}
		oseq, nseq := atoiProp(oldEv, "SEQUENCE"), atoiProp(newEv, "SEQUENCE")
		if nseq != oseq+1 {
			t.Errorf("%q: SEQUENCE %d -> %d, want +1", old.Subject, oseq, nseq)
		}
		wantKey := d.CorrelationID + "/" + it.path
		if it.rid != "" {
			wantKey += "#" + it.rid
		}
		if got := icsUnescape(icsProp(newEv, "X-MMS-UPDATE-KEY")); got != wantKey {
			t.Errorf("%q: update key %q, want %q", old.Subject, got, wantKey)
		}
		// Both bodies: the new block (the meeting's own link), the rest as
		// it was, or as alice edited it.
		type body struct {
			name   string
			format meetingblock.Format
		}
		bodies := []body{{"DESCRIPTION", meetingblock.FormatText}}
		if old.BodyType == calendar.BodyHTML {
			bodies = append(bodies, body{"X-ALT-DESC", meetingblock.FormatHTML})
		}
		for _, b := range bodies {
			ob, nb := icsUnescape(icsProp(oldEv, b.name)), icsUnescape(icsProp(newEv, b.name))
			if it.path == editPath {
				ob = strings.Replace(ob, icsUnescape(editFrom), icsUnescape(editTo), 1)
			}
			checkBlock(t, old.Subject+" "+b.name, ob, nb, b.format)
			if old.Subject == "Quarterly review — Q1 📈 (日本語 / العربية)" && !strings.Contains(nb, intl) {
				t.Errorf("%q %s: the non-ASCII paragraph is gone:\n%s", old.Subject, b.name, nb)
			}
		}
		// One REQUEST per attendee, showing the new block; none to alice.
		for _, a := range old.Attendees {
			if a.Address == alice {
				continue
			}
			evs := mails[a.Address][it.key]
			if len(evs) != 1 {
				t.Errorf("%q: %s got %d mails, want 1", old.Subject, a.Address, len(evs))
				continue
			}
			sent++
			ev := evs[0]
			desc, _ := ev.Props.Text(ical.PropDescription)
			seq := ""
			if p := ev.Props.Get(ical.PropSequence); p != nil {
				seq = p.Value
			}
			if !strings.Contains(onlyDigits(desc), "987654321") || !hasNumber(desc) || strings.Contains(onlyDigits(desc), "111222333") ||
				!strings.Contains(desc, old.OnlineMeeting.JoinURL) || seq != strconv.Itoa(nseq) {
				t.Errorf("%q: the REQUEST to %s (SEQUENCE %s) does not show the new block:\n%s", old.Subject, a.Address, seq, desc)
			}
		}
	}
	if updated != 4 {
		t.Fatalf("%d meetings selected by the test's own rule, want 4", updated)
	}
	if total := len(smtpRec.Messages()); total != sent {
		t.Errorf("%d mails in all, %d expected (one per attendee of each updated meeting)", total, sent)
	}
	t.Logf("CalDAV end to end in %s: %d meetings updated, %d iMIP mails", time.Since(started).Round(100*time.Millisecond), updated, sent)
}

// putDemoCalendar stores alice's sandbox meetings in Radicale: the weekly
// series (its master and its exception) as one resource, every other
// meeting as a resource of its own.
func putDemoCalendar(t *testing.T, dav caldavtest.DAV, cal string, demo []calendar.Meeting) []*calItem {
	t.Helper()
	var items []*calItem
	var master *calItem
	for i, m := range demo {
		it := &calItem{m: m, path: fmt.Sprintf("%sitem-%d.ics", cal, i), uid: fmt.Sprintf("item-%d@contoso.com", i)}
		items = append(items, it)
		if m.Kind == calendar.KindSeriesMaster {
			master = it
		}
	}
	if master == nil {
		t.Fatal("the demo has no series")
	}
	var series []string
	for _, it := range items {
		var ev []string
		switch it.m.Kind {
		case calendar.KindSeriesMaster:
			// The sandbox says FREQ=WEEKLY;BYDAY=MO with a start on any
			// weekday; iCalendar wants DTSTART to be an occurrence, so the
			// series repeats on its start's weekday.
			rule := "FREQ=WEEKLY;BYDAY=" + strings.ToUpper(it.m.Start.UTC().Weekday().String()[:2])
			ev = vevent(t, it, rule, "")
			series = append(ev, series...)
		case calendar.KindException:
			it.path, it.uid = master.path, master.uid
			// It replaces the first occurrence after a week from now.
			occ := master.m.Start
			for !occ.After(time.Now().Add(7 * 24 * time.Hour)) {
				occ = occ.Add(7 * 24 * time.Hour)
			}
			it.rid = occ.UTC().Format("20060102T150405Z")
			series = append(series, vevent(t, it, "", it.rid)...)
		default:
			dav.Put(t, it.path, vcalendar(vevent(t, it, "", "")))
		}
		it.key = it.uid + "|" + it.rid
	}
	dav.Put(t, master.path, vcalendar(series))
	return items
}

func vcalendar(events []string) string {
	lines := append([]string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN",
		"CALSCALE:GREGORIAN"}, events...)
	lines = append(lines, "END:VCALENDAR")
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(icsFold(l))
	}
	return b.String()
}

var demoNames = map[string]string{"alice@contoso.com": "Alice Wong", "bob@contoso.com": "Bob Fischer"}

// vevent converts a sandbox meeting: an HTML body becomes X-ALT-DESC with a
// plain-text DESCRIPTION beside it (the same text, the block rendered as
// text), a text body DESCRIPTION alone.
func vevent(t *testing.T, it *calItem, rrule, rid string) []string {
	t.Helper()
	m := it.m
	utc := func(x time.Time) string { return x.UTC().Format("20060102T150405Z") }
	ev := []string{"BEGIN:VEVENT", "UID:" + it.uid, "DTSTAMP:20250101T000000Z", "CREATED:20250101T000000Z"}
	if rid != "" {
		ev = append(ev, "RECURRENCE-ID:"+rid)
	}
	ev = append(ev, "DTSTART:"+utc(m.Start), "DTEND:"+utc(m.End))
	if rrule != "" {
		ev = append(ev, "RRULE:"+rrule)
	}
	ev = append(ev, "SUMMARY:"+icsEscape(m.Subject), "SEQUENCE:2", "LOCATION:Room 4\\, Building 1", "CLASS:PUBLIC",
		"ORGANIZER;CN="+demoNames[m.Organizer]+":mailto:"+m.Organizer)
	if m.Organizer == "alice@contoso.com" {
		ev = append(ev, "ATTENDEE;CN=Alice Wong;ROLE=CHAIR;PARTSTAT=ACCEPTED:mailto:alice@contoso.com")
	}
	for _, a := range m.Attendees {
		l := "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE"
		if a.Name != "" {
			l += ";CN=" + a.Name
		}
		ev = append(ev, l+":mailto:"+a.Address)
	}
	if om := m.OnlineMeeting; om != nil {
		if m.BodyType == calendar.BodyText {
			ev = append(ev, "CONFERENCE;VALUE=URI;FEATURE=AUDIO,VIDEO;LABEL=Join the meeting:"+om.JoinURL)
		} else {
			ev = append(ev, "X-MICROSOFT-SKYPETEAMSMEETINGURL:"+om.JoinURL,
				`X-MICROSOFT-ONLINEMEETINGINFORMATION:{"OnlineMeetingChannelId":null\,"OnlineMeetingProvider":3}`)
		}
	}
	body := strings.ReplaceAll(m.Body, "\r\n", "\n")
	if m.BodyType == calendar.BodyText {
		ev = append(ev, "DESCRIPTION:"+icsEscape(body))
	} else {
		blk, err := meetingblock.Find(body, meetingblock.FormatHTML)
		if err != nil {
			t.Fatalf("%q: %v", m.Subject, err)
		}
		if strings.HasPrefix(m.Subject, "Quarterly review") {
			body = body[:blk.Start] + "<div><p>" + intl + "</p></div>\n" + body[blk.Start:]
			if blk, err = meetingblock.Find(body, meetingblock.FormatHTML); err != nil {
				t.Fatal(err)
			}
		}
		p := meetingblock.Profile{MeetingType: string(blk.Kind), JoinURL: blk.JoinURL, ConferenceID: blk.ConferenceID,
			Provider: meetingblock.ProviderMicrosoft, Locale: "en-US"}
		if len(blk.TollNumbers) > 0 {
			p.TollNumber = blk.TollNumbers[0]
		}
		textBlock, err := meetingblock.Render(p, blk.Kind, meetingblock.FormatText)
		if err != nil {
			t.Fatalf("%q: %v", m.Subject, err)
		}
		text := htmlText(body[:blk.Start]) + "\n\n" + strings.ReplaceAll(textBlock, "\r\n", "\n") + "\n\n" +
			htmlText(body[blk.End:]) + "\n"
		ev = append(ev, "DESCRIPTION:"+icsEscape(text), "X-ALT-DESC;FMTTYPE=text/html:"+icsEscape(body))
	}
	return append(ev, "END:VEVENT")
}

var htmlTags = regexp.MustCompile(`(?s)<head>.*?</head>|<[^>]*>`)

func htmlText(s string) string {
	return strings.TrimSpace(html.UnescapeString(htmlTags.ReplaceAllString(s, "")))
}

// organizerEdit is alice changing a sentence of a meeting's description in
// her client: a GET and a conditional PUT straight to Radicale.
func organizerEdit(dav caldavtest.DAV, path, from, to string) error {
	do := func(method, etag, body string) (*http.Response, string, error) {
		req, err := http.NewRequest(method, strings.TrimSuffix(dav.URL, "/")+path, strings.NewReader(body))
		if err != nil {
			return nil, "", err
		}
		req.SetBasicAuth(dav.User, dav.Password)
		if etag != "" {
			req.Header.Set("If-Match", etag)
			req.Header.Set("Content-Type", "text/calendar; charset=utf-8")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode/100 != 2 {
			err = fmt.Errorf("%s %s: %s %s", method, path, resp.Status, raw)
		}
		return resp, string(raw), err
	}
	resp, data, err := do(http.MethodGet, "", "")
	if err != nil {
		return err
	}
	text := icsUnfold(data)
	if !strings.Contains(text, from) {
		return fmt.Errorf("%s does not contain %q", path, from)
	}
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(strings.ReplaceAll(strings.Replace(text, from, to, 1), "\r\n", "\n"), "\n"), "\n") {
		b.WriteString(icsFold(l))
	}
	_, _, err = do(http.MethodPut, resp.Header.Get("ETag"), b.String())
	return err
}

// decodeRequest reads an iMIP message: its METHOD must be REQUEST; it
// returns the uid|rid of the VEVENT it is about (the master for a series,
// whose exceptions come along) and that VEVENT.
func decodeRequest(t *testing.T, m caldavtest.Message) (string, *ical.Component) {
	t.Helper()
	hdr, cal := m.Calendar(t)
	if method := cal.Props.Get(ical.PropMethod); method == nil || method.Value != "REQUEST" ||
		!strings.Contains(hdr.Get("Content-Type"), "method=REQUEST") {
		t.Fatalf("not an iTIP REQUEST:\n%s", m.Data)
	}
	evs := cal.Events()
	for _, e := range evs {
		if e.Props.Get(ical.PropRecurrenceID) == nil {
			return e.Props.Get(ical.PropUID).Value + "|", e.Component
		}
	}
	if len(evs) != 1 {
		t.Fatalf("an iTIP REQUEST with %d exceptions and no master", len(evs))
	}
	e := evs[0]
	return e.Props.Get(ical.PropUID).Value + "|" + e.Props.Get(ical.PropRecurrenceID).Value, e.Component
}

// checkBlock: the new body shows the new block, with the meeting's own link,
// and every byte outside it is the old body's.
func checkBlock(t *testing.T, what, oldBody, newBody string, f meetingblock.Format) {
	t.Helper()
	ob, err := meetingblock.Find(oldBody, f)
	if err != nil {
		t.Errorf("%s: old block: %v", what, err)
		return
	}
	nb, err := meetingblock.Find(newBody, f)
	if err != nil {
		t.Errorf("%s: new block: %v", what, err)
		return
	}
	if oldBody[:ob.Start] != newBody[:nb.Start] || oldBody[ob.End:] != newBody[nb.End:] {
		t.Errorf("%s: bytes outside the block changed:\nbefore: %q\nafter:  %q", what,
			oldBody[:ob.Start]+"[block]"+oldBody[ob.End:], newBody[:nb.Start]+"[block]"+newBody[nb.End:])
	}
	block := newBody[nb.Start:nb.End]
	if nb.ConferenceID != "987654321" || !hasNumber(block) || strings.Contains(onlyDigits(block), "111222333") ||
		nb.JoinURL != ob.JoinURL {
		t.Errorf("%s: new block does not show the new dial-in with the meeting's own link:\n%s", what, block)
	}
}

// onlyDigits keeps a text's digits: "+1 206-555-0199" and "+12065550199"
// (the text block's form) are the same number.
func onlyDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// hasNumber: the text shows alice's new toll number, +1 206-555-0199.
func hasNumber(s string) bool { return strings.Contains(onlyDigits(s), "12065550199") }

// icsFold renders a content line folded at 75 octets without splitting a
// UTF-8 sequence.
func icsFold(l string) string {
	var b strings.Builder
	for limit := 75; len(l) > limit; limit = 74 {
		cut := limit
		for cut > 0 && l[cut]&0xC0 == 0x80 {
			cut--
		}
		b.WriteString(l[:cut] + "\r\n ")
		l = l[cut:]
	}
	return b.String() + l + "\r\n"
}

func icsUnfold(s string) string {
	return strings.NewReplacer("\r\n ", "", "\r\n\t", "", "\n ", "", "\n\t", "").Replace(s)
}

var icsEscape = strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`).Replace

func icsUnescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		if s[i] == 'n' || s[i] == 'N' {
			b.WriteByte('\n')
		} else {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// icsEvents splits a resource into its VEVENTs' unfolded content lines, by
// uid|rid.
func icsEvents(resource string) map[string][]string {
	out := map[string][]string{}
	var cur []string
	in := false
	for _, l := range strings.Split(icsUnfold(resource), "\n") {
		l = strings.TrimSuffix(l, "\r")
		switch {
		case l == "BEGIN:VEVENT":
			in, cur = true, nil
		case l == "END:VEVENT":
			in = false
			out[icsProp(cur, "UID")+"|"+icsProp(cur, "RECURRENCE-ID")] = cur
		case in:
			cur = append(cur, l)
		}
	}
	return out
}

// icsName is a content line's property name.
func icsName(l string) string {
	i := strings.IndexAny(l, ";:")
	if i < 0 {
		return strings.ToUpper(l)
	}
	return strings.ToUpper(l[:i])
}

// icsProp is the value of a VEVENT's first such property ("" without one).
func icsProp(lines []string, name string) string {
	for _, l := range lines {
		if icsName(l) != name {
			continue
		}
		quoted := false
		for i := 0; i < len(l); i++ {
			switch l[i] {
			case '"':
				quoted = !quoted
			case ':':
				if !quoted {
					return l[i+1:]
				}
			}
		}
	}
	return ""
}

func atoiProp(lines []string, name string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(icsProp(lines, name)))
	return n
}

// icsStable drops the lines an update may change.
func icsStable(lines []string) []string {
	var out []string
	for _, l := range lines {
		switch n := icsName(l); {
		case n == "DESCRIPTION", n == "X-ALT-DESC", n == "CONFERENCE", n == "SEQUENCE", n == "DTSTAMP",
			n == "LAST-MODIFIED", strings.HasPrefix(n, "X-MICROSOFT-"), strings.HasPrefix(n, "X-MMS-"):
		default:
			out = append(out, l)
		}
	}
	return out
}

func equalLines(a, b []string) bool {
	return strings.Join(a, "\n") == strings.Join(b, "\n")
}
