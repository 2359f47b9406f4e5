package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"

	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/devstack"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/service"
	"github.com/openmms/mms/workflows"
)

// TestKnobsReachTheWorkerAndTheRuns runs the real `mms worker` and `mms api`
// commands in-process against an embedded Temporal server and proves that
// the knobs they take reach what they wire: --page-size makes the worker's
// pages (20 meetings in pages of 7 are 3 ProcessPage activities, not the
// default 1), MMS_PAGES_PER_EXECUTION and --max-retries reach the input of
// the runs the API starts (2 pages per execution: the run continues as new).
func TestKnobsReachTheWorkerAndTheRuns(t *testing.T) {
	dir := t.TempDir()
	// The stack supplies Temporal and the database only: no worker, and
	// its own API is not used.
	st, err := devstack.Start(context.Background(), devstack.Config{DataDir: dir, APIAddr: freeAddr(t),
		TemporalAddr: freeAddr(t), UIAddr: "-", SeedDemo: true, NoWorker: true,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop(context.Background())
	ctx := context.Background()
	users, err := sandbox.SeedBulk(ctx, st.DB, sandbox.BulkOptions{Tenant: "contoso", Users: 1, Meetings: 20}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	user := users[0]

	t.Setenv("OTEL_SERVICE_NAME", "mms-test") // telemetry.Setup sets it otherwise
	t.Setenv("MMS_PAGES_PER_EXECUTION", "2")
	common := []string{"--database", filepath.Join(dir, "mms.db"), "--temporal-address", st.Temporal.FrontendAddr(),
		"--namespace", devstack.Namespace, "--log-level", "warn"}
	apiAddr := freeAddr(t)
	stopWorker := runCommand(t, append([]string{"worker", "--page-size", "7", "--metrics-addr", ""}, common...)...)
	defer stopWorker()
	stopAPI := runCommand(t, append([]string{"api", "--addr", apiAddr, "--max-retries", "3"}, common...)...)
	defer stopAPI()

	base := "http://" + apiAddr
	call := func(method, path string, body any) (int, []byte) {
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+st.AdminToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, []byte(err.Error())
		}
		defer resp.Body.Close()
		var out bytes.Buffer
		_, _ = out.ReadFrom(resp.Body)
		return resp.StatusCode, out.Bytes()
	}
	deadline := time.Now().Add(30 * time.Second)
	for code, raw := call("GET", "/healthz", nil); code != http.StatusOK; code, raw = call("GET", "/healthz", nil) {
		if time.Now().After(deadline) {
			t.Fatalf("mms api did not come up: %d %s", code, raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, raw := call("POST", "/v1/tenants/contoso/migrations", map[string]any{"user": user, "quietPeriodSeconds": 0}); code != http.StatusAccepted {
		t.Fatalf("start = %d %s", code, raw)
	}
	deadline = time.Now().Add(2 * time.Minute)
	for {
		code, raw := call("GET", "/v1/tenants/contoso/migrations/"+user, nil)
		var rec struct {
			State        migration.State `json:"state"`
			TotalMeeting int             `json:"totalMeeting"`
		}
		_ = json.Unmarshal(raw, &rec)
		if code == http.StatusOK && rec.State == migration.StateSucceeded {
			if rec.TotalMeeting != 20 {
				t.Fatalf("record = %s", raw)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("migration did not succeed: %d %s", code, raw)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Every execution of the run: pages of 7, two per execution.
	wfID := workflows.WorkflowID("contoso", user)
	desc, err := st.Client.DescribeWorkflowExecution(ctx, wfID, "")
	if err != nil {
		t.Fatal(err)
	}
	pages, executions := 0, 0
	for runID := desc.GetWorkflowExecutionInfo().GetFirstRunId(); runID != ""; {
		var next string
		it := st.Client.GetWorkflowHistory(ctx, wfID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
				attrs := ev.GetWorkflowExecutionStartedEventAttributes()
				var in workflows.Input
				if err := converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &in); err != nil {
					t.Fatal(err)
				}
				if in.MaxRetries != 3 || in.PagesPerExecution != 2 {
					t.Errorf("execution %d input: maxRetries %d, pagesPerExecution %d; want 3 and 2",
						executions, in.MaxRetries, in.PagesPerExecution)
				}
				executions++
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
				if ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == "ProcessPage" {
					pages++
				}
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
				next = ev.GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
			}
		}
		runID = next
	}
	if pages != 3 || executions != 2 {
		t.Fatalf("%d ProcessPage activities in %d executions; want 3 (20 meetings in pages of 7) in 2", pages, executions)
	}
}

// runCommand runs mms with args until the returned function stops it, as
// SIGTERM would, and checks that it ended cleanly.
func runCommand(t *testing.T, args ...string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(&bytes.Buffer{})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("mms %v: %v", args, err)
			}
		case <-time.After(time.Minute):
			t.Errorf("mms %v did not stop", args)
		}
	}
}

// TestKnobFlagsAndVariables: a flag wins over its MMS_* variable, which
// wins over the default; a bad variable is an error that names it.
func TestKnobFlagsAndVariables(t *testing.T) {
	parse := func(args ...string) (service.Config, error) {
		var cfg service.Config
		cmd := &cobra.Command{Use: "x"}
		bindCluster(cmd, &cfg)
		bindWorker(cmd, &cfg)
		bindAPI(cmd, &cfg)
		if err := cmd.ParseFlags(args); err != nil {
			return cfg, err
		}
		return cfg, applyEnv(cmd)
	}
	t.Setenv("MMS_PAGE_SIZE", "9")
	t.Setenv("MMS_CONCURRENCY", "6")
	t.Setenv("MMS_RETRY_INTERVAL", "2m")
	t.Setenv("MMS_DATABASE", "/var/lib/mms/mms.db")
	cfg, err := parse("--page-size", "7", "--max-retries", "4")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PageSize != 7 || cfg.Concurrency != 6 || cfg.Runs.RetryInterval != 2*time.Minute || cfg.Runs.MaxRetries != 4 ||
		cfg.Database != "/var/lib/mms/mms.db" || cfg.HorizonDays != 0 {
		t.Errorf("config = %+v", cfg)
	}
	t.Setenv("MMS_CONCURRENCY", "many")
	if _, err := parse(); err == nil || !strings.Contains(err.Error(), "MMS_CONCURRENCY") {
		t.Errorf("bad MMS_CONCURRENCY: error %v", err)
	}
}
