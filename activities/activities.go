// Package activities holds the side effects of a migration: reading the
// directory and the calendar back end, replacing blocks, updating meetings
// and recording status. Each activity is idempotent, because Temporal may
// run it again after a crash or a timeout.
package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/telemetry"
)

// Activities are registered on the worker as one struct; its dependencies
// are shared by every activity execution.
type Activities struct {
	DB       *store.DB
	Calendar calendar.Backend
	// Horizon is how far ahead meetings are migrated (default two years).
	Horizon time.Duration
	// PageSize is the number of meetings one ProcessPage handles.
	PageSize int
	// Concurrency is how many meetings of a page are updated at once
	// (default 4: Graph serves 4 concurrent requests per mailbox, and a
	// latency-bound back end is only fast when they are all used).
	Concurrency int
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Logger gets one line per state transition (nil: slog.Default()).
	Logger *slog.Logger
	// Instruments count state transitions and meeting outcomes and trace
	// each meeting (nil: none).
	Instruments *telemetry.Instruments
}

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

// BeginRunInput opens a run for the triggers the workflow merged.
type BeginRunInput struct {
	TenantID          string           `json:"tenantId"`
	UserID            string           `json:"userId"`
	RunKey            string           `json:"runKey"` // workflow ID, run ID and round: idempotency of BeginRun
	WorkflowID        string           `json:"workflowId"`
	Trigger           string           `json:"trigger"`
	SourceMeetingType migration.Source `json:"sourceMeetingType"`
	TargetMeetingType migration.Target `json:"targetMeetingType"`
	// DryRun: compute outcomes and diffs only; CorrelationID is its record.
	DryRun        bool   `json:"dryRun,omitempty"`
	CorrelationID string `json:"correlationId,omitempty"`
}

// RunPlan is everything a run needs, decided once at its start.
type RunPlan struct {
	MigrationID       string               `json:"migrationId"`
	TenantID          string               `json:"tenantId"`
	UserID            string               `json:"userId"`
	Mailbox           string               `json:"mailbox"`
	Profile           meetingblock.Profile `json:"profile"`
	SourceMeetingType migration.Source     `json:"sourceMeetingType"`
	TargetMeetingType migration.Target     `json:"targetMeetingType"`
	ParticipantLimit  int                  `json:"participantLimit"`
	From              time.Time            `json:"from"` // "now" for this run: earlier meetings are past
	To                time.Time            `json:"to"`
	DryRun            bool                 `json:"dryRun,omitempty"`
	// DefaultLanguage is the tenant's default block language.
	DefaultLanguage string `json:"defaultLanguage,omitempty"`
	// Blocked, when set, is why the run cannot proceed (retrying cannot help).
	Blocked string `json:"blocked,omitempty"`
}

// BeginRun moves the user's record to InProgress and checks preconditions.
func (a *Activities) BeginRun(ctx context.Context, in BeginRunInput) (RunPlan, error) {
	ctx = observe(ctx, in.TenantID, in.UserID, in.CorrelationID)
	rec, err := a.DB.BeginRun(ctx, store.Request{TenantID: in.TenantID, UserID: in.UserID, Trigger: in.Trigger,
		MigrationType:     migration.TypeOf(in.SourceMeetingType, in.TargetMeetingType),
		SourceMeetingType: in.SourceMeetingType, TargetMeetingType: in.TargetMeetingType,
		WorkflowID: in.WorkflowID, CorrelationID: in.CorrelationID}, in.RunKey)
	if err != nil {
		return RunPlan{}, err
	}
	ctx = observe(ctx, in.TenantID, in.UserID, rec.CorrelationID)
	if activity.GetInfo(ctx).Attempt == 1 {
		a.Instruments.Transition(ctx, a.logger(), in.TenantID, in.UserID, rec.CorrelationID,
			migration.StatePending, migration.StateInProgress, "")
	}
	now := a.now()
	horizon := a.Horizon
	if horizon <= 0 {
		horizon = 2 * 365 * 24 * time.Hour
	}
	plan := RunPlan{MigrationID: rec.CorrelationID, TenantID: in.TenantID, UserID: in.UserID, Mailbox: in.UserID,
		SourceMeetingType: in.SourceMeetingType, TargetMeetingType: in.TargetMeetingType, From: now, To: now.Add(horizon),
		DryRun: in.DryRun}
	tenant, err := a.DB.Tenant(ctx, in.TenantID)
	if errors.Is(err, store.ErrNotFound) {
		plan.Blocked = fmt.Sprintf("tenant %q does not exist", in.TenantID)
		return plan, nil
	} else if err != nil {
		return RunPlan{}, err
	}
	plan.ParticipantLimit = tenant.Settings.ParticipantLimit
	plan.DefaultLanguage = tenant.Settings.DefaultLanguage
	user, err := a.DB.User(ctx, in.TenantID, in.UserID)
	if errors.Is(err, store.ErrNotFound) {
		plan.Blocked = fmt.Sprintf("user %q is not in the directory of tenant %q", in.UserID, in.TenantID)
		return plan, nil
	} else if err != nil {
		return RunPlan{}, err
	}
	if err := json.Unmarshal(user.Profile, &plan.Profile); err != nil {
		plan.Blocked = fmt.Sprintf("conferencing profile of %q is not valid JSON: %v", in.UserID, err)
		return plan, nil
	}
	if err := plan.Profile.Validate(); err != nil {
		plan.Blocked = fmt.Sprintf("conferencing profile of %q: %v", in.UserID, err)
		return plan, nil
	}
	if plan.Profile.Provider == "ThirdParty" {
		plan.Blocked = "the user's audio conferencing provider is a third party: meetings keep its numbers"
		return plan, nil
	}
	mb, err := a.Calendar.Mailbox(ctx, in.TenantID, in.UserID)
	var perm *calendar.PermanentError
	if errors.As(err, &perm) {
		// Retrying cannot change it (Graph does not know the mailbox, the
		// identity platform refuses the app): fail now, with the remedy.
		plan.Blocked = perm.Message
		return plan, nil
	} else if errors.Is(err, calendar.ErrNotFound) {
		plan.Blocked = fmt.Sprintf("no mailbox for %q in the calendar back end", in.UserID)
		return plan, nil
	} else if err != nil {
		return RunPlan{}, err
	}
	if !mb.Online {
		plan.Blocked = "the organizer's mailbox is on premises; only mailboxes in the online service can be migrated"
		return plan, nil
	}
	// Every later call names the mailbox as the back end resolved it (Graph:
	// the object ID; a mail address may not name the user at all).
	plan.Mailbox = mb.Key()
	if c, ok := a.Calendar.(calendar.Counter); ok {
		// Only for progress: a back end that cannot count leaves it unknown.
		if n, err := c.CountMeetings(ctx, in.TenantID, plan.Mailbox, plan.From, plan.To); err == nil {
			if err := a.DB.SetExpected(ctx, rec.CorrelationID, n); err != nil {
				return RunPlan{}, err
			}
		}
	}
	return plan, nil
}

// FinishRunInput closes a run.
type FinishRunInput struct {
	MigrationID string `json:"migrationId"`
	// Message, when set, fails the run with it (blocked, or an error).
	Message string `json:"message,omitempty"`
}

// FinishRun sets the final state: Failed when a message is given or any
// meeting failed, Succeeded otherwise.
func (a *Activities) FinishRun(ctx context.Context, in FinishRunInput) (store.StatusRecord, error) {
	rec, err := a.DB.StatusRecord(ctx, in.MigrationID)
	if err != nil {
		return store.StatusRecord{}, temporal.NewNonRetryableApplicationError(err.Error(), "NotFound", err)
	}
	ctx = observe(ctx, rec.TenantID, rec.UserID, rec.CorrelationID)
	if rec.State != migration.StateInProgress {
		return rec, nil // already finished by an earlier attempt
	}
	state, msg := migration.StateSucceeded, in.Message
	switch {
	case in.Message != "":
		state = migration.StateFailed
	case rec.FailedMeeting > 0:
		state, msg = migration.StateFailed, fmt.Sprintf("%d of %d meetings failed; last error: %s",
			rec.FailedMeeting, rec.TotalMeeting, rec.LastMessage)
	}
	out, err := a.DB.FinishRun(ctx, in.MigrationID, state, msg)
	if err != nil {
		return out, err
	}
	a.Instruments.Transition(ctx, a.logger(), rec.TenantID, rec.UserID, rec.CorrelationID, migration.StateInProgress, state, msg)
	return out, nil
}
