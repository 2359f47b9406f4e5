package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/openmms/mms/internal/changes"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/workflows"
)

// SyncFanOutLimit: a bridge event for at most this many users is handed off
// within its request, as every other event is, so the answer lists each
// user's decision. A larger fan-out would hold the request for as many
// signal-with-starts (5,000 users take minutes) and lose the rest if the
// process stopped half-way: it is recorded and handed to the fan-out
// workflow (workflows.FanOut), and the request answers at once.
const SyncFanOutLimit = 100

// fanOutPrefix begins the reason of a background fan-out's own record (the
// event's record for nobody, user ""): a retried POST knows by it that the
// users are the fan-out workflow's to hand off.
const fanOutPrefix = "fan-out: "

// fanOutParallel is how many users of a batch are handed off at once.
const fanOutParallel = 8

func fanOutReason(bridgeID string, handed, total int) string {
	return fmt.Sprintf("%shanded off %d of %d users on bridge %s", fanOutPrefix, handed, total, bridgeID)
}

// fanOutRecord says whether an event's records are a background fan-out's.
func fanOutRecord(recs []store.Event) bool {
	for _, r := range recs {
		if r.UserID == "" && strings.HasPrefix(r.Reason, fanOutPrefix) {
			return true
		}
	}
	return false
}

// fanOut records a bridge event for its users' background hand-off and
// starts the fan-out workflow. The answer is the event's own record,
// "handed off 0 of N users", which the fan-out updates as it goes.
func (s *Service) fanOut(ctx context.Context, tenant store.Tenant, requester string, e Event, payload []byte, users int) ([]store.Event, error) {
	rec, err := s.db.RecordEvent(ctx, tenant.ID, store.Event{ID: e.ID, Type: string(e.Type), Payload: payload,
		Reason: fanOutReason(e.BridgeID, 0, users), BodyHash: changes.BodyHash(e.Event)}, nil, nil)
	if err != nil {
		return nil, err
	}
	return []store.Event{rec}, s.startFanOut(ctx, tenant.ID, e.ID, requester)
}

// startFanOut starts the event's fan-out workflow unless it runs or has
// completed: the workflow ID is the event's, so a retried POST never starts
// a second one, and only a fan-out that failed or was terminated is started
// again (it resumes: users already handed off are skipped).
func (s *Service) startFanOut(ctx context.Context, tenantID, eventID, requester string) error {
	wfID := workflows.FanOutWorkflowID(tenantID, eventID)
	_, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wfID, TaskQueue: workflows.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY},
		workflows.FanOutWorkflowType, workflows.FanOutInput{TenantID: tenantID, EventID: eventID, RequestedBy: requester, BatchSize: s.fanOutBatch})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		s.logger.ErrorContext(ctx, "start fan-out", "workflowId", wfID, "error", err)
		return unavailable("temporal", "could not hand the fan-out to Temporal: "+err.Error()+
			"; post the event again with the same id", err)
	}
	return nil
}

// HandOffBatch is the fan-out workflow's activity (workflows.HandOffBatchActivity):
// it hands off up to in.BatchSize users of the bridge after in.After, in ID
// order, through the same decide, record and signal-with-start as a small
// fan-out, and writes the progress on the event's record. It heartbeats
// each user, so a retried batch resumes after the last one; a user whose
// decision is already recorded is only handed off if it has not been, so
// resuming from anywhere earlier is safe too.
func (s *Service) HandOffBatch(ctx context.Context, in workflows.FanOutInput) (workflows.FanOutProgress, error) {
	var p workflows.FanOutProgress
	tenant, err := s.db.Tenant(ctx, in.TenantID)
	if err != nil {
		return p, err
	}
	recs, err := s.db.EventsByID(ctx, in.TenantID, in.EventID)
	if err != nil {
		return p, err
	}
	var e Event
	var payload []byte
	done := make(map[string]store.Event, len(recs))
	for _, r := range recs {
		if r.UserID == "" {
			if payload = r.Payload; json.Unmarshal(payload, &e) != nil {
				return p, temporal.NewNonRetryableApplicationError("event "+in.EventID+" is not valid JSON", "BadEvent", nil)
			}
		} else {
			done[r.UserID] = r
		}
	}
	if e.BridgeID == "" {
		return p, temporal.NewNonRetryableApplicationError("event "+in.EventID+" is not a recorded bridge event", "BadEvent", nil)
	}
	users, err := s.bridgeUsers(ctx, tenant.ID, e.BridgeID)
	if err != nil {
		return p, err
	}
	p.After, p.Total = in.After, len(users)
	if activity.HasHeartbeatDetails(ctx) {
		var last string
		if activity.GetHeartbeatDetails(ctx, &last) == nil && last > p.After {
			p.After = last
		}
	}
	// The migrations start with the run defaults of the API that took the
	// event, as the migrations of a small fan-out do.
	s = s.withRuns(in.Runs)
	batch := in.BatchSize
	if batch <= 0 {
		batch = workflows.DefaultFanOutBatch
	}
	i := sort.Search(len(users), func(i int) bool { return users[i] > p.After })
	end := min(i+batch, len(users))
	for i < end {
		// A few users at a time: each hand-off mostly waits on the store
		// and on Temporal, and users are independent of one another.
		chunk := users[i:min(i+fanOutParallel, end)]
		errs := make([]error, len(chunk))
		var wg sync.WaitGroup
		for j, user := range chunk {
			wg.Go(func() {
				if rec, ok := done[user]; ok {
					_, errs[j] = s.finishHandOff(ctx, tenant, in.RequestedBy, rec)
				} else {
					_, errs[j] = s.takeForUser(ctx, tenant, in.RequestedBy, e, payload, user)
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return p, err
		}
		i += len(chunk)
		// Every user up to here is handed off: a retry resumes after it.
		p.After = chunk[len(chunk)-1]
		activity.RecordHeartbeat(ctx, p.After)
	}
	p.Done = i >= len(users)
	if p.HandedOff, err = s.db.EventHandOffs(ctx, tenant.ID, in.EventID); err != nil {
		return p, err
	}
	return p, s.db.SetEventReason(ctx, tenant.ID, in.EventID, "", fanOutReason(e.BridgeID, p.HandedOff, p.Total))
}

// withRuns returns a service whose signal-with-starts fill the run
// settings an Input leaves zero from runs.
func (s *Service) withRuns(runs workflows.Input) *Service {
	if runs.MaxRetries == 0 && runs.RetryIntervalSeconds == 0 && runs.PagesPerExecution == 0 && runs.RunDeadlineSeconds == 0 {
		return s
	}
	c := *s
	c.temporal = runsDefaults{Client: s.temporal, runs: runs}
	return &c
}

// runsDefaults fills run settings into the migrations it signal-with-starts.
type runsDefaults struct {
	client.Client
	runs workflows.Input
}

func (c runsDefaults) SignalWithStartWorkflow(ctx context.Context, workflowID, signalName string, signalArg any,
	options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error) {
	for i, a := range args {
		if in, ok := a.(workflows.Input); ok {
			args[i] = in.WithDefaults(c.runs)
		}
	}
	return c.Client.SignalWithStartWorkflow(ctx, workflowID, signalName, signalArg, options, workflow, args...)
}
