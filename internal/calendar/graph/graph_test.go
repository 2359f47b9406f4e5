package graph_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t check
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/graph"
	"github.com/openmms/mms/internal/calendar/graph/graphtest"
)

const (
	secret   = "s3cr3t-Value~never-printed"
	azTenant = "contoso-tenant"
	clientID = "11111111-2222-3333-4444-555555555555"
	alice    = "alice@contoso.com"
	bob      = "bob@contoso.com"
	carol    = "carol@contoso.com"
)

var day0 = time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)

// aliceID is alice's object ID in the newest env: createOrGet is addressed
// by it (onlinemeeting-createorget.md).
var aliceID string

type env struct {
	t   testing.TB
	srv *graphtest.Server
	ts  *httptest.Server
	cfg graph.TenantConfig
	b   *graph.Backend
}

func newEnv(t testing.TB, opts graphtest.Options, bopts ...graph.Option) *env {
	t.Helper()
	srv := graphtest.New(opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	srv.AddApp(azTenant, clientID, secret)
	aliceID = srv.AddUser(azTenant, alice, "Alice Wong", false)
	srv.AddUser(azTenant, bob, "Bob Li", false)
	srv.AddUser(azTenant, carol, "Carol Diaz", true)
	e := &env{t: t, srv: srv, ts: ts}
	e.cfg = graph.TenantConfig{AzureTenantID: azTenant, ClientID: clientID, ClientSecret: secret,
		BaseURL: graphtest.GraphURL(ts.URL), TokenURL: graphtest.TokenURL(ts.URL, azTenant)}
	e.b = e.backend(bopts...)
	return e
}

func (e *env) backend(bopts ...graph.Option) *graph.Backend {
	cfg := e.cfg
	opts := append([]graph.Option{graph.WithRetry(6, 20*time.Millisecond, 200*time.Millisecond),
		graph.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, bopts...)
	return graph.New(func(_ context.Context, id string) (graph.TenantConfig, error) {
		if id != "t1" {
			return graph.TenantConfig{}, errors.New("unknown tenant")
		}
		return cfg, nil
	}, opts...)
}

const oldBlock = `<div class="block">________________________________________________________________________________<br>` +
	`Join Skype Meeting https://meet.lync.com/contoso/alice/OLD</div>`
const newBlock = `<div class="block">Microsoft Teams meeting https://teams.microsoft.com/l/meetup-join/NEW</div>`

func (e *env) add(mailbox string, ev graphtest.Event) string {
	e.t.Helper()
	if ev.Subject == "" {
		ev.Subject = "meeting"
	}
	if ev.End.IsZero() {
		ev.End = ev.Start.Add(30 * time.Minute)
	}
	if ev.Body == "" {
		ev.Body = "<html><body><p>Agenda ✓ naïve</p>" + oldBlock + "</body></html>"
	}
	if ev.Attendees == nil {
		ev.Attendees = []graphtest.Attendee{{Address: bob, Name: "Bob"}, {Address: "dan@fabrikam.com"}, {Address: mailbox}}
	}
	ev.IsOnlineMeeting, ev.Provider, ev.JoinURL = true, "skypeForBusiness", "https://meet.lync.com/contoso/alice/OLD"
	id, err := e.srv.AddEvent(mailbox, ev)
	require.NoError(e.t, err)
	return id
}

func listAll(t *testing.T, b *graph.Backend, mailbox string, from, to time.Time, pageSize int) ([]calendar.Meeting, int) {
	t.Helper()
	var all []calendar.Meeting
	cursor, pages := "", 0
	for {
		p, err := b.ListMeetings(context.Background(), "t1", mailbox, from, to, cursor, pageSize)
		require.NoError(t, err)
		pages++
		all = append(all, p.Meetings...)
		if p.NextCursor == "" {
			return all, pages
		}
		cursor = p.NextCursor
		require.Less(t, pages, 1000)
	}
}

func TestMailbox(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	ctx := context.Background()
	mb, err := e.b.Mailbox(ctx, "t1", alice)
	require.NoError(t, err)
	// The object ID addresses every later call (issue 17: a mail address
	// may not name the user).
	assert.Equal(t, calendar.Mailbox{ID: aliceID, Address: alice, DisplayName: "Alice Wong", Online: true}, mb)

	mb, err = e.b.Mailbox(ctx, "t1", carol)
	require.NoError(t, err)
	assert.False(t, mb.Online, "an on-premises mailbox is reported, not failed")
	assert.Equal(t, carol, mb.Address)

	_, err = e.b.Mailbox(ctx, "t1", "nobody@contoso.com")
	assert.ErrorIs(t, err, calendar.ErrNotFound)
	assert.True(t, graph.HasCode(err, "Request_ResourceNotFound"), err)

	_, err = e.b.Mailbox(ctx, "other", alice)
	assert.ErrorContains(t, err, "unknown tenant")
}

// Many events, small pages: every event exactly once, pages follow nextLink.
func TestListMeetingsPagingThroughNextLink(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	want := map[string]bool{}
	for i := range 250 {
		want[e.add(alice, graphtest.Event{Subject: fmt.Sprintf("m%03d", i), Start: day0.Add(time.Duration(i) * 3 * time.Hour)})] = true
	}
	textID := e.add(alice, graphtest.Event{Subject: "plain", Start: day0.Add(time.Hour), Body: "Hello <team>\nline 2", BodyType: "text"})
	want[textID] = true
	// Past and beyond the horizon: not listed.
	e.add(alice, graphtest.Event{Start: day0.Add(-72 * time.Hour)})
	e.add(alice, graphtest.Event{Start: day0.Add(3 * 365 * 24 * time.Hour)})

	got, pages := listAll(t, e.b, alice, day0, day0.Add(10*365*24*time.Hour), 40)
	assert.Equal(t, 7, pages) // ceil(251/40)
	seen := map[string]bool{}
	for _, m := range got {
		assert.False(t, seen[m.ID], "duplicate %s", m.ID)
		seen[m.ID] = true
		assert.Equal(t, calendar.KindSingle, m.Kind)
		assert.Equal(t, calendar.BodyHTML, m.BodyType)
		assert.True(t, m.IsOrganizer)
		assert.NotEmpty(t, m.ETag)
		assert.Equal(t, time.UTC, m.Start.Location())
		require.NotNil(t, m.OnlineMeeting)
		assert.Equal(t, calendar.ProviderSkype, m.OnlineMeeting.Provider)
		assert.Len(t, m.Attendees, 3)
		assert.Equal(t, 3, m.Participants())
		if m.ID == textID {
			assert.Contains(t, m.Body, `<div class="PlainText">Hello &lt;team&gt;<br>`)
		} else {
			assert.Contains(t, m.Body, "Agenda ✓ naïve")
		}
	}
	assert.Equal(t, want, seen)

	var views int
	for _, r := range e.srv.Requests(alice) {
		if strings.HasSuffix(r.Path, "/calendarView") {
			views++
		}
	}
	assert.Equal(t, 7, views)

	// A cursor pointing off the configured Graph base is refused (the token
	// must never be sent elsewhere).
	evil := base64.RawURLEncoding.EncodeToString([]byte(`{"n":"https://evil.example/v1.0/x"}`))
	_, err := e.b.ListMeetings(context.Background(), "t1", alice, day0, day0.Add(time.Hour), evil, 10)
	assert.ErrorContains(t, err, "refusing")
}

// Items the user attends are kept and marked, not dropped.
func TestListMeetingsKeepsNonOrganizedMarked(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	own := e.add(alice, graphtest.Event{Start: day0.Add(time.Hour)})
	other := e.add(alice, graphtest.Event{Start: day0.Add(2 * time.Hour), Organizer: bob, OrganizerName: "Bob Li",
		Attendees: []graphtest.Attendee{{Address: alice}}})
	got, _ := listAll(t, e.b, alice, day0, day0.Add(24*time.Hour), 10)
	require.Len(t, got, 2)
	byID := map[string]calendar.Meeting{got[0].ID: got[0], got[1].ID: got[1]}
	assert.True(t, byID[own].IsOrganizer)
	assert.False(t, byID[other].IsOrganizer)
	assert.Equal(t, bob, byID[other].Organizer)
}

// Series: the master once across pages (fetched once), exceptions on their own.
func TestListMeetingsSeries(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	weekly := e.add(alice, graphtest.Event{Subject: "weekly", Start: day0.Add(9 * time.Hour),
		Recurrence: &graphtest.Recurrence{Type: "weekly", Interval: 1, DaysOfWeek: []time.Weekday{time.Monday, time.Thursday}, Count: 20}})
	daily := e.add(alice, graphtest.Event{Subject: "daily", Start: day0.Add(-5*24*time.Hour + 8*time.Hour),
		Recurrence: &graphtest.Recurrence{Type: "daily", Interval: 2, Until: day0.Add(40 * 24 * time.Hour)}})
	for i := range 10 {
		e.add(alice, graphtest.Event{Subject: fmt.Sprintf("single %d", i), Start: day0.Add(time.Duration(i)*24*time.Hour + 12*time.Hour)})
	}
	// The third daily occurrence from day0 becomes an exception.
	var exStart time.Time
	for d := 1; ; d += 2 {
		if exStart = day0.Add(-5*24*time.Hour + 8*time.Hour + time.Duration(d+1)*24*time.Hour); exStart.After(day0.Add(48 * time.Hour)) {
			break
		}
	}
	exID, err := e.srv.AddException(daily, exStart, func(ev *graphtest.Event) {
		ev.Subject = "daily (moved)"
		ev.Start = ev.Start.Add(time.Hour)
		ev.End = ev.End.Add(time.Hour)
	})
	require.NoError(t, err)

	got, pages := listAll(t, e.b, alice, day0, day0.Add(60*24*time.Hour), 5)
	assert.Greater(t, pages, 4)
	count := map[string]int{}
	for _, m := range got {
		count[m.ID]++
		switch m.ID {
		case weekly:
			assert.Equal(t, calendar.KindSeriesMaster, m.Kind)
			assert.Equal(t, "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=20", m.Recurrence)
		case daily:
			assert.Equal(t, calendar.KindSeriesMaster, m.Kind)
			assert.Equal(t, "FREQ=DAILY;INTERVAL=2;UNTIL="+day0.Add(40*24*time.Hour).Format("20060102"), m.Recurrence)
			assert.Equal(t, day0.Add(41*24*time.Hour), m.SeriesEnd)
		case exID:
			assert.Equal(t, calendar.KindException, m.Kind)
			assert.Equal(t, daily, m.SeriesMasterID)
			assert.Equal(t, "daily (moved)", m.Subject)
		default:
			assert.Equal(t, calendar.KindSingle, m.Kind, m.Subject)
		}
	}
	assert.Len(t, got, 13)
	for id, n := range count {
		assert.Equal(t, 1, n, "item %s returned %d times", id, n)
	}
	assert.Equal(t, 1, count[exID])
	// Each master was fetched once for the whole listing.
	gets := map[string]int{}
	for _, r := range e.srv.Requests(alice) {
		if i := strings.Index(r.Path, "/events/"); i >= 0 && r.Method == http.MethodGet {
			gets[r.Path[i+len("/events/"):]]++
		}
	}
	assert.Equal(t, map[string]int{weekly: 1, daily: 1}, gets)
}

// The organizer edits the meeting between our read and our PATCH: 412 →
// ErrConflict; after a re-read and re-apply their edit survives.
func TestUpdateConflictThenReapply(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	ctx := context.Background()
	id := e.add(alice, graphtest.Event{Start: day0.Add(time.Hour)})
	m, err := e.b.GetMeeting(ctx, "t1", alice, id)
	require.NoError(t, err)

	require.NoError(t, e.srv.EditEvent(id, func(ev *graphtest.Event) {
		ev.Body = strings.Replace(ev.Body, "<p>Agenda", "<p>Room 4.12 booked</p><p>Agenda", 1)
	}))
	u := calendar.Update{Mailbox: alice, MeetingID: id, ETag: m.ETag, Body: strings.Replace(m.Body, oldBlock, newBlock, 1),
		IdempotencyKey: "mig-1/" + id}
	_, err = e.b.UpdateMeeting(ctx, "t1", u)
	require.ErrorIs(t, err, calendar.ErrConflict)
	assert.Equal(t, 0, e.srv.NotificationCount(""))

	m, err = e.b.GetMeeting(ctx, "t1", alice, id)
	require.NoError(t, err)
	u.ETag, u.Body = m.ETag, strings.Replace(m.Body, oldBlock, newBlock, 1)
	res, err := e.b.UpdateMeeting(ctx, "t1", u)
	require.NoError(t, err)
	assert.Equal(t, 2, res.InvitesSent)

	st, _ := e.srv.Event(id)
	assert.Contains(t, st.Body, "Room 4.12 booked")
	assert.Contains(t, st.Body, newBlock)
	assert.NotContains(t, st.Body, "meet.lync.com")
	assert.Contains(t, st.Body, "Agenda ✓ naïve")
	assert.Equal(t, 1, st.Writes)
	assert.Equal(t, "mig-1/"+id, st.ExtendedProperties[graph.UpdateKeyProperty])
	assert.Equal(t, 2, e.srv.NotificationCount(id))

	// A deleted meeting is ErrNotFound for both calls.
	e.srv.DeleteEvent(id)
	_, err = e.b.GetMeeting(ctx, "t1", alice, id)
	assert.ErrorIs(t, err, calendar.ErrNotFound)
	_, err = e.b.UpdateMeeting(ctx, "t1", calendar.Update{Mailbox: alice, MeetingID: id, ETag: res.ETag, Body: "x", IdempotencyKey: "k2"})
	assert.ErrorIs(t, err, calendar.ErrNotFound)
}

// The same update again (a retried activity, a cold process) sends nothing.
func TestUpdateIdempotent(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	ctx := context.Background()
	id := e.add(alice, graphtest.Event{Start: day0.Add(time.Hour)})
	got, _ := listAll(t, e.b, alice, day0, day0.Add(24*time.Hour), 10)
	require.Len(t, got, 1)
	m := got[0]
	u := calendar.Update{Mailbox: alice, MeetingID: id, ETag: m.ETag, Body: strings.Replace(m.Body, oldBlock, newBlock, 1),
		IdempotencyKey: "mig-7/" + id}
	reqs := len(e.srv.Requests(alice))
	first, err := e.b.UpdateMeeting(ctx, "t1", u)
	require.NoError(t, err)
	assert.Equal(t, 2, first.InvitesSent)
	assert.Equal(t, reqs+1, len(e.srv.Requests(alice)), "etag known from the listing: PATCH only, no GET first")

	// Same call again with the stale etag.
	again, err := e.b.UpdateMeeting(ctx, "t1", u)
	require.NoError(t, err)
	assert.Equal(t, first, again)

	// A fresh read shows the key; the activity replays with the current etag.
	m2, err := e.b.GetMeeting(ctx, "t1", alice, id)
	require.NoError(t, err)
	assert.Equal(t, u.IdempotencyKey, m2.UpdateKey)
	u.ETag = m2.ETag
	again, err = e.b.UpdateMeeting(ctx, "t1", u)
	require.NoError(t, err)
	assert.Equal(t, first, again)

	// A new process (empty cache): one GET, still no PATCH.
	cold := e.backend()
	again, err = cold.UpdateMeeting(ctx, "t1", u)
	require.NoError(t, err)
	assert.Equal(t, first, again)

	st, _ := e.srv.Event(id)
	assert.Equal(t, 1, st.Writes)
	assert.Equal(t, 2, e.srv.NotificationCount(id), "no second notification")
	assert.Equal(t, 2, e.srv.NotificationCount(""))
}

// 429 with Retry-After blocks every request to that mailbox until the
// deadline; other mailboxes go on.
func TestRetryAfterBlocksMailbox(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	ctx := context.Background()
	aID := e.add(alice, graphtest.Event{Start: day0.Add(time.Hour)})
	bID := e.add(bob, graphtest.Event{Start: day0.Add(time.Hour)})
	// Token and warm-up outside the measurement.
	_, err := e.b.GetMeeting(ctx, "t1", alice, aID)
	require.NoError(t, err)

	const ra = 2 * time.Second
	e.srv.FailNext(alice, 1, http.StatusTooManyRequests, ra)
	var hooks atomic.Int32
	hctx := graph.ContextWithWaitHook(ctx, func() { hooks.Add(1) })
	start := time.Now()
	var wg sync.WaitGroup
	var aErr, a2Err, bErr error
	var aDur, bDur time.Duration
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, aErr = e.b.GetMeeting(hctx, "t1", alice, aID)
		aDur = time.Since(start)
	}()
	time.Sleep(300 * time.Millisecond)
	wg.Add(2)
	go func() { // another call to the blocked mailbox waits too
		defer wg.Done()
		_, a2Err = e.b.GetMeeting(ctx, "t1", alice, aID)
	}()
	go func() { // another mailbox is not blocked
		defer wg.Done()
		s := time.Now()
		_, bErr = e.b.GetMeeting(ctx, "t1", bob, bID)
		bDur = time.Since(s)
	}()
	wg.Wait()
	require.NoError(t, aErr)
	require.NoError(t, a2Err)
	require.NoError(t, bErr)
	assert.GreaterOrEqual(t, aDur, ra)
	assert.Less(t, bDur, time.Second)
	assert.GreaterOrEqual(t, hooks.Load(), int32(2), "wait hook runs at least every 2 s")

	var throttledAt time.Time
	var after []time.Time
	for _, r := range e.srv.Requests(alice) {
		if r.Status == http.StatusTooManyRequests {
			throttledAt = r.At
			assert.Equal(t, ra, r.RetryAfter)
		} else if !throttledAt.IsZero() {
			after = append(after, r.At)
		}
	}
	require.False(t, throttledAt.IsZero())
	require.Len(t, after, 2)
	for _, at := range after {
		assert.False(t, at.Before(throttledAt.Add(ra)), "request %v after the 429, deadline %v", at.Sub(throttledAt), ra)
	}
	assert.Equal(t, 0, e.srv.EarlyRequests(alice))
	st := e.b.Stats()
	assert.GreaterOrEqual(t, st.ThrottledWaits, int64(1))
	assert.GreaterOrEqual(t, st.ThrottledWaitSeconds, 1.5)
	t.Logf("Retry-After %v: first request after the 429 arrived %v later; wait hook ran %d times; throttled wait %.2fs",
		ra, after[0].Sub(throttledAt), hooks.Load(), st.ThrottledWaitSeconds)
}

// A Retry-After longer than the call's wait budget fails fast with ErrThrottled.
func TestRetryAfterBeyondBudget(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, graph.WithWaitBudget(500*time.Millisecond))
	id := e.add(alice, graphtest.Event{Start: day0.Add(time.Hour)})
	e.srv.FailNext(alice, 1, http.StatusTooManyRequests, 30*time.Second)
	start := time.Now()
	_, err := e.b.GetMeeting(context.Background(), "t1", alice, id)
	require.ErrorIs(t, err, graph.ErrThrottled)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Contains(t, err.Error(), "ApplicationThrottled")
	// The budget of the emulator: 3 requests per 10 minutes.
	e2 := newEnv(t, graphtest.Options{RequestsPer10Min: 3}, graph.WithWaitBudget(time.Second))
	id2 := e2.add(alice, graphtest.Event{Start: day0.Add(time.Hour)})
	for range 3 {
		_, err = e2.b.GetMeeting(context.Background(), "t1", alice, id2)
		require.NoError(t, err)
	}
	_, err = e2.b.GetMeeting(context.Background(), "t1", alice, id2)
	require.ErrorIs(t, err, graph.ErrThrottled)
	assert.Equal(t, map[string]int{"budget": 1}, e2.srv.Throttled(alice))
}

// Answers that say when to come back (429 or 503 with Retry-After) are
// waited out within the call's wait budget and are not attempts: a request
// still running on the server after the client gave up on it holds a
// mailbox slot, and the concurrency 429s it causes must not use up the
// attempts that stand for failures. The wait budget still ends a storm.
func TestRetryAfterIsNotAnAttempt(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	b := e.backend(graph.WithRetry(2, 20*time.Millisecond, 200*time.Millisecond), graph.WithWaitBudget(10*time.Second))
	id := e.add(alice, graphtest.Event{Start: day0.Add(time.Hour)})
	e.srv.FailNext(alice, 3, http.StatusTooManyRequests, time.Second)
	_, err := b.GetMeeting(context.Background(), "t1", alice, id)
	require.NoError(t, err, "three 429s with Retry-After, two attempts allowed")
	assert.Equal(t, map[string]int{"injected": 3}, e.srv.Throttled(alice))

	b = e.backend(graph.WithRetry(2, 20*time.Millisecond, 200*time.Millisecond), graph.WithWaitBudget(1500*time.Millisecond))
	e.srv.FailNext(alice, 5, http.StatusTooManyRequests, time.Second)
	start := time.Now()
	_, err = b.GetMeeting(context.Background(), "t1", alice, id)
	require.ErrorIs(t, err, graph.ErrThrottled)
	assert.Less(t, time.Since(start), 2500*time.Millisecond, "the wait budget ends the storm")
	assert.Equal(t, 3+2, e.srv.Throttled(alice)["injected"], "two more 429s fit in 1.5 s of budget")
}

// The client's own 10-minute window (here 5 requests) holds requests back.
func TestClientRequestWindow(t *testing.T) {
	clock := &fakeClock{}
	e := newEnv(t, graphtest.Options{}, graph.WithClock(clock.Now), graph.WithWaitBudget(time.Second))
	e.cfg.RequestsPer10Min = 5
	b := e.backend(graph.WithClock(clock.Now), graph.WithWaitBudget(time.Second))
	id := e.add(alice, graphtest.Event{Start: day0.Add(time.Hour)})
	for range 5 {
		_, err := b.GetMeeting(context.Background(), "t1", alice, id)
		require.NoError(t, err)
	}
	start := time.Now()
	_, err := b.GetMeeting(context.Background(), "t1", alice, id)
	require.ErrorIs(t, err, graph.ErrThrottled)
	assert.Less(t, time.Since(start), 500*time.Millisecond, "a wait beyond the budget fails at once")
	assert.Len(t, e.srv.Requests(alice), 5)
	clock.Advance(10*time.Minute + time.Second)
	_, err = b.GetMeeting(context.Background(), "t1", alice, id)
	require.NoError(t, err)
}

// 5xx: exponential backoff, then success; bounded attempts.
func TestBackoffOn5xx(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	id := e.add(alice, graphtest.Event{Start: day0.Add(time.Hour)})
	e.srv.FailNext(alice, 3, http.StatusServiceUnavailable, 0)
	_, err := e.b.GetMeeting(context.Background(), "t1", alice, id)
	require.NoError(t, err)
	var statuses []int
	for _, r := range e.srv.Requests(alice) {
		statuses = append(statuses, r.Status)
	}
	assert.Equal(t, []int{503, 503, 503, 200}, statuses)
	st := e.b.Stats()
	assert.Equal(t, int64(3), st.Retries)
	assert.Equal(t, int64(3), st.RequestsByStatus[503])

	e.srv.FailNext(alice, 10, http.StatusInternalServerError, 0)
	_, err = e.b.GetMeeting(context.Background(), "t1", alice, id)
	require.Error(t, err)
	assert.True(t, graph.HasCode(err, "InternalServerError"), err)
	assert.NotErrorIs(t, err, graph.ErrThrottled)
	assert.Equal(t, int64(6), e.b.Stats().RequestsByStatus[500], "bounded attempts")
}

// A random failure rate with a seed is absorbed by the retries.
func TestRandomFailuresAbsorbed(t *testing.T) {
	e := newEnv(t, graphtest.Options{FailureRate: 0.2, Seed: 7})
	for i := range 30 {
		e.add(alice, graphtest.Event{Start: day0.Add(time.Duration(i) * time.Hour)})
	}
	got, _ := listAll(t, e.b, alice, day0, day0.Add(48*time.Hour), 4)
	assert.Len(t, got, 30)
	for _, m := range got {
		_, err := e.b.UpdateMeeting(context.Background(), "t1", calendar.Update{Mailbox: alice, MeetingID: m.ID, ETag: m.ETag,
			Body: strings.Replace(m.Body, oldBlock, newBlock, 1), IdempotencyKey: "r/" + m.ID})
		require.NoError(t, err)
	}
	assert.Equal(t, 60, e.srv.NotificationCount(""), "each meeting notified once despite retries")
	var failed int64
	for s, n := range e.b.Stats().RequestsByStatus {
		if s >= 500 {
			failed += n
		}
	}
	assert.Positive(t, failed)
}

// An expired token: 401, one refresh, the request retried.
func TestTokenRefresh(t *testing.T) {
	clock := &fakeClock{}
	e := newEnv(t, graphtest.Options{}, graph.WithClock(clock.Now))
	id := e.add(alice, graphtest.Event{Start: day0.Add(time.Hour)})
	ctx := context.Background()
	_, err := e.b.GetMeeting(ctx, "t1", alice, id)
	require.NoError(t, err)
	_, err = e.b.GetMeeting(ctx, "t1", alice, id)
	require.NoError(t, err)
	assert.Equal(t, 1, e.srv.TokenRequests(), "token cached")

	e.srv.ExpireTokens()
	_, err = e.b.GetMeeting(ctx, "t1", alice, id)
	require.NoError(t, err)
	assert.Equal(t, 2, e.srv.TokenRequests())
	assert.Equal(t, int64(1), e.b.Stats().RequestsByStatus[401])

	// Past its expires_in on the client's clock: refreshed before use, no 401.
	clock.Advance(2 * time.Hour)
	_, err = e.b.GetMeeting(ctx, "t1", alice, id)
	require.NoError(t, err)
	assert.Equal(t, 3, e.srv.TokenRequests())
	assert.Equal(t, int64(1), e.b.Stats().RequestsByStatus[401])
	assert.Equal(t, int64(3), e.b.Stats().TokenRequests)
}

// 50 goroutines update 200 meetings of one mailbox: never more than 4 in
// flight, so Graph never throttles for concurrency.
func TestConcurrentUpdatesStayWithinFourInFlight(t *testing.T) {
	e := newEnv(t, graphtest.Options{Latency: 3 * time.Millisecond})
	for i := range 200 {
		e.add(alice, graphtest.Event{Subject: fmt.Sprintf("m%d", i), Start: day0.Add(time.Duration(i) * time.Hour)})
	}
	ms, _ := listAll(t, e.b, alice, day0, day0.Add(365*24*time.Hour), 100)
	require.Len(t, ms, 200)
	work := make(chan calendar.Meeting)
	var wg sync.WaitGroup
	var invites atomic.Int64
	errs := make(chan error, 200)
	start := time.Now()
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range work {
				r, err := e.b.UpdateMeeting(context.Background(), "t1", calendar.Update{Mailbox: alice, MeetingID: m.ID, ETag: m.ETag,
					Body: strings.Replace(m.Body, oldBlock, newBlock, 1), IdempotencyKey: "mig-c/" + m.ID})
				if err != nil {
					errs <- err
				}
				invites.Add(int64(r.InvitesSent))
			}
		}()
	}
	for _, m := range ms {
		work <- m
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, int64(400), invites.Load())
	assert.Equal(t, 400, e.srv.NotificationCount(""))
	maxSeen := e.srv.MaxInFlight(alice)
	assert.LessOrEqual(t, maxSeen, 4)
	assert.Equal(t, 4, e.b.Stats().MaxInFlight["t1/"+alice])
	assert.Empty(t, e.srv.Throttled(alice), "no 429 caused by exceeding 4 in flight")
	t.Logf("200 updates by 50 goroutines in %v; max in flight at the emulator %d, in the client %d",
		time.Since(start), maxSeen, e.b.Stats().MaxInFlight["t1/"+alice])
}

// createOrGet: the same Teams meeting for the same item; conversion records
// the join URL without writing read-only fields.
func TestEnsureTeamsMeetingAndConversion(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	ctx := context.Background()
	id := e.add(alice, graphtest.Event{Subject: "Vendor call", Start: day0.Add(time.Hour)})
	id2 := e.add(alice, graphtest.Event{Start: day0.Add(2 * time.Hour)})
	// createOrGet only under the object ID, as Graph documents it.
	_, err := e.b.EnsureTeamsMeeting(ctx, "t1", alice, id)
	require.Error(t, err)
	om, err := e.b.EnsureTeamsMeeting(ctx, "t1", aliceID, id)
	require.NoError(t, err)
	assert.Equal(t, calendar.ProviderTeams, om.Provider)
	// The meeting's own audio conferencing, as createOrGet answered it.
	created := e.srv.OnlineMeetings()[0]
	assert.Equal(t, created.ConferenceID, om.ConferenceID)
	assert.Equal(t, created.TollNumber, om.TollNumber)
	assert.Equal(t, created.DialInURL, om.DialInURL)
	assert.True(t, strings.HasPrefix(om.JoinURL, "https://teams.microsoft.com/l/meetup-join/"), om.JoinURL)
	again, err := e.b.EnsureTeamsMeeting(ctx, "t1", aliceID, id)
	require.NoError(t, err)
	assert.Equal(t, om, again)
	other, err := e.b.EnsureTeamsMeeting(ctx, "t1", aliceID, id2)
	require.NoError(t, err)
	assert.NotEqual(t, om.JoinURL, other.JoinURL)
	oms := e.srv.OnlineMeetings()
	require.Len(t, oms, 2)
	for _, m := range oms {
		assert.Len(t, m.JoinMeetingID, 13)
		assert.LessOrEqual(t, len(m.ExternalID), 40)
		if m.ExternalID == graph.ExternalID(id) {
			assert.Equal(t, "Vendor call", m.Subject)
			assert.Equal(t, day0.Add(time.Hour), m.Start)
		}
	}

	m, err := e.b.GetMeeting(ctx, "t1", alice, id)
	require.NoError(t, err)
	_, err = e.b.UpdateMeeting(ctx, "t1", calendar.Update{Mailbox: alice, MeetingID: id, ETag: m.ETag,
		Body: strings.Replace(m.Body, oldBlock, newBlock, 1), OnlineMeeting: &om, IdempotencyKey: "conv/" + id})
	require.NoError(t, err)
	st, _ := e.srv.Event(id)
	assert.Equal(t, om.JoinURL, st.ExtendedProperties[graph.TeamsJoinURLProperty])
	assert.Equal(t, "skypeForBusiness", st.Provider, "Graph's read-only onlineMeeting untouched")
	m, err = e.b.GetMeeting(ctx, "t1", alice, id)
	require.NoError(t, err)
	require.NotNil(t, m.OnlineMeeting)
	assert.Equal(t, calendar.ProviderTeams, m.OnlineMeeting.Provider)
	assert.Equal(t, om.JoinURL, m.OnlineMeeting.JoinURL)
}

// Certificate credentials: an RS256 client assertion with x5t, verified by
// the emulator against the registered certificate and here by golang-jwt.
func TestCertificateCredentials(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	certPEM, keyPEM, cert := newCert(t)
	require.NoError(t, e.srv.AddCertificateApp(azTenant, "cert-app", certPEM))
	var mu sync.Mutex
	var assertions []string
	spy := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasSuffix(r.URL.Path, "/token") {
			body, _ := io.ReadAll(r.Body)
			form, _ := url.ParseQuery(string(body))
			mu.Lock()
			assertions = append(assertions, form.Get("client_assertion"))
			mu.Unlock()
			assert.Empty(t, form.Get("client_secret"))
			assert.Equal(t, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", form.Get("client_assertion_type"))
			r.Body = io.NopCloser(strings.NewReader(string(body)))
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	e.cfg.ClientID, e.cfg.ClientSecret, e.cfg.CertificatePEM, e.cfg.PrivateKeyPEM = "cert-app", "", string(certPEM), string(keyPEM)
	b := e.backend(graph.WithTransport(spy))
	mb, err := b.Mailbox(context.Background(), "t1", alice)
	require.NoError(t, err)
	assert.True(t, mb.Online)
	e.srv.ExpireTokens()
	_, err = b.Mailbox(context.Background(), "t1", alice)
	require.NoError(t, err)

	require.Len(t, assertions, 2)
	assert.NotEqual(t, assertions[0], assertions[1], "a new assertion for each token")
	sum := sha1.Sum(cert.Raw) //nolint:gosec // thumbprint
	sum256 := sha256.Sum256(cert.Raw)
	// The identity platform's documented assertion (certificate-credentials.md):
	// PS256, typ JWT, x5t#S256; aud, iss, sub, jti, nbf, exp.
	tok, err := jwt.Parse(assertions[0], func(tok *jwt.Token) (any, error) {
		assert.Equal(t, "PS256", tok.Method.Alg())
		assert.Equal(t, "JWT", tok.Header["typ"])
		assert.Equal(t, base64.RawURLEncoding.EncodeToString(sum256[:]), tok.Header["x5t#S256"])
		assert.Equal(t, base64.RawURLEncoding.EncodeToString(sum[:]), tok.Header["x5t"])
		return cert.PublicKey, nil
	}, jwt.WithValidMethods([]string{"PS256"}), jwt.WithAudience(e.cfg.TokenURL), jwt.WithIssuer("cert-app"),
		jwt.WithSubject("cert-app"), jwt.WithExpirationRequired())
	require.NoError(t, err)
	claims := tok.Claims.(jwt.MapClaims)
	assert.Equal(t, e.cfg.TokenURL, claims["aud"], "aud is the token endpoint, one string")
	assert.NotEmpty(t, claims["jti"])
	nbf, _ := claims.GetNotBefore()
	exp, _ := claims.GetExpirationTime()
	require.NotNil(t, nbf)
	require.NotNil(t, exp)
	assert.LessOrEqual(t, exp.Sub(nbf.Time), 10*time.Minute, "short-lived: 5-10 minutes after nbf at most")

	// Another key than the registered certificate's is refused.
	otherCert, otherKey, _ := newCert(t)
	e.cfg.CertificatePEM, e.cfg.PrivateKeyPEM = string(otherCert), string(otherKey)
	_, err = e.backend().Mailbox(context.Background(), "t1", alice)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "invalid_client")
	assert.NotContains(t, err.Error(), "PRIVATE KEY")
}

func TestValidateNamesFields(t *testing.T) {
	certPEM, keyPEM, _ := newCert(t)
	_, otherKey, _ := newCert(t)
	cases := []struct {
		cfg  graph.TenantConfig
		want []string
	}{
		{graph.TenantConfig{}, []string{"AzureTenantID", "ClientID", "ClientSecret"}},
		{graph.TenantConfig{AzureTenantID: "t", ClientID: "c", ClientSecret: secret, CertificatePEM: string(certPEM)}, []string{"not both"}},
		{graph.TenantConfig{AzureTenantID: "t", ClientID: "c", CertificatePEM: string(certPEM)}, []string{"PrivateKeyPEM"}},
		{graph.TenantConfig{AzureTenantID: "t", ClientID: "c", CertificatePEM: "junk", PrivateKeyPEM: string(keyPEM)}, []string{"CertificatePEM"}},
		{graph.TenantConfig{AzureTenantID: "t", ClientID: "c", CertificatePEM: string(certPEM), PrivateKeyPEM: string(otherKey)}, []string{"PrivateKeyPEM does not match"}},
		{graph.TenantConfig{AzureTenantID: "t", ClientID: "c", ClientSecret: secret, BaseURL: "graph.local"}, []string{"BaseURL"}},
		{graph.TenantConfig{AzureTenantID: "t", ClientID: "c", ClientSecret: secret, TokenURL: "::"}, []string{"TokenURL"}},
		{graph.TenantConfig{AzureTenantID: "t", ClientID: "c", ClientSecret: secret, MaxInFlightPerMailbox: -1, RequestsPer10Min: -1, Horizon: -1},
			[]string{"MaxInFlightPerMailbox", "RequestsPer10Min", "Horizon"}},
	}
	for i, c := range cases {
		err := c.cfg.Validate()
		require.Error(t, err, i)
		for _, w := range c.want {
			assert.Contains(t, err.Error(), w, i)
		}
		assert.NotContains(t, err.Error(), secret)
		assert.NotContains(t, err.Error(), "PRIVATE KEY")
	}
	assert.NoError(t, graph.TenantConfig{AzureTenantID: "t", ClientID: "c", ClientSecret: secret}.Validate())
	assert.NoError(t, graph.TenantConfig{AzureTenantID: "t", ClientID: "c", CertificatePEM: string(certPEM), PrivateKeyPEM: string(keyPEM)}.Validate())
}

// Neither the secret nor a token ever appears in an error.
func TestSecretsNeverInErrors(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	id := e.add(alice, graphtest.Event{Start: day0.Add(time.Hour)})
	good := e.cfg
	e.cfg.ClientSecret = secret + "-wrong"
	_, err := e.backend().Mailbox(context.Background(), "t1", alice)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "invalid_client")
	assert.NotContains(t, err.Error(), secret)

	e.cfg = good
	b := e.backend()
	_, err = b.GetMeeting(context.Background(), "t1", alice, "no-such-id")
	require.ErrorIs(t, err, calendar.ErrNotFound)
	assert.True(t, graph.HasCode(err, "ErrorItemNotFound"))
	e.srv.FailNext(alice, 10, http.StatusBadGateway, 0)
	_, err = b.GetMeeting(context.Background(), "t1", alice, id)
	require.Error(t, err)
	for _, s := range []string{secret, "emu-", "Bearer", "$select"} {
		assert.NotContains(t, err.Error(), s)
	}
	t.Log(err)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type fakeClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

func newCert(t *testing.T) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "mms"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err = x509.ParseCertificate(der)
	require.NoError(t, err)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), cert
}

// The PATCH was applied but its answer lost (connection reset): the retry
// meets 412, the re-read shows our key, the earlier result is reported and
// attendees are told once.
func TestUpdateAnswerLostIsNotRepeated(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	id := e.add(alice, graphtest.Event{Start: day0.Add(time.Hour)})
	var dropped atomic.Bool
	flaky := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && r.Method == http.MethodPatch && dropped.CompareAndSwap(false, true) {
			resp.Body.Close()
			return nil, errors.New("connection reset by peer")
		}
		return resp, err
	})
	b := e.backend(graph.WithTransport(flaky))
	m, err := b.GetMeeting(context.Background(), "t1", alice, id)
	require.NoError(t, err)
	res, err := b.UpdateMeeting(context.Background(), "t1", calendar.Update{Mailbox: alice, MeetingID: id, ETag: m.ETag,
		Body: strings.Replace(m.Body, oldBlock, newBlock, 1), IdempotencyKey: "lost/" + id})
	require.NoError(t, err)
	assert.True(t, dropped.Load())
	assert.Equal(t, 2, res.InvitesSent)
	st, _ := e.srv.Event(id)
	assert.Equal(t, 1, st.Writes)
	assert.Equal(t, st.ETag, res.ETag)
	assert.Equal(t, 2, e.srv.NotificationCount(id))
	var statuses []int
	for _, r := range e.srv.Requests(alice) {
		statuses = append(statuses, r.Status)
	}
	assert.Equal(t, []int{200, 200, 412, 200}, statuses) // GET, PATCH (answer lost), PATCH again, GET
}

// Waiting respects the context: a cancelled call stops waiting at once.
func TestWaitRespectsContext(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	id := e.add(alice, graphtest.Event{Start: day0.Add(time.Hour)})
	e.srv.FailNext(alice, 1, http.StatusTooManyRequests, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := e.b.GetMeeting(ctx, "t1", alice, id)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), time.Second)
}

// With every slot of the mailbox held for longer than the wait budget, a
// call gives up with ErrThrottled instead of blocking.
func TestSlotWaitBeyondBudget(t *testing.T) {
	e := newEnv(t, graphtest.Options{Latency: 600 * time.Millisecond})
	e.cfg.MaxInFlightPerMailbox = 1
	b := e.backend(graph.WithWaitBudget(200 * time.Millisecond))
	id := e.add(alice, graphtest.Event{Start: day0.Add(time.Hour)})
	_, err := b.Mailbox(context.Background(), "t1", bob) // token outside the race
	require.NoError(t, err)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := b.GetMeeting(context.Background(), "t1", alice, id)
			errs <- err
		}()
	}
	var ok, throttled int
	for range 2 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, graph.ErrThrottled):
			throttled++
		default:
			t.Fatal(err)
		}
	}
	assert.Equal(t, 1, ok)
	assert.Equal(t, 1, throttled)
	assert.Equal(t, 1, e.srv.MaxInFlight(alice))
}
