package caldav

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
)

// radicale is a Radicale server started for one test.
type radicale struct {
	URL string
	dir string
}

// testUsers are the htpasswd users of the test server (password = name+"pw").
var testUsers = []string{"alice", "bob", "carol", "mms"}

// startRadicale starts Radicale on 127.0.0.1 with a random free port, a
// temporary storage folder and plain htpasswd users, and stops it when the
// test ends. Without the binary the test is skipped, unless CI is set.
func startRadicale(t *testing.T) *radicale {
	t.Helper()
	bin, err := exec.LookPath("radicale")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("radicale is not installed (CI is set): %v", err)
		}
		t.Skip("radicale is not installed (apt-get install radicale); set CI to make this a failure")
	}
	dir := t.TempDir()
	var users strings.Builder
	for _, u := range testUsers {
		fmt.Fprintf(&users, "%s:%spw\n", u, u)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "users"), []byte(users.String()), 0o600))
	port := freePort(t)
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
	require.NoError(t, os.WriteFile(cfgPath, []byte(conf), 0o600))
	args := []string{bin, "--config", cfgPath}
	if emd, err := exec.LookPath("eatmydata"); err == nil {
		args = append([]string{emd}, args...) // no fsync: 2-3x faster writes
	}
	cmd := exec.Command(args[0], args[1:]...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
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
	r := &radicale{URL: fmt.Sprintf("http://127.0.0.1:%d/", port), dir: dir}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(r.URL)
		if err == nil {
			resp.Body.Close()
			break
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
	return r
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// request sends a raw request as user; it fails the test on a non-2xx status.
func (r *radicale) request(t *testing.T, user, method, path string, hdr map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(r.URL, "/")+path, strings.NewReader(body))
	require.NoError(t, err)
	req.SetBasicAuth(user, user+"pw")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	require.Truef(t, resp.StatusCode/100 == 2, "%s %s: %d %s", method, path, resp.StatusCode, data)
	return resp, string(data)
}

// mkcalendar creates /user/name/ (and the principal on first login).
func (r *radicale) mkcalendar(t *testing.T, user, name string) string {
	t.Helper()
	r.request(t, user, "PROPFIND", "/", map[string]string{"Depth": "0"}, "")
	path := "/" + user + "/" + name + "/"
	r.request(t, user, "MKCALENDAR", path, nil, `<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
<C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
</D:prop></D:set></C:mkcalendar>`)
	return path
}

// put stores an iCalendar resource and returns its path.
func (r *radicale) put(t *testing.T, user, path, ics string) string {
	t.Helper()
	r.request(t, user, http.MethodPut, path, map[string]string{"Content-Type": "text/calendar; charset=utf-8"}, ics)
	return path
}

func (r *radicale) get(t *testing.T, user, path string) (string, string) {
	t.Helper()
	resp, body := r.request(t, user, http.MethodGet, path, nil, "")
	return body, resp.Header.Get("ETag")
}

// mailMessage is one message the test SMTP server accepted.
type mailMessage struct {
	From string
	To   []string
	Data []byte
}

// mailServer is an in-process SMTP server recording every message.
type mailServer struct {
	Addr string
	Port int

	mu       sync.Mutex
	messages []mailMessage
	// failOnce: recipients refused (451) the first time they are given.
	failOnce map[string]bool
}

func startSMTP(t *testing.T) *mailServer {
	t.Helper()
	ms := &mailServer{failOnce: map[string]bool{}}
	s := smtp.NewServer(ms)
	s.Domain = "localhost"
	s.AllowInsecureAuth = true
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ms.Addr = l.Addr().String()
	ms.Port = l.Addr().(*net.TCPAddr).Port
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return ms
}

func (ms *mailServer) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &mailSession{srv: ms}, nil
}

func (ms *mailServer) failFirst(addr string) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	ms.failOnce[addr] = true
}

func (ms *mailServer) all() []mailMessage {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]mailMessage(nil), ms.messages...)
}

// to returns the messages received for one recipient.
func (ms *mailServer) to(addr string) []mailMessage {
	var out []mailMessage
	for _, m := range ms.all() {
		for _, r := range m.To {
			if strings.EqualFold(r, addr) {
				out = append(out, m)
			}
		}
	}
	return out
}

type mailSession struct {
	srv  *mailServer
	from string
	to   []string
}

func (s *mailSession) Reset()        { s.from, s.to = "", nil }
func (s *mailSession) Logout() error { return nil }
func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if s.srv.failOnce[to] {
		delete(s.srv.failOnce, to)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(s.to) == 0 {
		return errors.New("no recipients")
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.messages = append(s.srv.messages, mailMessage{From: s.from, To: append([]string(nil), s.to...), Data: data})
	return nil
}

var _ smtp.Backend = (*mailServer)(nil)

// ctx returns a test context with a deadline.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}
