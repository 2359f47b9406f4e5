package faulttest

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/openmms/mms/internal/temporalclient"
	"github.com/openmms/mms/workflows"
)

// retriedActivities reads the selected organizers' workflow histories (every
// run, following continue-as-new back to the first) and describes each
// activity that completed on an attempt after its first, with the failure
// of the attempt before. Temporal writes an activity's retries into the
// history only as the attempt number and last failure of the attempt that
// ended it, so this is where a timed-out page shows.
func (c *cluster) retriedActivities() (retried []string, activities int) {
	c.t.Helper()
	addr := c.hostAddr(c.temporal, "7233/tcp")
	if addr == "" {
		c.t.Fatal("temporal's port is not published")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := temporalclient.Dial(ctx, temporalclient.Config{Address: addr, Namespace: "default"},
		slog.New(slog.DiscardHandler))
	if err != nil {
		c.t.Fatalf("dial temporal at %s: %v", addr, err)
	}
	defer cl.Close()
	for _, u := range c.selected {
		id, run := workflows.WorkflowID(tenant, u), ""
		for {
			types := map[int64]string{} // scheduled event id -> activity type
			prev := ""
			it := cl.GetWorkflowHistory(ctx, id, run, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for it.HasNext() {
				ev, err := it.Next()
				if err != nil {
					c.t.Fatalf("history of %s (run %q): %v", id, run, err)
				}
				if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
					prev = a.GetContinuedExecutionRunId()
				}
				if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
					types[ev.GetEventId()] = a.GetActivityType().GetName()
				}
				if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
					activities++
					if a.GetAttempt() > 1 {
						retried = append(retried, fmt.Sprintf("%s: %s ended on attempt %d after %q", u,
							types[a.GetScheduledEventId()], a.GetAttempt(), a.GetLastFailure().GetMessage()))
					}
				}
			}
			if prev == "" {
				break
			}
			run = prev
		}
	}
	return retried, activities
}
