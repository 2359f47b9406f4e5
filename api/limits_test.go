package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openmms/mms/internal/store"
)

// stall opens a connection that sends a request declaring a 100-byte body
// and then only its first byte (issue 18, finding 6).
func stall(t *testing.T, base, token string) net.Conn {
	t.Helper()
	return stallPath(t, base, "/v1/tenants/contoso/migrations", token)
}

func stallPath(t *testing.T, base, path, token string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req := "POST " + path + " HTTP/1.1\r\nHost: mms\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"
	if token != "" {
		req += "Authorization: Bearer " + token + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n{"); err != nil {
		t.Fatal(err)
	}
	return conn
}

// A body that stalls is cut off at the read deadline, with or without a
// token: before, the connection stayed open for minutes.
func TestStalledBodyIsCutOff(t *testing.T) {
	srv, db := newAPIWith(t, func(s *Server) { s.BodyTimeout = 300 * time.Millisecond })
	admin, _ := db.CreateToken(context.Background(), "admin", "", store.RoleAdmin)
	for name, tok := range map[string]string{"no token": "", "admin token": admin} {
		start := time.Now()
		conn := stall(t, srv.URL, tok)
		// The test's own bound: far above the deadline, far below minutes.
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.Copy(io.Discard, conn) // until the server closes
		if elapsed := time.Since(start); err != nil || elapsed > 5*time.Second {
			t.Errorf("%s: connection held %v (err %v), want closed soon after 300ms", name, elapsed, err)
		}
	}
}

// Beyond MaxRequestsPerClient requests in flight from one address the
// answer is 429 with Retry-After; once they end, requests pass again.
func TestPerClientLimit(t *testing.T) {
	srv, db := newAPIWith(t, func(s *Server) { s.MaxRequestsPerClient = 2; s.BodyTimeout = time.Minute })
	admin, _ := db.CreateToken(context.Background(), "admin", "", store.RoleAdmin)
	// The two stalled requests are opened one after the other: opened in
	// the same instant, the second was sometimes not handed to a handler
	// within 10 s in runs on PostgreSQL (noted in the issue 18 closing note;
	// the limiter itself counts whatever reaches it).
	a := stall(t, srv.URL, admin)
	time.Sleep(100 * time.Millisecond)
	b := stall(t, srv.URL, admin)
	time.Sleep(100 * time.Millisecond)
	until := func(want int) *http.Response {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			req, _ := http.NewRequest("GET", srv.URL+"/v1/tenants", nil)
			req.Header.Set("Authorization", "Bearer "+admin)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == want {
				return resp
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET /v1/tenants: %d, want %d", resp.StatusCode, want)
			}
		}
	}
	if resp := until(http.StatusTooManyRequests); resp.Header.Get("Retry-After") == "" {
		t.Fatalf("429 without Retry-After: %v", resp.Header)
	}
	a.Close()
	b.Close()
	until(http.StatusOK)
}

// 100,000 bad phone numbers in one request (600 KB in the probe) got a
// 10.4 MB answer; now the answer lists 20 errors and counts them all.
func TestManyErrorsGetASmallAnswer(t *testing.T) {
	srv, db := newAPI(t)
	admin, _ := db.CreateToken(context.Background(), "admin", "", store.RoleAdmin)
	body := `{"profile":{"meetingType":"Teams","conferenceId":"123456","tollFreeNumbers":["x"` +
		strings.Repeat(`,"x"`, 99999) + `]}}`
	code, out := call(t, "PUT", srv.URL+"/v1/tenants/contoso/users/admin@contoso.com", admin, body)
	var res struct{ Error Error }
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 400 {
		t.Fatalf("%d %.300s", code, out)
	}
	listed := 0
	for sc := bufio.NewScanner(strings.NewReader(res.Error.Message)); sc.Scan(); {
		if strings.Contains(sc.Text(), "tollFreeNumbers[") {
			listed++
		}
	}
	if len(out) > 4096 || listed != MaxListedErrors || res.Error.Count != 100000 ||
		!strings.Contains(res.Error.Message, "99980 more errors") {
		t.Fatalf("answer of %d bytes, %d listed, count %d:\n%.2000s", len(out), listed, res.Error.Count, out)
	}
}
