package devstack

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	sdkworker "go.temporal.io/sdk/worker"

	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/service"
	"github.com/openmms/mms/internal/telemetry"
	"github.com/openmms/mms/internal/temporalclient"
)

// TestMain makes the test binary a bare worker process when the kill test
// asks for one, so that it can be SIGKILLed like a crashed machine.
func TestMain(m *testing.M) {
	if db := os.Getenv("MMS_TEST_WORKER_DB"); db != "" {
		os.Exit(runWorkerProcess(db, os.Getenv("MMS_TEST_TEMPORAL")))
	}
	os.Exit(m.Run())
}

// runWorkerProcess is `mms worker`: the same wiring, on the stack's database.
func runWorkerProcess(dbPath, temporalAddr string) int {
	tel, err := telemetry.New(nil, nil)
	if err != nil {
		return 3
	}
	svc, err := service.Build(context.Background(), service.Config{Worker: true, Database: dbPath, PageSize: 50,
		Temporal: temporalclient.Config{Address: temporalAddr, Namespace: Namespace},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)), Telemetry: tel})
	if err != nil {
		return 4
	}
	defer svc.Close(context.Background())
	if err := svc.Start(nil); err != nil {
		return 5
	}
	<-sdkworker.InterruptCh()
	return 0
}

// TestWorkerKilledMidBatch: the only worker is killed (SIGKILL) in the
// middle of a page; a new one finishes the run. No meeting is written twice
// and no attendee is notified twice.
func TestWorkerKilledMidBatch(t *testing.T) {
	dir := t.TempDir()
	st := startStack(t, Config{DataDir: dir, APIAddr: freeAddr(t), TemporalAddr: freeAddr(t), UIAddr: "-", NoWorker: true})
	defer st.Stop(context.Background())
	ctx := context.Background()
	const meetings = 2000
	users, err := sandbox.SeedBulk(ctx, st.DB, sandbox.BulkOptions{Tenant: "contoso", Users: 1, Meetings: meetings}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	user := users[0]
	spawn := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "MMS_TEST_WORKER_DB="+filepath.Join(dir, "mms.db"),
			"MMS_TEST_TEMPORAL="+st.Temporal.FrontendAddr())
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	outbox := func() []sandbox.Notification {
		sent, err := st.Sandbox.Outbox(ctx, "contoso", "")
		if err != nil {
			t.Fatal(err)
		}
		return sent
	}
	sent := func() int { return len(outbox()) }
	first := spawn()
	c := client_{t: t, base: st.APIURL, token: st.AdminToken}
	if code, raw := c.do("POST", "/v1/tenants/contoso/migrations", st.AdminToken, map[string]any{"user": user}); code != 202 {
		t.Fatalf("start = %d %s", code, raw)
	}
	// 325 is inside the seventh page of 50: the kill lands mid-batch.
	for deadline := time.Now().Add(2 * time.Minute); sent() < 2*325; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the first worker did not get going: %d notifications", sent())
		}
	}
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	atKill := sent()
	if atKill >= 2*meetings {
		t.Fatalf("the run finished before the kill (%d notifications): nothing was tested", atKill)
	}
	second := spawn()
	defer func() { _ = second.Process.Kill(); _ = second.Wait() }()

	d := c.waitRecord(user, "", 5*time.Minute)
	t.Logf("killed with %d/%d meetings notified (%d into a page of 50); finished: %s, %d succeeded",
		atKill/2, meetings, atKill/2%50, d.State, d.SucceededMeeting)
	if d.State != migration.StateSucceeded || d.SucceededMeeting != meetings || d.InvitesUpdate != meetings {
		t.Fatalf("record = %+v", d.StatusRecord)
	}
	ms, _ := st.Sandbox.Meetings(ctx, "contoso", user)
	for _, m := range ms {
		if m.ETag != "2" {
			t.Fatalf("%s written %s times", m.ID, m.ETag)
		}
	}
	all := outbox()
	distinct := map[[2]string]bool{}
	for _, n := range all {
		distinct[[2]string{n.MeetingID, n.Recipient}] = true
	}
	if total, distinct := len(all), len(distinct); total != 2*meetings || distinct != 2*meetings {
		t.Fatalf("%d notifications, %d distinct; want %d of each", total, distinct, 2*meetings)
	}
}
