package graphtest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmms/mms/internal/calendar/graph/graphtest"
)

type client struct {
	t     *testing.T
	ts    *httptest.Server
	token string
}

func setup(t *testing.T, opts graphtest.Options) (*graphtest.Server, *client) {
	srv := graphtest.New(opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	srv.AddApp("tid", "app", "pw")
	srv.AddUser("tid", "alice@contoso.com", "Alice", false)
	srv.AddUser("tid", "carol@contoso.com", "Carol", true)
	c := &client{t: t, ts: ts}
	resp, err := http.PostForm(ts.URL+"/tid/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {"app"}, "client_secret": {"pw"}, "scope": {"https://graph.microsoft.com/.default"}})
	require.NoError(t, err)
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	resp.Body.Close()
	require.NotEmpty(t, tok.AccessToken)
	c.token = tok.AccessToken
	return srv, c
}

func (c *client) do(method, path string, header map[string]string, body string) (int, http.Header, map[string]any) {
	c.t.Helper()
	target := path
	if !strings.HasPrefix(path, "http") {
		target = c.ts.URL + "/v1.0" + path
	}
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	require.NoError(c.t, err)
	req.Header.Set("Authorization", "Bearer "+c.token)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, resp.Header, out
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func TestTokenEndpointErrors(t *testing.T) {
	_, c := setup(t, graphtest.Options{})
	post := func(v url.Values) (int, map[string]any) {
		resp, err := http.PostForm(c.ts.URL+"/tid/oauth2/v2.0/token", v)
		require.NoError(t, err)
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	st, m := post(url.Values{"grant_type": {"client_credentials"}, "client_id": {"app"}, "client_secret": {"bad"}, "scope": {"https://graph.microsoft.com/.default"}})
	assert.Equal(t, http.StatusUnauthorized, st)
	assert.Equal(t, "invalid_client", m["error"])
	assert.NotContains(t, m["error_description"], "bad")
	st, m = post(url.Values{"grant_type": {"client_credentials"}, "client_id": {"app"}, "client_secret": {"pw"}, "scope": {"Calendars.Read"}})
	assert.Equal(t, http.StatusBadRequest, st)
	assert.Equal(t, "invalid_scope", m["error"])

	st, _, body := (&client{t: t, ts: c.ts, token: "nope"}).do("GET", "/users/alice@contoso.com", nil, "")
	assert.Equal(t, http.StatusUnauthorized, st)
	assert.Equal(t, "InvalidAuthenticationToken", errCode(body))
}

func TestSelectPreferPagingAndExtendedProperties(t *testing.T) {
	srv, c := setup(t, graphtest.Options{})
	start := time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)
	for i := range 5 {
		_, err := srv.AddEvent("alice@contoso.com", graphtest.Event{Subject: "s", Start: start.Add(time.Duration(i) * time.Hour),
			End: start.Add(time.Duration(i)*time.Hour + 30*time.Minute), Body: "a & b", BodyType: "text"})
		require.NoError(t, err)
	}
	q := "/users/alice@contoso.com/calendarView?startDateTime=2030-01-07T00:00:00Z&endDateTime=2030-01-08T00:00:00Z&$top=2&$select=subject,body"
	st, _, page := c.do("GET", q, map[string]string{"Prefer": `outlook.body-content-type="text"`}, "")
	require.Equal(t, http.StatusOK, st)
	items := page["value"].([]any)
	require.Len(t, items, 2)
	first := items[0].(map[string]any)
	assert.ElementsMatch(t, []string{"@odata.etag", "id", "subject", "body"}, keys(first))
	assert.Equal(t, map[string]any{"contentType": "text", "content": "a & b"}, first["body"])
	next, _ := page["@odata.nextLink"].(string)
	require.True(t, strings.HasPrefix(next, c.ts.URL+"/v1.0/"), next)
	n := 2
	for next != "" {
		st, _, page = c.do("GET", next, nil, "")
		require.Equal(t, http.StatusOK, st)
		n += len(page["value"].([]any))
		next, _ = page["@odata.nextLink"].(string)
	}
	assert.Equal(t, 5, n)
	// HTML by default: the text body is wrapped.
	id := first["id"].(string)
	_, _, ev := c.do("GET", "/users/alice@contoso.com/events/"+id, nil, "")
	assert.Contains(t, ev["body"].(map[string]any)["content"], `<div class="PlainText">a &amp; b</div>`)

	// PATCH: etag checked, extended property stored and expanded, read-only refused.
	etag := ev["@odata.etag"].(string)
	prop := "String {00000000-0000-0000-0000-000000000001} Name k"
	st, _, body := c.do("PATCH", "/users/alice@contoso.com/events/"+id, map[string]string{"If-Match": `W/"stale"`}, `{"subject":"x"}`)
	assert.Equal(t, http.StatusPreconditionFailed, st)
	assert.Equal(t, "ErrorIrresolvableConflict", errCode(body))
	st, _, body = c.do("PATCH", "/users/alice@contoso.com/events/"+id, nil, `{"onlineMeeting":{"joinUrl":"x"}}`)
	assert.Equal(t, http.StatusBadRequest, st)
	assert.Equal(t, "ErrorInvalidPropertyForOperation", errCode(body))
	st, _, body = c.do("PATCH", "/users/alice@contoso.com/events/"+id, map[string]string{"If-Match": etag},
		`{"singleValueExtendedProperties":[{"id":"`+prop+`","value":"v1"}]}`)
	require.Equal(t, http.StatusOK, st)
	assert.NotEqual(t, etag, body["@odata.etag"])
	_, _, ev = c.do("GET", "/users/alice@contoso.com/events/"+id+"?$select=subject&$expand="+
		url.QueryEscape("singleValueExtendedProperties($filter=id eq '"+prop+"')"), nil, "")
	assert.Equal(t, []any{map[string]any{"id": prop, "value": "v1"}}, ev["singleValueExtendedProperties"])
	st2, ok := srv.Event(id)
	require.True(t, ok)
	assert.Len(t, st2.ETags, 2)
	assert.Equal(t, 0, srv.NotificationCount(""), "no attendees, nobody notified")
}

func TestOnPremisesAndThrottling(t *testing.T) {
	srv, c := setup(t, graphtest.Options{RequestsPer10Min: 2})
	st, _, body := c.do("GET", "/users/carol@contoso.com/calendar", nil, "")
	assert.Equal(t, http.StatusNotFound, st)
	assert.Equal(t, "MailboxNotEnabledForRESTAPI", errCode(body))
	st, _, _ = c.do("GET", "/users/carol@contoso.com", nil, "")
	assert.Equal(t, http.StatusOK, st)

	for range 2 {
		st, _, _ = c.do("GET", "/users/alice@contoso.com/calendar", nil, "")
		assert.Equal(t, http.StatusOK, st)
	}
	st, h, body := c.do("GET", "/users/alice@contoso.com/calendar", nil, "")
	assert.Equal(t, http.StatusTooManyRequests, st)
	assert.Equal(t, "ApplicationThrottled", errCode(body))
	assert.Equal(t, "600", h.Get("Retry-After"))
	assert.Equal(t, 0, srv.EarlyRequests("alice@contoso.com"))
	// Not waiting for the Retry-After: counted as early, throttled again.
	st, _, _ = c.do("GET", "/users/alice@contoso.com/calendar", nil, "")
	assert.Equal(t, http.StatusTooManyRequests, st)
	assert.Equal(t, 1, srv.EarlyRequests("alice@contoso.com"))
	assert.Equal(t, map[string]int{"budget": 2}, srv.Throttled("alice@contoso.com"))
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// SlowNext: the write is made at once, the answer comes late; a client
// that gives up first never sees it, yet the event was changed.
func TestSlowAnswers(t *testing.T) {
	srv, c := setup(t, graphtest.Options{})
	start := time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)
	id, err := srv.AddEvent("alice@contoso.com", graphtest.Event{Subject: "s", Start: start, End: start.Add(time.Hour), Body: "b"})
	require.NoError(t, err)
	before, _ := srv.Event(id)
	srv.SlowNext("alice@contoso.com", 1, 400*time.Millisecond)

	req, err := http.NewRequest("PATCH", c.ts.URL+"/v1.0/users/alice@contoso.com/events/"+id,
		strings.NewReader(`{"subject":"late"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("If-Match", before.ETag)
	began := time.Now()
	_, err = (&http.Client{Timeout: 100 * time.Millisecond}).Do(req)
	require.Error(t, err, "the answer is held longer than the client waits")
	after, _ := srv.Event(id)
	assert.Equal(t, "late", after.Subject, "carried out before the answer")
	assert.Equal(t, 1, after.Writes)

	// It stays in flight until answered, 400 ms after it came.
	assert.Equal(t, 1, srv.MaxInFlight("alice@contoso.com"))
	require.Eventually(t, func() bool { return srv.Requests("alice@contoso.com")[0].Status != 0 }, 2*time.Second, 10*time.Millisecond)
	assert.GreaterOrEqual(t, time.Since(began), 400*time.Millisecond)
	st, _, _ := c.do("GET", "/users/alice@contoso.com/events/"+id, nil, "")
	assert.Equal(t, http.StatusOK, st)
	log := srv.Requests("alice@contoso.com")
	require.Len(t, log, 2)
	assert.Equal(t, 400*time.Millisecond, log[0].Delay)
	assert.Equal(t, http.StatusOK, log[0].Status)
	assert.Zero(t, log[1].Delay)
}
