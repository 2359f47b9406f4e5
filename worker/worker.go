// Package worker assembles a Temporal worker that runs the migration
// workflow and its activities on the mms task queue.
package worker

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/openmms/mms/activities"
	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/telemetry"
	"github.com/openmms/mms/workflows"
)

// Options tune the worker; zero values take the SDK's defaults.
type Options struct {
	MaxConcurrentActivities int
	// Instruments count activity retries (nil: not counted).
	Instruments *telemetry.Instruments
	// FanOut hands a bridge fan-out's users to their workflows (the
	// workflow's HandOffBatch activity); nil registers no fan-out.
	FanOut *intake.Service
}

// New returns a worker (not yet started) for the migration task queue: the
// migration workflow and, with o.FanOut, the bridge fan-out.
func New(c client.Client, acts *activities.Activities, o Options) sdkworker.Worker {
	var icpts []interceptor.WorkerInterceptor
	if o.Instruments != nil {
		icpts = append(icpts, &retryCounter{in: o.Instruments})
	}
	w := sdkworker.New(c, workflows.TaskQueue, sdkworker.Options{
		MaxConcurrentActivityExecutionSize: o.MaxConcurrentActivities,
		// Stop waits this long for running activities to finish.
		WorkerStopTimeout: 30 * time.Second,
		Interceptors:      icpts,
	})
	w.RegisterWorkflowWithOptions(workflows.Migration, workflow.RegisterOptions{Name: workflows.MigrationWorkflowType})
	w.RegisterActivity(acts)
	if o.FanOut != nil {
		w.RegisterWorkflowWithOptions(workflows.FanOut, workflow.RegisterOptions{Name: workflows.FanOutWorkflowType})
		w.RegisterActivityWithOptions(o.FanOut.HandOffBatch, activity.RegisterOptions{Name: workflows.HandOffBatchActivity})
	}
	return w
}

// retryCounter counts activity attempts after the first (activities only:
// nothing here runs in workflow code).
type retryCounter struct {
	interceptor.WorkerInterceptorBase
	in *telemetry.Instruments
}

func (r *retryCounter) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &retryActivity{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, in: r.in}
}

type retryActivity struct {
	interceptor.ActivityInboundInterceptorBase
	in *telemetry.Instruments
}

func (a *retryActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	if info := activity.GetInfo(ctx); info.Attempt > 1 {
		a.in.ActivityRetry(ctx, info.ActivityType.Name)
	}
	return a.Next.ExecuteActivity(ctx, in)
}
