// Package caldavtest runs the servers the CalDAV back end is tested
// against: a Radicale CalDAV server in a child process and an in-process
// SMTP server that records every message (for iMIP). Both stop when the
// test ends. Only tests import it.
package caldavtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-smtp"
)

// StartRadicale starts Radicale on 127.0.0.1 with a free port, a temporary
// storage folder and plain htpasswd users (name -> password), answering
// once the server is up; it is stopped when the test ends. The result is
// the server's root URL with a trailing slash.
//
// Without the radicale binary the test is skipped, unless the environment
// variable CI is set: then it fails.
func StartRadicale(t testing.TB, users map[string]string) (baseURL string) {
	t.Helper()
	bin, err := exec.LookPath("radicale")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("radicale is not installed (CI is set): %v", err)
		}
		t.Skip("radicale is not installed (apt-get install radicale); set CI to make this a failure")
	}
	dir := t.TempDir()
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	sort.Strings(names)
	var htpasswd strings.Builder
	for _, u := range names {
		fmt.Fprintf(&htpasswd, "%s:%s\n", u, users[u])
	}
	must(t, os.WriteFile(filepath.Join(dir, "users"), []byte(htpasswd.String()), 0o600))
	port := FreePort(t)
	conf := fmt.Sprintf(`[server]
hosts = 127.0.0.1:%d
[auth]
type = htpasswd
htpasswd_filename = %s
htpasswd_encryption = plain
delay = 0
[rights]
type = authenticated
[storage]
filesystem_folder = %s
[web]
type = none
[logging]
level = warning
`, port, filepath.Join(dir, "users"), filepath.Join(dir, "collections"))
	cfgPath := filepath.Join(dir, "config")
	must(t, os.WriteFile(cfgPath, []byte(conf), 0o600))
	args := []string{bin, "--config", cfgPath}
	if emd, err := exec.LookPath("eatmydata"); err == nil {
		args = append([]string{emd}, args...) // no fsync: 2-3x faster writes
	}
	cmd := exec.Command(args[0], args[1:]...)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	must(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("radicale output:\n%s", logs.String())
		}
	})
	baseURL = fmt.Sprintf("http://127.0.0.1:%d/", port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(baseURL)
		if err == nil {
			resp.Body.Close()
			return baseURL
		}
		select {
		case <-done:
			t.Fatalf("radicale exited:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("radicale did not answer: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// FreePort returns a TCP port free on 127.0.0.1 at the time of the call.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// DAV sends raw WebDAV requests to a server as one user, to set a test
// calendar up and to look at it afterwards.
type DAV struct {
	URL      string // the server's root, as StartRadicale returns it
	User     string
	Password string
}

// Do sends a request to path (absolute, from the server's root) and
// returns the response (its body read) and the body; a status other than
// 2xx fails the test.
func (d DAV) Do(t testing.TB, method, path string, hdr map[string]string, body string) (*http.Response, string) {
	t.Helper()
	resp, data := d.Try(t, method, path, hdr, body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	return resp, data
}

// Try is Do without the status check.
func (d DAV) Try(t testing.TB, method, path string, hdr map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(d.URL, "/")+path, strings.NewReader(body))
	must(t, err)
	req.SetBasicAuth(d.User, d.Password)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

// MkCalendar creates the calendar /<user>/<name>/ for VEVENTs (logging in
// first, which makes Radicale create the principal) and returns its path.
func (d DAV) MkCalendar(t testing.TB, name string) string {
	t.Helper()
	d.Do(t, "PROPFIND", "/", map[string]string{"Depth": "0"}, "")
	path := "/" + d.User + "/" + name + "/"
	d.Do(t, "MKCALENDAR", path, nil, `<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
<C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
</D:prop></D:set></C:mkcalendar>`)
	return path
}

// Put stores an iCalendar resource unconditionally and returns its path.
func (d DAV) Put(t testing.TB, path, ics string) string {
	t.Helper()
	d.Do(t, http.MethodPut, path, map[string]string{"Content-Type": "text/calendar; charset=utf-8"}, ics)
	return path
}

// Get returns a resource and its ETag.
func (d DAV) Get(t testing.TB, path string) (body, etag string) {
	t.Helper()
	resp, body := d.Do(t, http.MethodGet, path, nil, "")
	return body, resp.Header.Get("ETag")
}

// Message is one message the SMTP recorder accepted.
type Message struct {
	From string   // envelope sender
	To   []string // envelope recipients
	Data []byte   // the message as received (headers and body)
}

// Calendar decodes an iMIP message: its headers and the iCalendar object
// of its body (quoted-printable decoded). A message that is not one fails
// the test.
func (m Message) Calendar(t testing.TB) (mail.Header, *ical.Calendar) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	must(t, err)
	var rd io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		rd = quotedprintable.NewReader(rd)
	}
	raw, err := io.ReadAll(rd)
	must(t, err)
	cal, err := ical.NewDecoder(bytes.NewReader(raw)).Decode()
	if err != nil {
		t.Fatalf("not an iCalendar message: %v\n%s", err, m.Data)
	}
	return msg.Header, cal
}

// SMTPRecorder is an in-process SMTP server (no TLS, no authentication)
// that records every message it accepts.
type SMTPRecorder struct {
	Addr string // host:port
	Host string // 127.0.0.1
	Port int

	mu       sync.Mutex
	messages []Message
	failOnce map[string]bool
}

// StartSMTP starts an SMTP recorder on 127.0.0.1 with a free port; it is
// closed when the test ends.
func StartSMTP(t testing.TB) *SMTPRecorder {
	t.Helper()
	rec := &SMTPRecorder{failOnce: map[string]bool{}, Host: "127.0.0.1"}
	s := smtp.NewServer(rec)
	s.Domain = "localhost"
	s.AllowInsecureAuth = true
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	rec.Addr = l.Addr().String()
	rec.Port = l.Addr().(*net.TCPAddr).Port
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return rec
}

// FailFirst makes the recorder refuse addr (451, try again later) the next
// time it is given as a recipient.
func (r *SMTPRecorder) FailFirst(addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failOnce[addr] = true
}

// Messages returns every message received so far, in order.
func (r *SMTPRecorder) Messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.messages...)
}

// To returns the messages received for one recipient (case-insensitive).
func (r *SMTPRecorder) To(addr string) []Message {
	var out []Message
	for _, m := range r.Messages() {
		for _, rcpt := range m.To {
			if strings.EqualFold(rcpt, addr) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// NewSession implements smtp.Backend.
func (r *SMTPRecorder) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &session{rec: r}, nil
}

var _ smtp.Backend = (*SMTPRecorder)(nil)

type session struct {
	rec  *SMTPRecorder
	from string
	to   []string
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	if s.rec.failOnce[to] {
		delete(s.rec.failOnce, to)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(s.to) == 0 {
		return errors.New("no recipients")
	}
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	s.rec.messages = append(s.rec.messages, Message{From: s.from, To: append([]string(nil), s.to...), Data: data})
	return nil
}
