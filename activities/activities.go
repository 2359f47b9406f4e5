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
	"strings"
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
	// FloodHour is the period of flood control's hourly budgets (a day is
	// 24 of them): an hour; tests shorten it.
	FloodHour time.Duration
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

	// The fields below are set only by workflow code that knows them
	// (GetVersion "trigger-semantics"); a run recorded before leaves them
	// empty and begins as it always did.

	// Merged lists the triggers the run serves, for the record's LastMessage.
	Merged string `json:"merged,omitempty"`
	// CheckSwitches: no trigger of the run is an admin's own, so the
	// tenant's MeetingMigrationEnabled is checked again as the run begins.
	CheckSwitches bool `json:"checkSwitches,omitempty"`
	// ReplaceThirdParty: a trigger moved the user from a third party to
	// Microsoft (see migration.Trigger).
	ReplaceThirdParty bool `json:"replaceThirdParty,omitempty"`
	// Events are the changes the triggers announce, applied to the
	// directory before the profile is read; EventsOnly says every trigger
	// carried one (a run whose events all decide "ignored" is not run).
	Events     []TriggerEvent `json:"events,omitempty"`
	EventsOnly bool           `json:"eventsOnly,omitempty"`
	// Refused, when set, is why a trigger of the run is malformed: the
	// run is refused (Failed with it) and nothing is applied.
	Refused string `json:"refused,omitempty"`
	// FloodControl (GetVersion "flood-control"): the run's updates respect
	// the tenant's window and budgets (RunPlan.Flood).
	FloodControl bool `json:"floodControl,omitempty"`
}

// TriggerEvent is a trigger's event, as the workflow received it. Key names
// it when its JSON has no "id", so that a retried BeginRun finds the
// decision it recorded instead of applying the change twice.
type TriggerEvent struct {
	Key   string          `json:"key"`
	Event json.RawMessage `json:"event"`
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
	// KeepsThirdParty: the user moved from a third party to Microsoft but
	// AutomaticallyReplaceAcpProvider is off, so the third party's blocks
	// are skipped with a reason that names the switch.
	KeepsThirdParty bool `json:"keepsThirdParty,omitempty"`
	// Flood is the tenant's flood control as the run began (nil: none;
	// a run begun before flood control existed has none).
	Flood *migration.FloodControl `json:"flood,omitempty"`
}

// BeginRun applies the changes the triggers carry, moves the user's record
// to InProgress and checks preconditions.
func (a *Activities) BeginRun(ctx context.Context, in BeginRunInput) (RunPlan, error) {
	ctx = observe(ctx, in.TenantID, in.UserID, in.CorrelationID)
	if _, err := migration.ParseUserID(in.UserID); err != nil {
		// A workflow started directly (not through intake, which checks
		// every ID) with a malformed user: refused before any record is
		// written, as the API refuses it with a 400.
		return RunPlan{TenantID: in.TenantID, UserID: in.UserID, Blocked: fmt.Sprintf("user %q: %v", in.UserID, err)}, nil
	}
	if _, err := a.DB.Tenant(ctx, in.TenantID); errors.Is(err, store.ErrNotFound) {
		// No record can name a tenant that does not exist: the refusal is
		// the workflow's last result (FinishRun finds no record to fail).
		return RunPlan{TenantID: in.TenantID, UserID: in.UserID, Blocked: fmt.Sprintf("tenant %q does not exist", in.TenantID)}, nil
	} else if err != nil {
		return RunPlan{}, err
	}
	sel, blocked, err := a.applyTriggerEvents(ctx, &in)
	if err != nil {
		return RunPlan{}, err
	}
	rec, err := a.DB.BeginRun(ctx, store.Request{TenantID: in.TenantID, UserID: in.UserID, Trigger: in.Trigger,
		MigrationType:     migration.TypeOf(sel.Source, sel.Target),
		SourceMeetingType: sel.Source, TargetMeetingType: sel.Target, Merged: in.Merged,
		WorkflowID: in.WorkflowID, CorrelationID: in.CorrelationID}, in.RunKey)
	if err != nil {
		return RunPlan{}, err
	}
	if blocked == "" {
		for _, e := range in.Events { // the events' records name the run they started
			if err := a.DB.SetEventCorrelation(ctx, in.TenantID, e.Key, in.UserID, rec.CorrelationID); err != nil {
				return RunPlan{}, err
			}
		}
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
		SourceMeetingType: sel.Source, TargetMeetingType: sel.Target, From: now, To: now.Add(horizon),
		DryRun: in.DryRun}
	if plan.Blocked = blocked; blocked != "" {
		return plan, nil
	}
	tenant, err := a.DB.Tenant(ctx, in.TenantID)
	if errors.Is(err, store.ErrNotFound) {
		plan.Blocked = fmt.Sprintf("tenant %q does not exist", in.TenantID)
		return plan, nil
	} else if err != nil {
		return RunPlan{}, err
	}
	if in.CheckSwitches && !tenant.Settings.MeetingMigrationEnabled {
		// Turned off while the run waited out its quiet period: the
		// automatic service is off, so the run is not made (an admin's
		// manual start still would be, as Start-CsExMeetingMigration).
		plan.Blocked = migration.NotRunDisabled
		return plan, nil
	}
	plan.ParticipantLimit = tenant.Settings.ParticipantLimit
	plan.DefaultLanguage = tenant.Settings.DefaultLanguage
	if f := tenant.Settings.FloodControl(); in.FloodControl && !in.DryRun && f.Limited() {
		plan.Flood = &f
	}
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
	if in.ReplaceThirdParty && plan.Profile.Provider == meetingblock.ProviderMicrosoft {
		// The user left a third party for Microsoft: the tenant's switch
		// says whether the third party's blocks become Microsoft's.
		plan.Profile.ReplaceThirdParty = tenant.Settings.AutomaticallyReplaceAcpProvider
		plan.KeepsThirdParty = !tenant.Settings.AutomaticallyReplaceAcpProvider
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
	// TenantID, UserID and RunKey find the record when MigrationID is not
	// known (BeginRun never got through): see store.RunRecord.
	TenantID string `json:"tenantId,omitempty"`
	UserID   string `json:"userId,omitempty"`
	RunKey   string `json:"runKey,omitempty"`
	// Message, when set, fails the run with it (blocked, or an error).
	Message string `json:"message,omitempty"`
	// Note is kept in LastMessage whatever the outcome (after the failure
	// message when there is one): what the run did not act on, such as a
	// cancel that arrived after its last page.
	Note string `json:"note,omitempty"`
}

// FinishRun sets the final state: Failed when a message is given or any
// meeting failed, Succeeded otherwise.
func (a *Activities) FinishRun(ctx context.Context, in FinishRunInput) (store.StatusRecord, error) {
	rec, err := a.runRecord(ctx, in.MigrationID, in.TenantID, in.UserID, in.RunKey)
	if in.MigrationID == "" && in.Message != "" && errors.Is(err, store.ErrNotFound) {
		// A refusal with no record to carry it (the tenant does not exist).
		return store.StatusRecord{TenantID: in.TenantID, UserID: in.UserID, State: migration.StateFailed, LastMessage: in.Message}, nil
	}
	if err != nil {
		return store.StatusRecord{}, err
	}
	ctx = observe(ctx, rec.TenantID, rec.UserID, rec.CorrelationID)
	if rec.State == migration.StatePending && in.Message != "" {
		// The run gave up before it could claim its record.
		out, err := a.DB.FailOpen(ctx, rec.CorrelationID, in.Message)
		if err == nil {
			a.Instruments.Transition(ctx, a.logger(), rec.TenantID, rec.UserID, rec.CorrelationID, migration.StatePending,
				migration.StateFailed, in.Message)
		}
		return out, err
	}
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
	if in.Note != "" {
		msg = strings.TrimPrefix(msg+"; "+in.Note, "; ")
	}
	out, err := a.DB.FinishRun(ctx, rec.CorrelationID, state, msg)
	if err != nil {
		return out, err
	}
	a.Instruments.Transition(ctx, a.logger(), rec.TenantID, rec.UserID, rec.CorrelationID, migration.StateInProgress, state, msg)
	return out, nil
}

// runRecord reads a run's record by ID, or by the run's key when BeginRun
// never returned one; a record that does not exist is not worth retrying.
func (a *Activities) runRecord(ctx context.Context, id, tenantID, userID, runKey string) (store.StatusRecord, error) {
	var rec store.StatusRecord
	var err error
	if id != "" {
		rec, err = a.DB.StatusRecord(ctx, id)
	} else {
		rec, err = a.DB.RunRecord(ctx, tenantID, userID, runKey)
	}
	if errors.Is(err, store.ErrNotFound) {
		return rec, temporal.NewNonRetryableApplicationError(err.Error(), "NotFound", err)
	}
	return rec, err
}

// NoteRunInput says why a run waits to try again.
type NoteRunInput struct {
	MigrationID string `json:"migrationId,omitempty"`
	TenantID    string `json:"tenantId,omitempty"`
	UserID      string `json:"userId,omitempty"`
	RunKey      string `json:"runKey,omitempty"`
	Message     string `json:"message"`
	Attempt     int    `json:"attempt"`
}

// NoteRun writes the cause of a run's orchestration failure, and the retry
// it waits for, on its record: an admin reads why it is not done yet.
func (a *Activities) NoteRun(ctx context.Context, in NoteRunInput) error {
	rec, err := a.runRecord(ctx, in.MigrationID, in.TenantID, in.UserID, in.RunKey)
	if err != nil {
		return err
	}
	return a.DB.NoteRun(ctx, rec.CorrelationID, in.Message, in.Attempt)
}

// OpenPendingInput records a trigger the workflow received directly.
type OpenPendingInput struct {
	TenantID   string            `json:"tenantId"`
	UserID     string            `json:"userId"`
	WorkflowID string            `json:"workflowId"`
	Trigger    migration.Trigger `json:"trigger"`
}

// OpenPending opens the user's Pending record for a trigger an upstream
// system signalled directly (or merges it into the one already pending),
// as the API does for its own triggers.
func (a *Activities) OpenPending(ctx context.Context, in OpenPendingInput) (store.StatusRecord, error) {
	sel := migration.Merge(in.Trigger)
	rec, err := a.DB.OpenPending(ctx, store.Request{TenantID: in.TenantID, UserID: in.UserID, Trigger: sel.Reason,
		MigrationType: sel.Type(), SourceMeetingType: sel.Source, TargetMeetingType: sel.Target, WorkflowID: in.WorkflowID})
	if err == nil && rec.TriggerCount == 1 {
		a.Instruments.Transition(ctx, a.logger(), in.TenantID, in.UserID, rec.CorrelationID, "", migration.StatePending, "")
	}
	return rec, err
}

// AmendRunInput amends the record of a run that has finished: the triggers
// it served after it began, and a cancel that came too late to stop it.
type AmendRunInput struct {
	MigrationID string `json:"migrationId"`
	TenantID    string `json:"tenantId"`
	UserID      string `json:"userId"`
	// Plan, when set, is the plan the run made: the triggers in Served
	// count as served only while the user's profile and the tenant's
	// settings the run used are unchanged.
	Plan *RunPlan `json:"plan,omitempty"`
	// TriggerCount and Message are the record's new trigger count and
	// LastMessage (absolute: a retried attempt writes the same).
	TriggerCount int    `json:"triggerCount"`
	Message      string `json:"message"`
	// Served are the Pending records of the served triggers, each with
	// the number of its triggers served so far.
	Served []store.Served `json:"served,omitempty"`
}

// AmendRun amends a finished run's record. It answers false, changing
// nothing, when the run's plan no longer holds (the user's conferencing
// profile or the tenant's block settings changed since the run read them):
// the triggers then bring something new and get a run of their own.
func (a *Activities) AmendRun(ctx context.Context, in AmendRunInput) (bool, error) {
	ctx = observe(ctx, in.TenantID, in.UserID, in.MigrationID)
	if in.Plan != nil {
		same, err := a.planHolds(ctx, *in.Plan)
		if err != nil || !same {
			return false, err
		}
	}
	return a.DB.AmendFinished(ctx, in.MigrationID, in.TriggerCount, in.Message, in.Served)
}

// planHolds says whether a run made with plan would be made the same way
// now: same conferencing profile, same participant limit and language.
func (a *Activities) planHolds(ctx context.Context, plan RunPlan) (bool, error) {
	tenant, err := a.DB.Tenant(ctx, plan.TenantID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if tenant.Settings.ParticipantLimit != plan.ParticipantLimit || tenant.Settings.DefaultLanguage != plan.DefaultLanguage {
		return false, nil
	}
	user, err := a.DB.User(ctx, plan.TenantID, plan.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	var now meetingblock.Profile
	if err := json.Unmarshal(user.Profile, &now); err != nil {
		return false, nil
	}
	// ReplaceThirdParty is the run's decision, not the directory's.
	was := plan.Profile
	was.ReplaceThirdParty, now.ReplaceThirdParty = false, false
	a1, err1 := json.Marshal(was)
	a2, err2 := json.Marshal(now)
	return err1 == nil && err2 == nil && string(a1) == string(a2), nil
}
