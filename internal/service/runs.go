package service

import (
	"context"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/openmms/mms/workflows"
)

// withRuns returns c, or, when runs set anything, a client that fills them
// into the workflow Input of the runs it starts. The API starts runs with
// an Input of tenant and user only (api/migrations.go); filling the
// defaults at the client keeps the workflow's contract and the API's code
// as they are, and an Input that already sets a field keeps it.
func withRuns(c client.Client, runs Runs) client.Client {
	if runs == (Runs{}) {
		return c
	}
	return runsClient{Client: c, runs: runs}
}

// runsClient overrides the two calls that start the migration workflow
// (and the bridge fan-out, which starts migrations in its turn).
type runsClient struct {
	client.Client
	runs Runs
}

func (c runsClient) ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any,
	args ...any) (client.WorkflowRun, error) {
	return c.Client.ExecuteWorkflow(ctx, options, workflow, c.fill(args)...)
}

func (c runsClient) SignalWithStartWorkflow(ctx context.Context, workflowID, signalName string, signalArg any,
	options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error) {
	return c.Client.SignalWithStartWorkflow(ctx, workflowID, signalName, signalArg, options, workflow, c.fill(args)...)
}

// fill returns args with the defaults set in a workflows.Input (by value or
// pointer); other arguments pass unchanged.
func (c runsClient) fill(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch in := a.(type) {
		case workflows.Input:
			out[i] = c.runs.apply(in)
		case workflows.FanOutInput:
			// The fan-out's migrations are started by the worker, whose
			// process may have other defaults: the API's travel with it.
			in.Runs = c.runs.apply(in.Runs)
			out[i] = in
		case *workflows.Input:
			if in != nil {
				v := c.runs.apply(*in)
				a = &v
			}
			out[i] = a
		default:
			out[i] = a
		}
	}
	return out
}

// apply sets the Input's zero fields to the defaults.
func (r Runs) apply(in workflows.Input) workflows.Input {
	return in.WithDefaults(r.input())
}

// input is the defaults as the workflow takes them.
func (r Runs) input() workflows.Input {
	return workflows.Input{MaxRetries: r.MaxRetries, RetryIntervalSeconds: int(r.RetryInterval / time.Second),
		PagesPerExecution: r.PagesPerExecution, RunDeadlineSeconds: int(r.RunDeadline / time.Second)}
}
