package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/openmms/mms/internal/changes"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/rules"
	"github.com/openmms/mms/internal/store"
)

// triggerEvent is an event a trigger carries: the events API's body.
type triggerEvent struct {
	ID string `json:"id,omitempty"`
	rules.Event
}

// applyTriggerEvents applies the events the run's triggers carry to the
// directory, through the same decision and compare-and-set as the events
// API, and returns the run's selection widened by their decisions, or why
// the run is refused. Every event is checked before any is applied, so a
// malformed one changes nothing. Each is recorded under its ID (or its
// trigger's key), so a retried BeginRun finds its decision and applies
// nothing twice. It sets in.ReplaceThirdParty when an applied event moved
// the user from a third party to Microsoft.
func (a *Activities) applyTriggerEvents(ctx context.Context, in *BeginRunInput) (migration.Selection, string, error) {
	sel := migration.Selection{Source: in.SourceMeetingType, Target: in.TargetMeetingType}
	if in.Refused != "" {
		return sel, "trigger refused: " + in.Refused, nil
	}
	if len(in.Events) == 0 {
		return sel, "", nil
	}
	evs := make([]triggerEvent, len(in.Events))
	for i, raw := range in.Events {
		e := &evs[i]
		if err := json.Unmarshal(raw.Event, e); err != nil {
			return sel, "trigger refused: event: not a valid event: " + err.Error(), nil
		}
		if e.User == "" {
			e.User = in.UserID
		}
		switch {
		case e.Type.TenantWide():
			return sel, fmt.Sprintf("trigger refused: event.type: %s concerns a bridge or the tenant, not one user; post it to the events API", e.Type), nil
		case e.User != in.UserID:
			return sel, fmt.Sprintf("trigger refused: event.user: %q is not this workflow's user %q", e.User, in.UserID), nil
		}
		if err := e.Validate(); err != nil {
			return sel, "trigger refused: event." + err.Error(), nil
		}
		if e.ID == "" {
			e.ID = raw.Key
		}
		in.Events[i].Key = e.ID // the ID it is recorded under, linked to the run's record

	}
	tenant, err := a.DB.Tenant(ctx, in.TenantID)
	if errors.Is(err, store.ErrNotFound) {
		return sel, "", nil // BeginRun refuses the run, naming the tenant
	} else if err != nil {
		return sel, "", err
	}
	if _, err := a.DB.User(ctx, in.TenantID, in.UserID); errors.Is(err, store.ErrNotFound) {
		return sel, "", nil // BeginRun refuses the run, naming the user
	} else if err != nil {
		return sel, "", err
	}
	triggered := false
	var ignored []string
	for _, e := range evs {
		rec, err := a.recordTriggerEvent(ctx, tenant, e)
		if err != nil {
			return sel, "", err
		}
		if !rec.Triggered {
			ignored = append(ignored, strings.TrimPrefix(rec.Reason, "ignored: "))
			continue
		}
		triggered = true
		sel.Source = migration.WidenSource(sel.Source, rec.SourceMeetingType)
		if rec.TargetMeetingType == migration.TargetTeams {
			sel.Target = migration.TargetTeams
		}
		in.ReplaceThirdParty = in.ReplaceThirdParty || e.Type.MovesToMicrosoft()
	}
	if !triggered && in.CheckSwitches && !tenant.Settings.MeetingMigrationEnabled {
		return sel, migration.NotRunDisabled, nil
	}
	if !triggered && in.EventsOnly && in.CheckSwitches {
		// As the API would have decided: the changes are recorded (and
		// applied where they fit), but none of them asks for a run.
		return sel, "not run: " + strings.Join(ignored, "; "), nil
	}
	return sel, "", nil
}

// recordTriggerEvent records e's decision once: a retried BeginRun finds it.
func (a *Activities) recordTriggerEvent(ctx context.Context, tenant store.Tenant, e triggerEvent) (store.Event, error) {
	done, err := a.DB.EventsByID(ctx, tenant.ID, e.ID)
	if err != nil {
		return store.Event{}, err
	}
	for _, d := range done {
		if d.UserID == e.User {
			return d, nil
		}
	}
	payload, err := json.Marshal(e)
	if err != nil {
		return store.Event{}, err
	}
	return changes.Record(ctx, a.DB, tenant, e.ID, e.Event, e.User, payload)
}
