package service

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/openmms/mms/workflows"
)

// recorder is a Temporal client that records the workflow arguments it is
// given (the other methods are not called: the embedded nil would panic).
type recorder struct {
	client.Client
	args []any
}

func (r *recorder) ExecuteWorkflow(_ context.Context, _ client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	r.args = args
	return nil, nil
}

func (r *recorder) SignalWithStartWorkflow(_ context.Context, _, _ string, _ any, _ client.StartWorkflowOptions,
	_ any, args ...any) (client.WorkflowRun, error) {
	r.args = args
	return nil, nil
}

func TestRunsFillTheInputsTheAPIStarts(t *testing.T) {
	rec := &recorder{}
	if withRuns(rec, Runs{}) != client.Client(rec) {
		t.Fatal("no defaults: the client should be the API's own")
	}
	c := withRuns(rec, Runs{MaxRetries: 3, RetryInterval: 90 * time.Second, PagesPerExecution: 2, RunDeadline: time.Hour})
	want := workflows.Input{TenantID: "t", UserID: "u", MaxRetries: 3, RetryIntervalSeconds: 90, PagesPerExecution: 2,
		RunDeadlineSeconds: 3600}

	// As api.handOff starts a run: signal-with-start, the Input by value.
	_, _ = c.SignalWithStartWorkflow(context.Background(), "id", workflows.TriggerSignal, "trigger",
		client.StartWorkflowOptions{}, workflows.MigrationWorkflowType, workflows.Input{TenantID: "t", UserID: "u"})
	if got := rec.args[0].(workflows.Input); got.MaxRetries != want.MaxRetries || got.RetryIntervalSeconds != want.RetryIntervalSeconds ||
		got.PagesPerExecution != want.PagesPerExecution || got.RunDeadlineSeconds != want.RunDeadlineSeconds {
		t.Errorf("signal-with-start input = %+v, want %+v", got, want)
	}

	// As a dry run starts: ExecuteWorkflow; a field the caller set wins,
	// and an Input given by pointer is filled in a copy.
	in := &workflows.Input{TenantID: "t", UserID: "u", MaxRetries: 1, DryRun: true}
	_, _ = c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{}, workflows.MigrationWorkflowType, in, "other")
	got := rec.args[0].(*workflows.Input)
	if got.MaxRetries != 1 || got.PagesPerExecution != 2 || !got.DryRun || in.PagesPerExecution != 0 {
		t.Errorf("execute input = %+v (caller's %+v)", got, in)
	}
	if rec.args[1] != "other" {
		t.Errorf("other arguments changed: %v", rec.args)
	}

	// As a bridge fan-out starts: the worker starts its migrations, so the
	// API's defaults travel in the fan-out's input.
	_, _ = c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{}, workflows.FanOutWorkflowType,
		workflows.FanOutInput{TenantID: "t", EventID: "e"})
	if f := rec.args[0].(workflows.FanOutInput); f.EventID != "e" || f.Runs.MaxRetries != 3 || f.Runs.RunDeadlineSeconds != 3600 {
		t.Errorf("fan-out input = %+v", f)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Worker: true}
	for _, tc := range []struct {
		mutate func(*Config)
		want   string // "" for valid
	}{
		{func(*Config) {}, ""},
		{func(c *Config) { c.Worker = false }, "nothing to build"},
		{func(c *Config) { c.PageSize = -1 }, "page size"},
		{func(c *Config) { c.Runs.MaxRetries = -2 }, "max retries"},
		{func(c *Config) { c.Runs.RetryInterval = 1500 * time.Millisecond }, "whole number of seconds"},
		{func(c *Config) { c.RetentionDays = 4000 }, "1 to 3650"},
		{func(c *Config) { c.RetentionDays, c.HorizonDays, c.Concurrency = 30, 365, 8 }, ""},
	} {
		c := ok
		tc.mutate(&c)
		err := c.validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", c, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: error %v, want %q", c, err, tc.want)
		}
	}
}
