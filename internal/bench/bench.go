// Package bench measures the whole service end to end on the embedded stack
// (internal/devstack: Temporal server on SQLite, worker, store, API, sandbox
// or emulated Graph back end) for `mms bench`: throughput of many
// migrations at once, scaling with one calendar, the cost of the
// orchestration next to a plain loop, latency-bound efficiency against
// Graph's limits, and the intake of change events.
//
// Every figure is a Result printed as a line "name: value unit"; a
// scenario run several times reports the median.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Scenarios, in the order they run.
const (
	Throughput = "throughput"
	Scaling    = "scaling"
	Overhead   = "overhead"
	Graph      = "graph"
	Intake     = "intake"
)

// AllScenarios lists every scenario.
var AllScenarios = []string{Throughput, Scaling, Overhead, Graph, Intake}

// Options size the scenarios; zero values take the defaults of the issue
// (Defaults fills them).
type Options struct {
	Only []string // scenarios to run (default all)
	Runs int      // runs of each cheap scenario, median reported (default 3)
	// ThroughputRuns: runs of the throughput and intake scenarios (default
	// 1, they are not cheap); the 10,000-meeting scaling run is made once.
	ThroughputRuns int

	Organizers int // throughput: organizers (default 1,000)
	Meetings   int // throughput: future meetings per organizer (default 100)
	// TriggerClients posting the migrations' starts at once (default 16).
	TriggerClients int

	ScalingSizes []int // scaling: meetings of the one organizer (default 100, 1,000, 10,000)

	OverheadMeetings int           // overhead: meetings of one organizer (default 1,000)
	OverheadLatency  time.Duration // overhead: cost of each back-end call (default 10 ms)

	GraphLatency time.Duration // graph: emulator latency per call (default 100 ms)
	// GraphCases: mailboxes x meetings (default 1x1000 and 50x100).
	GraphCases []GraphCase

	Events       int // intake: events posted (default 10,000)
	EventClients int // intake: concurrent HTTP clients (default 8)
	EventBatch   int // intake: events per request (default 1: single events)
	EventUsers   int // intake: users the events are about (default 100)

	// Worker tuning passed to the stack (0: the service's defaults).
	PageSize                int
	Concurrency             int
	MaxConcurrentActivities int

	// DataDir holds the stacks' databases (default a temporary directory, removed after).
	DataDir string
	Logger  *slog.Logger // the stack's logs (default: discarded)
	// Progress, when set, gets a line per step (seeding, runs).
	Progress io.Writer
}

// GraphCase is a latency-bound run: Mailboxes organizers with Meetings each.
type GraphCase struct {
	Mailboxes int `json:"mailboxes"`
	Meetings  int `json:"meetings"`
}

// Defaults fills the zero fields.
func (o Options) Defaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Runs, 3)
	def(&o.ThroughputRuns, 1)
	def(&o.Organizers, 1000)
	def(&o.Meetings, 100)
	def(&o.TriggerClients, 16)
	def(&o.OverheadMeetings, 1000)
	def(&o.Events, 10000)
	def(&o.EventClients, 8)
	def(&o.EventBatch, 1)
	def(&o.EventUsers, 100)
	if len(o.Only) == 0 {
		o.Only = AllScenarios
	}
	if len(o.ScalingSizes) == 0 {
		o.ScalingSizes = []int{100, 1000, 10000}
	}
	if o.OverheadLatency <= 0 {
		o.OverheadLatency = 10 * time.Millisecond
	}
	if o.GraphLatency <= 0 {
		o.GraphLatency = 100 * time.Millisecond
	}
	if len(o.GraphCases) == 0 {
		o.GraphCases = []GraphCase{{1, 1000}, {50, 100}}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// Result is one figure.
type Result struct {
	Name  string    `json:"name"`
	Value float64   `json:"value"`
	Unit  string    `json:"unit"`
	Runs  []float64 `json:"runs,omitempty"` // each run's value when the median of several
	// Target, when set, says what the figure is measured against, and Met whether it met it.
	Target string `json:"target,omitempty"`
	Met    *bool  `json:"met,omitempty"`
}

// Line renders the result as "name: value unit".
func (r Result) Line() string {
	s := fmt.Sprintf("%s: %s %s", r.Name, formatValue(r.Value), r.Unit)
	if r.Target != "" {
		verdict := "met"
		if r.Met != nil && !*r.Met {
			verdict = "MISSED"
		}
		s += fmt.Sprintf("   (target %s: %s)", r.Target, verdict)
	}
	return s
}

func formatValue(v float64) string {
	switch {
	case v == float64(int64(v)) && v < 1e15 && v > -1e15:
		return fmt.Sprintf("%d", int64(v))
	case v >= 100 || v <= -100:
		return fmt.Sprintf("%.1f", v)
	case v >= 1 || v <= -1:
		return fmt.Sprintf("%.3f", v)
	}
	return fmt.Sprintf("%.4f", v)
}

// Report is a whole run of the benchmarks.
type Report struct {
	Date      time.Time `json:"date"`
	Commit    string    `json:"commit,omitempty"`
	GoVersion string    `json:"goVersion"`
	CPUs      int       `json:"cpus"`
	// LoadBefore and LoadAfter: /proc/loadavg when the run began and ended.
	LoadBefore string        `json:"loadBefore"`
	LoadAfter  string        `json:"loadAfter"`
	Elapsed    time.Duration `json:"elapsedNs"`
	Options    reportOptions `json:"options"`
	Results    []Result      `json:"results"`
}

type reportOptions struct {
	Only             []string      `json:"only"`
	Runs             int           `json:"runs"`
	ThroughputRuns   int           `json:"throughputRuns"`
	Organizers       int           `json:"organizers"`
	Meetings         int           `json:"meetings"`
	ScalingSizes     []int         `json:"scalingSizes"`
	OverheadMeetings int           `json:"overheadMeetings"`
	OverheadLatency  time.Duration `json:"overheadLatencyNs"`
	GraphLatency     time.Duration `json:"graphLatencyNs"`
	GraphCases       []GraphCase   `json:"graphCases"`
	Events           int           `json:"events"`
	EventClients     int           `json:"eventClients"`
	EventBatch       int           `json:"eventBatch"`
}

// Result finds a figure by name.
func (r Report) Result(name string) (Result, bool) {
	for _, res := range r.Results {
		if res.Name == name {
			return res, true
		}
	}
	return Result{}, false
}

// WriteJSON writes the report to path.
func (r Report) WriteJSON(path string) error {
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(raw, '\n'), 0o644)
}

// Run runs the selected scenarios, printing each figure to out as it is
// measured, and returns them all.
func Run(ctx context.Context, o Options, out io.Writer) (Report, error) {
	o = o.Defaults()
	for _, s := range o.Only {
		if !slices.Contains(AllScenarios, s) {
			return Report{}, fmt.Errorf("scenario %q: must be one of %s", s, strings.Join(AllScenarios, ", "))
		}
	}
	rep := Report{Date: time.Now().UTC(), Commit: commit(), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(),
		LoadBefore: loadAvg(), Options: reportOptions{Only: o.Only, Runs: o.Runs, ThroughputRuns: o.ThroughputRuns,
			Organizers: o.Organizers, Meetings: o.Meetings, ScalingSizes: o.ScalingSizes,
			OverheadMeetings: o.OverheadMeetings, OverheadLatency: o.OverheadLatency, GraphLatency: o.GraphLatency,
			GraphCases: o.GraphCases, Events: o.Events, EventClients: o.EventClients, EventBatch: o.EventBatch}}
	start := time.Now()
	dir := o.DataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "mms-bench-*")
		if err != nil {
			return rep, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	r := &runner{o: o, dir: dir, out: out, rep: &rep}
	defer r.close()
	fmt.Fprintf(out, "load average: %s\n", rep.LoadBefore)
	for _, s := range AllScenarios {
		if !slices.Contains(o.Only, s) {
			continue
		}
		var err error
		switch s {
		case Throughput:
			err = r.throughput(ctx)
		case Scaling:
			err = r.scaling(ctx)
		case Overhead:
			err = r.overhead(ctx)
		case Graph:
			err = r.graph(ctx)
		case Intake:
			err = r.intake(ctx)
		}
		if err != nil {
			rep.LoadAfter, rep.Elapsed = loadAvg(), time.Since(start)
			return rep, fmt.Errorf("%s: %w", s, err)
		}
		// The next scenario starts from a new stack: what this one left in
		// the databases (100,000 meetings and their notifications) would
		// slow it down.
		r.close()
	}
	rep.LoadAfter, rep.Elapsed = loadAvg(), time.Since(start)
	fmt.Fprintf(out, "load average after: %s (%s in all)\n", rep.LoadAfter, rep.Elapsed.Round(time.Second))
	return rep, nil
}

// add records and prints a figure; several values make a median.
func (r *runner) add(name, unit string, values ...float64) Result {
	res := Result{Name: name, Unit: unit, Value: median(values)}
	if len(values) > 1 {
		res.Runs = values
	}
	r.rep.Results = append(r.rep.Results, res)
	fmt.Fprintln(r.out, res.Line())
	return res
}

// addTarget records a figure with its target: ok says whether it is met.
func (r *runner) addTarget(name, unit, target string, ok func(float64) bool, values ...float64) {
	res := Result{Name: name, Unit: unit, Value: median(values), Target: target}
	if len(values) > 1 {
		res.Runs = values
	}
	met := ok(res.Value)
	res.Met = &met
	r.rep.Results = append(r.rep.Results, res)
	fmt.Fprintln(r.out, res.Line())
}

func (r *runner) progress(format string, args ...any) {
	if r.o.Progress != nil {
		fmt.Fprintf(r.o.Progress, "# "+format+"\n", args...)
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func commit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func loadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return strings.TrimSpace(string(raw))
	}
	return strings.Join(f[:3], " ")
}
