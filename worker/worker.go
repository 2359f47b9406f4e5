// Package worker assembles a Temporal worker that runs the migration
// workflow and its activities on the mms task queue.
package worker

import (
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/openmms/mms/activities"
	"github.com/openmms/mms/workflows"
)

// Options tune the worker; zero values take the SDK's defaults.
type Options struct {
	MaxConcurrentActivities int
}

// New returns a worker (not yet started) for the migration task queue.
func New(c client.Client, acts *activities.Activities, o Options) sdkworker.Worker {
	w := sdkworker.New(c, workflows.TaskQueue, sdkworker.Options{
		MaxConcurrentActivityExecutionSize: o.MaxConcurrentActivities,
		// Stop waits this long for running activities to finish.
		WorkerStopTimeout: 30 * time.Second,
	})
	w.RegisterWorkflowWithOptions(workflows.Migration, workflow.RegisterOptions{Name: workflows.MigrationWorkflowType})
	w.RegisterActivity(acts)
	return w
}
