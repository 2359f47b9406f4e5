package workflows

import (
	"context"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
)

// The fan-out calls its batch activity with the cursor each batch returns
// until one says it is done, and returns the last progress.
func TestFanOutAdvancesItsCursorUntilDone(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	users := []string{"a", "b", "c", "d", "e"}
	var cursors []string
	env.RegisterActivityWithOptions(func(_ context.Context, in FanOutInput) (FanOutProgress, error) {
		cursors = append(cursors, in.After)
		i := 0
		for i < len(users) && users[i] <= in.After {
			i++
		}
		end := min(i+in.BatchSize, len(users))
		return FanOutProgress{After: users[end-1], HandedOff: end, Total: len(users), Done: end == len(users)}, nil
	}, activity.RegisterOptions{Name: HandOffBatchActivity})
	env.ExecuteWorkflow(FanOut, FanOutInput{TenantID: "t", EventID: "e", BatchSize: 2})
	var p FanOutProgress
	if err := env.GetWorkflowResult(&p); err != nil {
		t.Fatal(err)
	}
	if !p.Done || p.HandedOff != 5 || len(cursors) != 3 || cursors[0] != "" || cursors[1] != "b" || cursors[2] != "d" {
		t.Fatalf("progress %+v after batches from %q", p, cursors)
	}
}
