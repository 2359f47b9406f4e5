// Package workflows holds the migration workflow: one durable execution per
// tenant and user that merges triggers, then migrates the user's meetings.
//
// The names and types in this file are a public contract: upstream systems
// start and signal the workflow with any Temporal SDK or the temporal CLI.
package workflows

import (
	"github.com/openmms/mms/internal/migration"
)

// The contract.
const (
	// TaskQueue is where the mms workers poll.
	TaskQueue = "mms-migrations"
	// MigrationWorkflowType is the registered workflow type name.
	MigrationWorkflowType = "MeetingMigration"
	// TriggerSignal carries a migration.Trigger; signal-with-start it.
	TriggerSignal = "trigger"
	// StatusQuery returns a Status.
	StatusQuery = "status"
	// CancelSignal carries a Cancel: the run stops after its current page
	// (or before it starts) and is recorded as Failed, "cancelled by <who>".
	CancelSignal = "cancel"
)

// Search attributes the workflow maintains, for the Temporal UI and list filters.
const (
	SearchAttrTenant = "MmsTenant"
	SearchAttrUser   = "MmsUser"
	SearchAttrState  = "MmsState"
)

// WorkflowID is the stable ID of a user's migration workflow, so that every
// trigger for the user reaches the same execution.
func WorkflowID(tenantID, userID string) string {
	return "mms-migration/" + tenantID + "/" + userID
}

// DryRunWorkflowID is the ID of a dry run: its own execution, so it never
// merges with the user's real migration.
func DryRunWorkflowID(tenantID, userID, correlationID string) string {
	return "mms-dryrun/" + tenantID + "/" + userID + "/" + correlationID
}

// Input starts the workflow.
type Input struct {
	TenantID string `json:"tenantId"`
	UserID   string `json:"userId"`
	// RunDeadlineSeconds bounds one run (0: 12 hours, as Microsoft's service).
	RunDeadlineSeconds int `json:"runDeadlineSeconds,omitempty"`
	// PagesPerExecution: a run continues as new after this many pages
	// (0: DefaultPagesPerExecution), to keep the history short.
	PagesPerExecution int `json:"pagesPerExecution,omitempty"`
	// MaxRetries and RetryIntervalSeconds: failed meetings are retried this
	// many times, this far apart (0: 9 times over 24 hours).
	MaxRetries           int `json:"maxRetries,omitempty"`
	RetryIntervalSeconds int `json:"retryIntervalSeconds,omitempty"`
	// Pending carries triggers over a continue-as-new; callers leave it empty.
	Pending []migration.Trigger `json:"pending,omitempty"`
	// DryRun computes every meeting's outcome and diff, writing and sending
	// nothing; CorrelationID names its record (created by the caller).
	DryRun        bool   `json:"dryRun,omitempty"`
	CorrelationID string `json:"correlationId,omitempty"`
	// Resume carries a run in progress over a continue-as-new; callers leave
	// it empty. Its type is the workflow's own (migration.go), not a contract.
	Resume *RunState `json:"resume,omitempty"`
}

// Cancel asks the user's running migration to stop.
type Cancel struct {
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
}

func (c Cancel) who() string {
	who := c.By
	if who == "" {
		who = "an operator"
	}
	if c.Reason != "" {
		who += " (" + c.Reason + ")"
	}
	return who
}

// Status is the StatusQuery answer.
type Status struct {
	TenantID        string          `json:"tenantId"`
	UserID          string          `json:"userId"`
	State           migration.State `json:"state"`
	CorrelationID   string          `json:"correlationId,omitempty"`
	Round           int             `json:"round"`
	PendingTriggers int             `json:"pendingTriggers"`
	Pages           int             `json:"pages"`
	Updated         int             `json:"updated"`
	UpToDate        int             `json:"upToDate"`
	Skipped         int             `json:"skipped"`
	Failed          int             `json:"failed"`
	Retries         int             `json:"retries"`
	LastResult      string          `json:"lastResult,omitempty"`

	indexed migration.State // the MmsState search attribute's current value
}
