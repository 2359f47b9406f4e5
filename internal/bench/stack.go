package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/devstack"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/service"
	"github.com/openmms/mms/internal/store"
)

// runner holds what the scenarios share: the sandbox stack (started once,
// with a latency decorator that is 0 except in the overhead scenario).
type runner struct {
	o   Options
	dir string
	out io.Writer
	rep *Report

	st      *devstack.Stack
	stDir   string
	latency *Latency
	seq     int // numbers data directories and tenants
	http    *http.Client
}

func (r *runner) close() {
	if r.st != nil {
		r.st.Stop(context.Background())
		_ = os.RemoveAll(r.stDir)
		r.st, r.stDir = nil, ""
	}
}

func (r *runner) next() int { r.seq++; return r.seq }

// config is a stack's configuration in a new data directory.
func (r *runner) config(name string) (devstack.Config, error) {
	temporal, err := freeAddr()
	if err != nil {
		return devstack.Config{}, err
	}
	dir := filepath.Join(r.dir, fmt.Sprintf("%02d-%s", r.next(), name))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return devstack.Config{}, err
	}
	return devstack.Config{DataDir: dir, APIAddr: "127.0.0.1:0", TemporalAddr: temporal, UIAddr: "-",
		Logger: r.o.Logger, Service: service.Config{PageSize: r.o.PageSize, Concurrency: r.o.Concurrency,
			MaxConcurrentActivities: r.o.MaxConcurrentActivities}}, nil
}

// sandbox returns the shared sandbox stack, starting it on first use.
func (r *runner) sandbox(ctx context.Context) (*devstack.Stack, error) {
	if r.st != nil {
		return r.st, nil
	}
	cfg, err := r.config("sandbox")
	if err != nil {
		return nil, err
	}
	r.latency = &Latency{}
	cfg.Service.WrapCalendar = func(b calendar.Backend) calendar.Backend { r.latency.Backend = b; return r.latency }
	st, err := devstack.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	r.st, r.stDir = st, cfg.DataDir
	return st, nil
}

func (r *runner) client() *http.Client {
	if r.http == nil {
		r.http = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
			MaxIdleConns: 128, MaxIdleConnsPerHost: 128, IdleConnTimeout: time.Minute}}
	}
	return r.http
}

// post sends a JSON body to the stack's API and returns the status and body.
func (r *runner) post(ctx context.Context, st *devstack.Stack, path string, body any) (int, []byte, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", st.APIURL+path, bytes.NewReader(raw))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+st.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// trigger starts every user's migration through the API (quiet period 0)
// from clients goroutines.
func (r *runner) trigger(ctx context.Context, st *devstack.Stack, tenant string, users []string, clients int) error {
	work := make(chan string)
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range max(1, min(clients, len(users))) {
		wg.Go(func() {
			for u := range work {
				code, raw, err := r.post(ctx, st, "/v1/tenants/"+tenant+"/migrations",
					map[string]any{"user": u, "quietPeriodSeconds": 0})
				if err == nil && code != http.StatusAccepted {
					err = fmt.Errorf("start %s: %d %s", u, code, raw)
				}
				if err != nil {
					once.Do(func() { firstErr = err })
				}
			}
		})
	}
	for _, u := range users {
		work <- u
	}
	close(work)
	wg.Wait()
	return firstErr
}

// waitAll polls the store's summary until n users of the tenant have a
// final record; it fails on a Failed one or after within.
func waitAll(ctx context.Context, db *store.DB, tenant string, n int, every, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		sum, err := db.Summary(ctx, tenant, store.Filter{})
		if err != nil {
			return err
		}
		if sum[migration.StateFailed] > 0 {
			return fmt.Errorf("%d migrations of %s failed", sum[migration.StateFailed], tenant)
		}
		if sum[migration.StateSucceeded] >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %v of %d users", within, sum, n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

// checkMigrated verifies that the tenant's records count every meeting as
// succeeded with its invites sent.
func checkMigrated(ctx context.Context, db *store.DB, tenant string, users, meetings int) error {
	// The listing is paged: ask for one more record than there are users,
	// so that an extra Succeeded record still shows as a wrong count. Dry
	// runs (the bench starts none) are left out, as they were.
	ms, err := db.StatusRecords(ctx, tenant, store.Filter{State: migration.StateSucceeded, Limit: users + 1})
	if err != nil {
		return err
	}
	var recs, succeeded, invites, failed int
	for _, m := range ms {
		if m.DryRun {
			continue
		}
		recs, succeeded, invites, failed = recs+1, succeeded+m.SucceededMeeting, invites+m.InvitesUpdate, failed+m.FailedMeeting
	}
	if want := users * meetings; recs != users || succeeded != want || invites != want || failed != 0 {
		return fmt.Errorf("%s: %d records, %d meetings succeeded, %d with invites, %d failed; want %d, %d, %d, 0",
			tenant, recs, succeeded, invites, failed, users, want, want)
	}
	return nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Latency decorates a back end: each call costs Delay first (0: none).
type Latency struct {
	calendar.Backend
	delay atomic.Int64
}

// SetDelay sets the cost of each call.
func (l *Latency) SetDelay(d time.Duration) { l.delay.Store(int64(d)) }

func (l *Latency) wait(ctx context.Context) error {
	d := time.Duration(l.delay.Load())
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Mailbox implements calendar.Backend.
func (l *Latency) Mailbox(ctx context.Context, tenantID, user string) (calendar.Mailbox, error) {
	if err := l.wait(ctx); err != nil {
		return calendar.Mailbox{}, err
	}
	return l.Backend.Mailbox(ctx, tenantID, user)
}

// ListMeetings implements calendar.Backend.
func (l *Latency) ListMeetings(ctx context.Context, tenantID, mailbox string, from, to time.Time, cursor string, pageSize int) (calendar.Page, error) {
	if err := l.wait(ctx); err != nil {
		return calendar.Page{}, err
	}
	return l.Backend.ListMeetings(ctx, tenantID, mailbox, from, to, cursor, pageSize)
}

// GetMeeting implements calendar.Backend.
func (l *Latency) GetMeeting(ctx context.Context, tenantID, mailbox, id string) (calendar.Meeting, error) {
	if err := l.wait(ctx); err != nil {
		return calendar.Meeting{}, err
	}
	return l.Backend.GetMeeting(ctx, tenantID, mailbox, id)
}

// UpdateMeeting implements calendar.Backend.
func (l *Latency) UpdateMeeting(ctx context.Context, tenantID string, u calendar.Update) (calendar.UpdateResult, error) {
	if err := l.wait(ctx); err != nil {
		return calendar.UpdateResult{}, err
	}
	return l.Backend.UpdateMeeting(ctx, tenantID, u)
}

// EnsureTeamsMeeting implements calendar.Backend.
func (l *Latency) EnsureTeamsMeeting(ctx context.Context, tenantID, organizer, itemID string) (calendar.OnlineMeeting, error) {
	if err := l.wait(ctx); err != nil {
		return calendar.OnlineMeeting{}, err
	}
	return l.Backend.EnsureTeamsMeeting(ctx, tenantID, organizer, itemID)
}

// CountMeetings implements calendar.Counter when the decorated back end does.
func (l *Latency) CountMeetings(ctx context.Context, tenantID, mailbox string, from, to time.Time) (int, error) {
	c, ok := l.Backend.(calendar.Counter)
	if !ok {
		return 0, calendar.ErrUnsupported
	}
	if err := l.wait(ctx); err != nil {
		return 0, err
	}
	return c.CountMeetings(ctx, tenantID, mailbox, from, to)
}

var _ calendar.Counter = (*Latency)(nil)
