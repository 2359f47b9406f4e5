package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The bridge fan-out (issue 16): a bridge event concerns every user on the
// bridge, possibly thousands. Deciding, recording and signal-with-starting
// each of them inside the HTTP request would hold the request for minutes
// and lose the rest of the hand-off if the API process stopped half-way, so
// the API records the event and starts this workflow, which hands the users
// off in batches. It is new code with no recorded histories: it needs no
// GetVersion yet, and the migration workflow is untouched by it.
const (
	// FanOutWorkflowType is the registered type of the fan-out workflow.
	FanOutWorkflowType = "BridgeFanOut"
	// HandOffBatchActivity is the activity that hands one batch of a
	// fan-out's users to their migration workflows (internal/intake
	// implements it: the hand-off is the API's, and intake imports this
	// package, so the workflow names it rather than referring to it).
	HandOffBatchActivity = "HandOffBridgeBatch"
	// DefaultFanOutBatch is how many users one activity hands off.
	DefaultFanOutBatch = 200
	// fanOutBatchesPerExecution keeps a fan-out's history short: after this
	// many batches it continues as new with its cursor.
	fanOutBatchesPerExecution = 500
)

// FanOutWorkflowID is one fan-out per tenant and event: the API starts it
// with the event's ID, so a retried POST finds it instead of starting a
// second one.
func FanOutWorkflowID(tenantID, eventID string) string {
	return "mms-fanout/" + tenantID + "/" + eventID
}

// FanOutInput is the fan-out workflow's input: the event, already recorded
// by the API under EventID (its payload is read back from the store, so
// the history does not carry it).
type FanOutInput struct {
	TenantID    string `json:"tenantId"`
	EventID     string `json:"eventId"`
	RequestedBy string `json:"requestedBy"`
	// Runs are the run settings (MaxRetries, RetryIntervalSeconds,
	// PagesPerExecution, RunDeadlineSeconds) of the migrations the fan-out
	// starts, the defaults of the process that started the fan-out (the
	// API's, not the worker's, which runs it); other fields are ignored.
	Runs Input `json:"runs,omitzero"`
	// BatchSize is how many users one activity hands off (0: DefaultFanOutBatch).
	BatchSize int `json:"batchSize,omitempty"`
	// After is the cursor: the last user (in ID order) of the batches
	// done. The workflow advances it, and carries it across continue-as-new;
	// each HandOffBatchActivity call hands off up to BatchSize users after it.
	After string `json:"after,omitempty"`
}

// FanOutProgress is what a batch did: the cursor to continue from, how many
// of the bridge's users are handed off so far, of how many.
type FanOutProgress struct {
	After     string `json:"after"`
	HandedOff int    `json:"handedOff"`
	Total     int    `json:"total"`
	Done      bool   `json:"done"`
}

// FanOut hands a recorded bridge event's users to their migration
// workflows, batch after batch. A batch that fails is retried from its
// heartbeat (the users already handed off are recorded, and skipped), with
// no limit on attempts within a day: a store or Temporal outage delays the
// hand-off instead of losing it. The event's record shows the progress.
func FanOut(ctx workflow.Context, in FanOutInput) (FanOutProgress, error) {
	if in.BatchSize <= 0 {
		in.BatchSize = DefaultFanOutBatch
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    10 * time.Minute,
		ScheduleToCloseTimeout: 24 * time.Hour,
		HeartbeatTimeout:       time.Minute,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 5 * time.Minute},
	})
	var p FanOutProgress
	for i := 0; ; i++ {
		if i == fanOutBatchesPerExecution {
			return p, workflow.NewContinueAsNewError(ctx, FanOutWorkflowType, in)
		}
		if err := workflow.ExecuteActivity(ctx, HandOffBatchActivity, in).Get(ctx, &p); err != nil {
			return p, err
		}
		if p.Done {
			return p, nil
		}
		in.After = p.After
	}
}

// WithDefaults returns in with its zero run settings (MaxRetries,
// RetryIntervalSeconds, PagesPerExecution, RunDeadlineSeconds) taken from d.
func (in Input) WithDefaults(d Input) Input {
	for _, f := range []struct {
		field *int
		v     int
	}{{&in.MaxRetries, d.MaxRetries},
		{&in.RetryIntervalSeconds, d.RetryIntervalSeconds}, {&in.PagesPerExecution, d.PagesPerExecution},
		{&in.RunDeadlineSeconds, d.RunDeadlineSeconds}} {
		if *f.field == 0 {
			*f.field = f.v
		}
	}
	return in
}
