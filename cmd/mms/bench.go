//go:build !nodevserver

package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmms/mms/internal/bench"
)

// The bench command runs the whole service on the embedded stack, like dev.
func init() { extraServiceCommands = append(extraServiceCommands, benchCommand) }

func benchCommand() *cobra.Command {
	var o bench.Options
	var only, sizes, graphCases, out, cpuProfile string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the whole service end to end on the embedded stack (throughput, scaling, overhead, Graph limits, event intake)",
		Long: `bench seeds the sandbox and runs the real service (embedded Temporal server,
worker, store, API) with a quiet period of zero, then prints each figure as
"name: value unit" and, with --out, writes them all as JSON.

A quick smoke run:
  mms bench --only throughput,scaling,overhead,graph,intake --organizers 10 --meetings 20 \
    --scaling-sizes 50,200 --overhead-meetings 100 --graph-cases 1x40,5x20 --graph-latency 5ms \
    --events 500 --runs 1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if only != "" && only != "all" {
				o.Only = strings.Split(only, ",")
			}
			if o.ScalingSizes, err = ints(sizes); err != nil {
				return fmt.Errorf("--scaling-sizes: %w", err)
			}
			if o.GraphCases, err = cases(graphCases); err != nil {
				return fmt.Errorf("--graph-cases: %w", err)
			}
			if verbose {
				o.Progress = cmd.ErrOrStderr()
			}
			// The stack's logs only when asked for (--log-level).
			o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			if cmd.Flags().Changed("log-level") {
				if o.Logger, err = logger(cmd); err != nil {
					return err
				}
			}
			// Packages that log through the default logger stay quiet too:
			// a log line per migration would be part of what is measured.
			slog.SetDefault(o.Logger)
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			rep, err := bench.Run(cmd.Context(), o, cmd.OutOrStdout())
			if out != "" {
				if werr := rep.WriteJSON(out); werr != nil && err == nil {
					err = werr
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&only, "only", "all", "scenarios, comma-separated: "+strings.Join(bench.AllScenarios, ","))
	f.IntVar(&o.Runs, "runs", 3, "runs of each cheap scenario; the median is reported")
	f.IntVar(&o.ThroughputRuns, "throughput-runs", 1, "runs of the throughput and intake scenarios")
	f.IntVar(&o.Organizers, "organizers", 1000, "throughput: organizers migrated at once")
	f.IntVar(&o.Meetings, "meetings", 100, "throughput: future meetings per organizer")
	f.IntVar(&o.TriggerClients, "trigger-clients", 16, "concurrent HTTP clients starting the migrations")
	f.StringVar(&sizes, "scaling-sizes", "100,1000,10000", "scaling: meetings of the one organizer, comma-separated")
	f.IntVar(&o.OverheadMeetings, "overhead-meetings", 1000, "overhead: meetings of the organizer")
	f.DurationVar(&o.OverheadLatency, "overhead-latency", 10*time.Millisecond, "overhead: cost of each back-end call")
	f.DurationVar(&o.GraphLatency, "graph-latency", 100*time.Millisecond, "graph: emulator latency per call")
	f.StringVar(&graphCases, "graph-cases", "1x1000,50x100", "graph: MAILBOXESxMEETINGS, comma-separated")
	f.IntVar(&o.Events, "events", 10000, "intake: events posted")
	f.IntVar(&o.EventClients, "event-clients", 8, "intake: concurrent HTTP clients")
	f.IntVar(&o.EventBatch, "event-batch", 1, "intake: events per request (1: single events)")
	f.IntVar(&o.EventUsers, "event-users", 100, "intake: users the events are about")
	f.IntVar(&o.PageSize, "page-size", 0, "meetings per ProcessPage (0: the service's default, 50)")
	f.IntVar(&o.Concurrency, "concurrency", 0, "meetings of a page updated at once (0: the service's default, 4)")
	f.IntVar(&o.MaxConcurrentActivities, "max-concurrent-activities", 0, "worker's activity slots (0: the SDK's default)")
	f.StringVar(&o.DataDir, "data-dir", "", "directory for the stacks' data (default: a temporary directory, removed after)")
	f.StringVar(&out, "out", "", "write the figures as JSON to this file")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (go tool pprof) to this file")
	f.BoolVarP(&verbose, "verbose", "v", false, "print each step to stderr")
	return cmd
}

func ints(s string) ([]int, error) {
	var out []int
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", p)
		}
		out = append(out, n)
	}
	return out, nil
}

func cases(s string) ([]bench.GraphCase, error) {
	var out []bench.GraphCase
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		a, b, ok := strings.Cut(p, "x")
		m, err1 := strconv.Atoi(a)
		n, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || m <= 0 || n <= 0 {
			return nil, fmt.Errorf("%q is not MAILBOXESxMEETINGS", p)
		}
		out = append(out, bench.GraphCase{Mailboxes: m, Meetings: n})
	}
	return out, nil
}
