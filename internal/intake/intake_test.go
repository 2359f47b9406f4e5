package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/openmms/mms/internal/embeddedtemporal"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/rules"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/store/storetest"
	"github.com/openmms/mms/internal/temporalclient"
	"github.com/openmms/mms/workflows"
)

// The tests hand migrations to a real Temporal: the embedded dev server
// that `mms dev` runs, started once for the package. No worker runs, so a
// started workflow waits with its trigger, which is all intake promises.
var (
	temporalOnce sync.Once
	temporalSrv  *embeddedtemporal.Server
	temporalDir  string
	temporalCli  client.Client
	temporalErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if temporalCli != nil {
		temporalCli.Close()
	}
	if temporalSrv != nil {
		temporalSrv.Stop()
	}
	if temporalDir != "" {
		_ = os.RemoveAll(temporalDir)
	}
	os.Exit(code)
}

func realTemporal(t *testing.T) client.Client {
	t.Helper()
	temporalOnce.Do(func() {
		if temporalDir, temporalErr = os.MkdirTemp("", "intake-temporal-"); temporalErr != nil {
			return
		}
		ctx := context.Background()
		quiet := slog.New(slog.DiscardHandler)
		if temporalSrv, temporalErr = embeddedtemporal.Start(ctx, embeddedtemporal.Options{DataDir: temporalDir, FrontendAddr: "127.0.0.1:0",
			SearchAttributes: temporalclient.SearchAttributes, Logger: quiet}); temporalErr != nil {
			return
		}
		temporalCli, temporalErr = temporalclient.Dial(ctx, temporalclient.Config{Address: temporalSrv.FrontendAddr(),
			Namespace: embeddedtemporal.DefaultNamespace}, quiet)
	})
	if temporalErr != nil {
		t.Fatalf("embedded Temporal: %v", temporalErr)
	}
	return temporalCli
}

// logs records what the service logs, to check the state transitions it
// reports.
type logs struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logs) WithGroup(string) slog.Handler            { return l }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, b.String())
	return nil
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.msgs, "\n")
}

const tenant = "contoso"

// newStore is a fresh database with one tenant and two users on bridge b1.
func newStore(t *testing.T) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, storetest.Default(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.PutTenant(ctx, store.Tenant{ID: tenant, DisplayName: tenant, Settings: migration.DefaultSettings()}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"a@contoso.com", "b@contoso.com"} {
		if err := db.PutUser(ctx, store.User{TenantID: tenant, ID: u, DisplayName: u, Profile: json.RawMessage(
			`{"meetingType":"Teams","provider":"Microsoft","conferenceId":"123456","tollNumber":"+1 425-555-0100","bridgeId":"b1"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// mustFail checks err's kind, subject and message.
func mustFail(t *testing.T, err error, kind error, subject, message string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, kind) || e.Subject != subject || !strings.Contains(e.Message, message) {
		t.Fatalf("error %#v, want %v about %q with %q", err, kind, subject, message)
	}
	return e
}

func describe(t *testing.T, c client.Client, id string) error {
	t.Helper()
	_, err := c.DescribeWorkflowExecution(context.Background(), id, "")
	return err
}

func TestStartMergesIntoOnePendingRecordAndOneWorkflow(t *testing.T) {
	c := realTemporal(t)
	db := newStore(t)
	var log logs
	s := New(db, c, slog.New(&log), nil)
	ctx := context.Background()
	quiet := 3600
	first, err := s.Start(ctx, tenant, "alice", Request{User: "a@contoso.com", QuietPeriodSeconds: &quiet})
	if err != nil {
		t.Fatal(err)
	}
	if first.State != migration.StatePending || first.TriggerCount != 1 || first.LastTrigger != "manual by alice" ||
		first.MigrationType != migration.TypeToSameType {
		t.Fatalf("first start: %+v", first)
	}
	if err := describe(t, c, workflows.WorkflowID(tenant, "a@contoso.com")); err != nil {
		t.Fatalf("the user's workflow was not started: %v", err)
	}
	second, err := s.Start(ctx, tenant, "bob", Request{User: "a@contoso.com", Source: migration.SourceSfB, Target: migration.TargetTeams})
	if err != nil {
		t.Fatal(err)
	}
	// Merged by meaning (issue 16; it used to be the latest's SfbToTeams):
	// the first asked for every meeting, the second for Teams.
	if second.CorrelationID != first.CorrelationID || second.TriggerCount != 2 || second.MigrationType != migration.TypeAllToTeams ||
		second.LastMessage != "2 triggers merged: manual by alice; manual by bob" {
		t.Fatalf("second start did not merge into the first: %+v", second)
	}
	if !strings.Contains(log.String(), "migration state from=none to=Pending") {
		t.Fatalf("the first Pending was not reported:\n%s", log.String())
	}

	// Cancel reaches the waiting workflow; a user without one is a conflict.
	if err := s.Cancel(ctx, tenant, "a@contoso.com", "alice", "changed my mind"); err != nil {
		t.Fatal(err)
	}
	e := mustFail(t, s.Cancel(ctx, tenant, "b@contoso.com", "alice", ""), ErrConflict, "migration", `for "b@contoso.com"`)
	if e.Code != CodeNotRunning {
		t.Fatalf("cancel without a workflow: code %q", e.Code)
	}
	mustFail(t, s.Cancel(ctx, tenant, "nobody@contoso.com", "alice", ""), ErrNotFound, "user", `user "nobody@contoso.com" not found in tenant "contoso"`)
	mustFail(t, s.Cancel(ctx, tenant, "a@contoso.com", "alice", strings.Repeat("x", 501)), ErrInvalid, "reason", "reason: at most 500 characters")
}

func TestStartChecksItsInputBeforeAnything(t *testing.T) {
	// No Temporal: a refused request must not reach it.
	s := New(newStore(t), nil, nil, nil)
	ctx := context.Background()
	five, minus := 5, -1
	for _, c := range []struct {
		dry           bool
		r             Request
		kind          error
		field, substr string
	}{
		{false, Request{}, ErrInvalid, "user", "user: required"},
		{false, Request{User: "a@contoso.com", Source: "Zoom"}, ErrInvalid, "sourceMeetingType", `sourceMeetingType: must be All, SfB or Teams, not "Zoom"`},
		{false, Request{User: "a@contoso.com", Target: "Webex"}, ErrInvalid, "targetMeetingType", "targetMeetingType: must be Current or Teams"},
		{false, Request{User: "a@contoso.com", QuietPeriodSeconds: &minus}, ErrInvalid, "quietPeriodSeconds", "must be between 0 and 86400, not -1"},
		{true, Request{User: "a@contoso.com", QuietPeriodSeconds: &five}, ErrInvalid, "quietPeriodSeconds", "a dry run starts at once"},
		// The first field at fault is the one named.
		{true, Request{Source: "Zoom", QuietPeriodSeconds: &five}, ErrInvalid, "user", "user: required"},
		{false, Request{User: "nobody@contoso.com"}, ErrNotFound, "user", `user "nobody@contoso.com" not found in tenant "contoso"`},
		{true, Request{User: "a@fabrikam.com"}, ErrNotFound, "user", `not found in tenant "contoso"`},
	} {
		start := s.Start
		if c.dry {
			start = s.DryRun
		}
		_, err := start(ctx, tenant, "alice", c.r)
		mustFail(t, err, c.kind, c.field, c.substr)
	}
	if recs, _ := s.db.StatusRecords(ctx, tenant, store.Filter{Limit: 10}); len(recs) != 0 {
		t.Fatalf("refused starts left records: %+v", recs)
	}
}

func TestDryRunHasARecordAndAnExecutionOfItsOwn(t *testing.T) {
	c := realTemporal(t)
	s := New(newStore(t), c, nil, nil)
	ctx := context.Background()
	real, err := s.Start(ctx, tenant, "alice", Request{User: "b@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	dry, err := s.DryRun(ctx, tenant, "alice", Request{User: "b@contoso.com", Target: migration.TargetTeams})
	if err != nil {
		t.Fatal(err)
	}
	if dry.CorrelationID == real.CorrelationID || !dry.DryRun || dry.LastTrigger != "dry run by alice" {
		t.Fatalf("dry run %+v merged with or looks like the real one %+v", dry, real)
	}
	if err := describe(t, c, workflows.DryRunWorkflowID(tenant, "b@contoso.com", dry.CorrelationID)); err != nil {
		t.Fatalf("the dry run's own execution was not started: %v", err)
	}
}

// unreachable is a Temporal client to a port nobody listens on.
func unreachable(t *testing.T) client.Client {
	t.Helper()
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: nil})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// A hand-off Temporal refuses ends its record Failed (no run would close
// it) and says so; the event stays recorded, and posting it again with the
// same ID finishes the hand-off.
func TestUnavailableTemporalFailsTheRecordAndTheEventCanBeRetried(t *testing.T) {
	db := newStore(t)
	var log logs
	down := New(db, unreachable(t), slog.New(&log), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ev := Event{ID: "e1", Event: rules.Event{Type: rules.ConferenceIDChanged, User: "a@contoso.com", ConferenceID: "7654321"}}
	hctx, hcancel := context.WithTimeout(ctx, 3*time.Second)
	_, err := down.PostEvents(hctx, tenant, "provisioning", []Event{ev})
	hcancel()
	mustFail(t, err, ErrUnavailable, "temporal", "could not hand the migration to Temporal")
	rec, err := db.LatestStatusRecord(ctx, tenant, "a@contoso.com")
	if err != nil || rec.State != migration.StateFailed || !strings.Contains(rec.LastMessage, "could not hand the migration to Temporal") {
		t.Fatalf("record after the failed hand-off: %+v, %v", rec, err)
	}
	if !strings.Contains(log.String(), "migration state from=Pending to=Failed") {
		t.Fatalf("the Failed transition was not reported:\n%s", log.String())
	}
	if evs, _ := db.EventsByID(ctx, tenant, "e1"); len(evs) != 1 || !evs[0].Triggered || evs[0].CorrelationID != "" {
		t.Fatalf("event after the failed hand-off: %+v", evs)
	}

	up := New(db, realTemporal(t), nil, nil)
	out, err := up.PostEvents(ctx, tenant, "provisioning", []Event{ev})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].CorrelationID == "" || out[0].CorrelationID == rec.CorrelationID {
		t.Fatalf("repeat: %+v", out)
	}
	if evs, _ := db.EventsByID(ctx, tenant, "e1"); len(evs) != 1 || evs[0].CorrelationID != out[0].CorrelationID {
		t.Fatalf("the event is not linked to its migration: %+v", evs)
	}
	if u, _ := db.User(ctx, tenant, "a@contoso.com"); !strings.Contains(string(u.Profile), "7654321") {
		t.Fatalf("profile: %s", u.Profile)
	}

	// A dry run Temporal refuses fails its record too.
	dctx, dcancel := context.WithTimeout(ctx, 3*time.Second)
	_, err = down.DryRun(dctx, tenant, "alice", Request{User: "b@contoso.com"})
	dcancel()
	mustFail(t, err, ErrUnavailable, "temporal", "could not hand the dry run to Temporal")
	if recs, _ := db.StatusRecords(ctx, tenant, store.Filter{UserID: "b@contoso.com", Limit: 10, DryRun: true}); len(recs) != 1 || recs[0].State != migration.StateFailed {
		t.Fatalf("dry-run record: %+v", recs)
	}
}

func TestPostEventsChecksTheWholeBatchFirst(t *testing.T) {
	db := newStore(t)
	s := New(db, nil, nil, nil)
	ctx := context.Background()
	good := Event{Event: rules.Event{Type: rules.SIPAddressChanged, User: "a@contoso.com"}}
	for _, c := range []struct {
		batch         []Event
		kind          error
		field, substr string
	}{
		{[]Event{{Event: rules.Event{User: "a@contoso.com"}}}, ErrInvalid, "event", "type: required"},
		{[]Event{good, {Event: rules.Event{Type: rules.ConferenceIDChanged, User: "a@contoso.com", ConferenceID: "12ab"}}},
			ErrInvalid, "events[1].event", "events[1].conferenceId"},
		{[]Event{good, {ID: strings.Repeat("i", 201), Event: good.Event}}, ErrInvalid, "events[1].id", "events[1].id: at most 200 characters"},
		{[]Event{good, {Event: rules.Event{Type: rules.SIPAddressChanged, User: "x@contoso.com"}}},
			ErrNotFound, "events[1].user", `events[1].user: "x@contoso.com" is not in tenant "contoso"`},
	} {
		_, err := s.PostEvents(ctx, tenant, "provisioning", c.batch)
		mustFail(t, err, c.kind, c.field, c.substr)
	}
	_, err := s.PostEvents(ctx, "fabrikam", "provisioning", []Event{good})
	mustFail(t, err, ErrNotFound, "tenant", `tenant "fabrikam" not found`)
	if evs, _ := db.Events(ctx, tenant, "", 100); len(evs) != 0 {
		t.Fatalf("a refused batch recorded %d events", len(evs))
	}
}

// A bridge's number changes: each user on the bridge gets a decision, the
// new number and a migration; nobody else does.
func TestBridgeEventFansOutAndHandsOffEachUser(t *testing.T) {
	c := realTemporal(t)
	db := newStore(t)
	ctx := context.Background()
	if err := db.PutUser(ctx, store.User{TenantID: tenant, ID: "c@contoso.com", DisplayName: "C", Profile: json.RawMessage(
		`{"meetingType":"Teams","provider":"Microsoft","conferenceId":"123456","tollNumber":"+1 425-555-0100","bridgeId":"b2"}`)}); err != nil {
		t.Fatal(err)
	}
	s := New(db, c, nil, nil)
	out, err := s.PostEvents(ctx, tenant, "provisioning", []Event{{ID: "br", Event: rules.Event{Type: rules.BridgeNumberChanged,
		BridgeID: "b1", OldNumber: "+1 425-555-0100", NewNumber: "+1 425-555-0199"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].UserID != "a@contoso.com" || out[1].UserID != "b@contoso.com" {
		t.Fatalf("fan-out: %+v", out)
	}
	for _, ev := range out {
		if !ev.Triggered || ev.CorrelationID == "" {
			t.Fatalf("%s: %+v", ev.UserID, ev)
		}
		rec, err := db.StatusRecord(ctx, ev.CorrelationID)
		if err != nil || rec.State != migration.StatePending || rec.UserID != ev.UserID ||
			!strings.HasPrefix(rec.LastTrigger, "event bridgeNumberChanged: ") || !strings.HasSuffix(rec.LastTrigger, " by provisioning") {
			t.Fatalf("%s's record: %+v, %v", ev.UserID, rec, err)
		}
	}
	if _, err := db.LatestStatusRecord(ctx, tenant, "c@contoso.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a user on another bridge got a migration: %v", err)
	}
}

func TestPutUserDecidesOnTheDifferenceAndHandsOff(t *testing.T) {
	c := realTemporal(t)
	db := newStore(t)
	s := New(db, c, nil, nil)
	ctx := context.Background()
	p := meetingblock.Profile{MeetingType: "Teams", Provider: meetingblock.ProviderMicrosoft, ConferenceID: "123456",
		TollNumber: "+1 425-555-0100", BridgeID: "b1"}
	created, err := s.PutUser(ctx, tenant, "new@contoso.com", "admin", "New", &p)
	if err != nil || !created.Created || created.Decision.Trigger || created.CorrelationID != "" {
		t.Fatalf("create: %+v, %v", created, err)
	}
	p.ConferenceID = "654321"
	changed, err := s.PutUser(ctx, tenant, "a@contoso.com", "admin", "", &p)
	if err != nil || changed.Created || !changed.Decision.Trigger || changed.CorrelationID == "" {
		t.Fatalf("conference ID change: %+v, %v", changed, err)
	}
	rec, err := db.StatusRecord(ctx, changed.CorrelationID)
	if err != nil || rec.LastTrigger != "profile set: "+changed.Decision.Reason+" by admin" {
		t.Fatalf("record: %+v, %v", rec, err)
	}
	if u, _ := db.User(ctx, tenant, "a@contoso.com"); u.DisplayName != "a@contoso.com" || !strings.Contains(string(u.Profile), "654321") {
		t.Fatalf("stored: %+v", u)
	}
	_, err = s.PutUser(ctx, tenant, "a@contoso.com", "admin", "", nil)
	mustFail(t, err, ErrInvalid, "profile", "profile: required")
	_, err = s.PutUser(ctx, tenant, "a@contoso.com", "admin", strings.Repeat("n", 257), &p)
	mustFail(t, err, ErrInvalid, "displayName", "displayName: at most 256 characters")
	_, err = s.PutUser(ctx, tenant, "a@contoso.com", "admin", "", &meetingblock.Profile{MeetingType: "Zoom"})
	mustFail(t, err, ErrInvalid, "profile", "profile.meetingType")
}

func TestRetryFailed(t *testing.T) {
	c := realTemporal(t)
	db := newStore(t)
	s := New(db, c, nil, nil)
	ctx := context.Background()
	_, err := s.RetryFailed(ctx, tenant, "a@contoso.com", "op")
	mustFail(t, err, ErrNotFound, "migration", `no migration for user "a@contoso.com" to retry`)

	req := store.Request{TenantID: tenant, UserID: "a@contoso.com", Trigger: "t", MigrationType: migration.TypeSfbToTeams,
		SourceMeetingType: migration.SourceSfB, TargetMeetingType: migration.TargetTeams, WorkflowID: "wf"}
	run, err := db.BeginRun(ctx, req, "k1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.RetryFailed(ctx, tenant, "a@contoso.com", "op")
	if e := mustFail(t, err, ErrConflict, "migration", "is InProgress; retry when it has ended"); e.Code != CodeInProgress {
		t.Fatalf("code %q", e.Code)
	}
	if _, err := db.FinishRun(ctx, run.CorrelationID, migration.StateSucceeded, ""); err != nil {
		t.Fatal(err)
	}
	_, err = s.RetryFailed(ctx, tenant, "a@contoso.com", "op")
	if e := mustFail(t, err, ErrConflict, "migration", "no meeting failed"); e.Code != CodeNothingFailed {
		t.Fatalf("code %q", e.Code)
	}

	run, err = db.BeginRun(ctx, req, "k2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordResults(ctx, run.CorrelationID, []store.MeetingResult{{MeetingID: "m1", Subject: "s",
		Start: time.Now().Add(time.Hour), Outcome: migration.OutcomeFailed, Reason: "boom"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FinishRun(ctx, run.CorrelationID, migration.StateFailed, "1 meeting failed"); err != nil {
		t.Fatal(err)
	}
	retry, err := s.RetryFailed(ctx, tenant, "a@contoso.com", "op")
	if err != nil {
		t.Fatal(err)
	}
	if retry.CorrelationID == run.CorrelationID || retry.State != migration.StatePending ||
		retry.LastTrigger != "retry failed of "+run.CorrelationID+" by op" || retry.MigrationType != migration.TypeSfbToTeams {
		t.Fatalf("retry: %+v", retry)
	}
	if err := describe(t, c, workflows.WorkflowID(tenant, "a@contoso.com")); err != nil {
		t.Fatalf("no workflow for the retry: %v", err)
	}
}

// untilStored is the one compare-and-set loop: it decides again while the
// store reports a concurrent change, and gives up after maxDecideAttempts.
func TestUntilStored(t *testing.T) {
	calls := 0
	v, err := untilStored(func() (int, error) {
		calls++
		if calls < 3 {
			return 0, store.ErrConflict
		}
		return calls, nil
	})
	if v != 3 || err != nil || calls != 3 {
		t.Fatalf("got %d, %v after %d calls", v, err, calls)
	}
	calls = 0
	_, err = untilStored(func() (int, error) { calls++; return 0, store.ErrConflict })
	if !errors.Is(err, store.ErrConflict) || calls != maxDecideAttempts {
		t.Fatalf("endless conflict: %v after %d calls", err, calls)
	}
	calls = 0
	boom := errors.New("boom")
	if _, err = untilStored(func() (int, error) { calls++; return 0, boom }); err != boom || calls != 1 {
		t.Fatalf("other error: %v after %d calls", err, calls)
	}
}

// Profiles set directly and events for the same user race: each change
// applies to the profile the other left, so the last writer's fields and
// every event's record survive.
func TestPutUserAndEventsForOneUserLoseNothing(t *testing.T) {
	db := newStore(t)
	ctx := context.Background()
	ten, _ := db.Tenant(ctx, tenant)
	ten.Settings.MeetingMigrationEnabled = false // decided and recorded; no workflow needed
	if err := db.PutTenant(ctx, ten); err != nil {
		t.Fatal(err)
	}
	s := New(db, nil, nil, nil)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			_, err := s.PostEvents(ctx, tenant, "provisioning", []Event{{Event: rules.Event{Type: rules.DialInEnabled,
				User: "a@contoso.com", TollFreeNumbers: []string{fmt.Sprintf("+1 800-555-%04d", i)}}}})
			errs <- err
		})
		wg.Go(func() {
			p := meetingblock.Profile{MeetingType: "Teams", Provider: meetingblock.ProviderMicrosoft,
				ConferenceID: fmt.Sprintf("%d", 300000+i), TollNumber: "+1 425-555-0100", BridgeID: "b1"}
			_, err := s.PutUser(ctx, tenant, "a@contoso.com", "admin", "", &p)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if evs, _ := db.Events(ctx, tenant, "a@contoso.com", 100); len(evs) != n {
		t.Fatalf("%d events recorded, want %d", len(evs), n)
	}
	u, _ := db.User(ctx, tenant, "a@contoso.com")
	var got meetingblock.Profile
	if err := json.Unmarshal(u.Profile, &got); err != nil || !strings.HasPrefix(got.ConferenceID, "3") {
		t.Fatalf("stored profile %s", u.Profile)
	}
}

// A record whose workflow is gone (terminated, never started) is failed by
// the sweep; one whose workflow runs is left alone, as is a fresh one.
func TestSweepFailsRecordsWithoutALiveWorkflow(t *testing.T) {
	c := realTemporal(t)
	db := newStore(t)
	s := New(db, c, nil, nil)
	ctx := context.Background()
	quiet := 3600
	live, err := s.Start(ctx, tenant, "alice", Request{User: "a@contoso.com", QuietPeriodSeconds: &quiet})
	if err != nil {
		t.Fatal(err)
	}
	// (b@contoso.com's workflow may be running from another test: the
	// Temporal server is the package's.)
	gone, err := db.OpenPending(ctx, store.Request{TenantID: tenant, UserID: "b@contoso.com", Trigger: "x",
		WorkflowID: workflows.WorkflowID(tenant, "never-started@contoso.com")})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.SweepOrphans(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("fresh records swept: %d, %v", n, err)
	}
	n, err := s.SweepOrphans(ctx, -time.Second)
	if err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	if r, _ := db.StatusRecord(ctx, gone.CorrelationID); r.State != migration.StateFailed || r.LastMessage != OrphanMessage {
		t.Fatalf("orphan: %+v", r)
	}
	if r, _ := db.StatusRecord(ctx, live.CorrelationID); r.State != migration.StatePending {
		t.Fatalf("live record: %+v", r)
	}
}
