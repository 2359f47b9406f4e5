package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/store"
)

// TestTinyRun runs every scenario at a tiny size and checks that each
// figure is printed as "name: value unit" and written to the JSON file.
func TestTinyRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded stack")
	}
	var out bytes.Buffer
	o := Options{Runs: 1, Organizers: 3, Meetings: 10, ScalingSizes: []int{10, 30}, OverheadMeetings: 20,
		OverheadLatency: 2 * time.Millisecond, GraphLatency: 5 * time.Millisecond,
		GraphCases: []GraphCase{{1, 20}}, Events: 60, EventClients: 4, EventUsers: 5, DataDir: t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, o, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
	for _, name := range []string{
		"throughput_3x10_wall", "throughput_3x10_meetings_per_s", "throughput_3x10_workflows_per_s",
		"throughput_3x10_cpu", "throughput_3x10_peak_rss",
		"scaling_1x10_wall", "scaling_1x30_wall", "scaling_1x30_history_events", "scaling_per_meeting_30_vs_10",
		"overhead_orchestrated_2ms", "overhead_plain_loop_2ms", "overhead_ratio_2ms",
		"graph_1x20_5ms_wall", "graph_1x20_5ms_floor", "graph_1x20_5ms_x_floor",
		"intake_60_events_4_clients_rate", "intake_60_events_4_clients_p50", "intake_60_events_4_clients_p99",
		"intake_60_events_4_clients_lost",
	} {
		res, ok := rep.Result(name)
		if !ok {
			t.Errorf("no figure %s", name)
			continue
		}
		if !strings.Contains(out.String(), "\n"+res.Line()+"\n") {
			t.Errorf("line %q not printed", res.Line())
		}
		if res.Value < 0 || (res.Value == 0 && !strings.HasSuffix(name, "_lost")) {
			t.Errorf("%s = %v", name, res.Value)
		}
	}
	if res, _ := rep.Result("intake_60_events_4_clients_lost"); res.Value != 0 || res.Met == nil || !*res.Met {
		t.Errorf("lost events: %+v", res)
	}
	if h, _ := rep.Result("scaling_1x30_history_events"); h.Value < 10 {
		t.Errorf("history of a 30-meeting run: %v events", h.Value)
	}
	path := filepath.Join(t.TempDir(), "bench.json")
	if err := rep.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	var back Report
	if err := json.Unmarshal(raw, &back); err != nil || len(back.Results) != len(rep.Results) || back.LoadBefore == "" {
		t.Fatalf("JSON report: %v, %d results", err, len(back.Results))
	}
}

// TestCheckEvents: the zero-loss check counts what is missing from the store.
func TestCheckEvents(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "mms.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	users, err := sandbox.SeedBulk(ctx, db, sandbox.BulkOptions{Tenant: "t", Users: 1}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range []store.Event{
		{ID: "e1", UserID: users[0], Type: "sipAddressChanged", Reason: "ignored: nothing"},
		{ID: "e2", UserID: users[0], Type: "conferenceIdChanged", Reason: "conference ID changed", Triggered: true,
			CorrelationID: "c1"},
	} {
		if _, err := db.RecordEvent(ctx, "t", ev, nil, nil); err != nil {
			t.Fatal(i, err)
		}
	}
	if n, err := CheckEvents(ctx, db, "t", 2); n != 0 || err != nil {
		t.Fatalf("all recorded: %d, %v", n, err)
	}
	if n, err := CheckEvents(ctx, db, "t", 3); n != 1 || err == nil {
		t.Fatalf("one missing: %d, %v", n, err)
	}
	// A triggering event never handed to its migration counts as lost.
	if _, err := db.RecordEvent(ctx, "t", store.Event{ID: "e3", UserID: users[0], Type: "conferenceIdChanged",
		Reason: "conference ID changed", Triggered: true}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := CheckEvents(ctx, db, "t", 3); n != 1 || err == nil {
		t.Fatalf("one not handed off: %d, %v", n, err)
	}
}
