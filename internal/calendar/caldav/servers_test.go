package caldav

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/openmms/mms/internal/calendar/caldav/caldavtest"
)

// radicale is a Radicale server started for one test.
type radicale struct {
	URL string
}

// testUsers are the htpasswd users of the test server (password = name+"pw").
var testUsers = []string{"alice", "bob", "carol", "mms"}

// startRadicale starts Radicale (caldavtest.StartRadicale) with testUsers.
func startRadicale(t *testing.T) *radicale {
	t.Helper()
	users := map[string]string{}
	for _, u := range testUsers {
		users[u] = u + "pw"
	}
	return &radicale{URL: caldavtest.StartRadicale(t, users)}
}

func (r *radicale) as(user string) caldavtest.DAV {
	return caldavtest.DAV{URL: r.URL, User: user, Password: user + "pw"}
}

// request sends a raw request as user; it fails the test on a non-2xx status.
func (r *radicale) request(t *testing.T, user, method, path string, hdr map[string]string, body string) (*http.Response, string) {
	t.Helper()
	return r.as(user).Do(t, method, path, hdr, body)
}

// mkcalendar creates /user/name/ (and the principal on first login).
func (r *radicale) mkcalendar(t *testing.T, user, name string) string {
	t.Helper()
	return r.as(user).MkCalendar(t, name)
}

// put stores an iCalendar resource and returns its path.
func (r *radicale) put(t *testing.T, user, path, ics string) string {
	t.Helper()
	return r.as(user).Put(t, path, ics)
}

func (r *radicale) get(t *testing.T, user, path string) (string, string) {
	t.Helper()
	return r.as(user).Get(t, path)
}

func startSMTP(t *testing.T) *caldavtest.SMTPRecorder { return caldavtest.StartSMTP(t) }

func freePort(t *testing.T) int { return caldavtest.FreePort(t) }

// ctx returns a test context with a deadline.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}
