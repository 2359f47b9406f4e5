package intake

import (
	"context"
	"errors"

	"go.temporal.io/api/serviceerror"

	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/workflows"
)

// Request is a manual start, or a dry run, of one user's migration: the
// equivalent of Start-CsExMeetingMigration.
type Request struct {
	User   string
	Source migration.Source // "" is All
	Target migration.Target // "" is Current
	// QuietPeriodSeconds delays a start (nil: at once, as a manual start
	// should). A dry run starts at once and takes none, not even 0: a
	// caller that sets one expects a delay it would not get.
	QuietPeriodSeconds *int
}

// MaxQuietPeriodSeconds bounds a quiet period: a day.
const MaxQuietPeriodSeconds = 86400

// MaxCancelReason bounds the reason given for a cancel.
const MaxCancelReason = 500

// validate checks the fields in the order a person reads the request, so the
// first complaint is about the first field.
func (r Request) validate(dryRun bool) error {
	if _, err := canonicalUser("user", r.User); err != nil {
		return err
	}
	switch {
	case r.Source != "" && !r.Source.Valid():
		_, err := migration.ParseSource(string(r.Source))
		return invalidErr("sourceMeetingType", err)
	case r.Target != "" && !r.Target.Valid():
		_, err := migration.ParseTarget(string(r.Target))
		return invalidErr("targetMeetingType", err)
	case dryRun && r.QuietPeriodSeconds != nil:
		return invalid("quietPeriodSeconds", "a dry run starts at once")
	case r.QuietPeriodSeconds != nil && (*r.QuietPeriodSeconds < 0 || *r.QuietPeriodSeconds > MaxQuietPeriodSeconds):
		return invalid("quietPeriodSeconds", "must be between 0 and %d, not %d", MaxQuietPeriodSeconds, *r.QuietPeriodSeconds)
	}
	return nil
}

// Start records a Pending migration for the user (merged into one already
// pending) and hands the trigger to the user's workflow. Errors: ErrInvalid,
// ErrNotFound (the user), ErrUnavailable (the record is then Failed).
func (s *Service) Start(ctx context.Context, tenant, requester string, r Request) (store.StatusRecord, error) {
	return s.start(ctx, tenant, requester, r, false)
}

// DryRun computes each meeting's outcome and diff under a record and an
// execution of its own, changing nothing. Errors as for Start.
func (s *Service) DryRun(ctx context.Context, tenant, requester string, r Request) (store.StatusRecord, error) {
	return s.start(ctx, tenant, requester, r, true)
}

func (s *Service) start(ctx context.Context, tenant, requester string, r Request, dryRun bool) (store.StatusRecord, error) {
	if err := r.validate(dryRun); err != nil {
		return store.StatusRecord{}, err
	}
	r.User = migration.CanonicalUserID(r.User)
	if err := s.userExists(ctx, tenant, r.User); err != nil {
		return store.StatusRecord{}, err
	}
	// Empty meeting types stay empty: migration.Merge defaults them, and a
	// later trigger's choice must be able to win over "not said".
	trigger := migration.Trigger{Reason: "manual", RequestedBy: requester, Manual: true,
		SourceMeetingType: r.Source, TargetMeetingType: r.Target}
	if r.QuietPeriodSeconds != nil {
		trigger.QuietPeriodSeconds = *r.QuietPeriodSeconds
	}
	if dryRun {
		return s.startDryRun(ctx, tenant, r.User, trigger)
	}
	return s.handOff(ctx, tenant, r.User, trigger)
}

// userExists answers ErrNotFound for a user who is not in the tenant (or a
// tenant that does not exist).
func (s *Service) userExists(ctx context.Context, tenant, user string) error {
	_, err := s.db.User(ctx, tenant, user)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("user", "user %s not found in tenant %s", quote(user), quote(tenant))
	} else if err != nil {
		return internal("user lookup", err)
	}
	return nil
}

// Cancel asks the user's workflow to stop: a run stops after its current
// page, a waiting one before it starts; the record ends Failed, "cancelled by
// <requester>". Errors: ErrInvalid (reason too long), ErrNotFound (the
// user), ErrConflict with CodeNotRunning, ErrUnavailable.
func (s *Service) Cancel(ctx context.Context, tenant, user, requester, reason string) error {
	user, err := canonicalUser("user", user)
	if err != nil {
		return err
	}
	if len(reason) > MaxCancelReason {
		return invalid("reason", "at most %d characters", MaxCancelReason)
	}
	// Only a user known to be missing stops here: on a failed lookup the
	// signal still goes, since Temporal alone knows whether a run is there
	// to stop.
	if err := s.userExists(ctx, tenant, user); errors.Is(err, ErrNotFound) {
		return err
	}
	err = s.temporal.SignalWorkflow(ctx, workflows.WorkflowID(tenant, user), "", workflows.CancelSignal,
		workflows.Cancel{By: requester, Reason: reason})
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return conflict(CodeNotRunning, "no migration is pending or in progress for %s", quote(user))
	case err != nil:
		s.logger.Error("cancel signal failed", "user", user, "error", err)
		return unavailable("temporal", "could not reach Temporal: "+err.Error(), err)
	}
	return nil
}

// RetryFailed re-runs only the meetings that failed in the user's latest
// migration, under a new record, with that migration's meeting types.
// Errors: ErrNotFound (no migration), ErrConflict with CodeInProgress or
// CodeNothingFailed, ErrUnavailable.
func (s *Service) RetryFailed(ctx context.Context, tenant, user, requester string) (store.StatusRecord, error) {
	user, err := canonicalUser("user", user)
	if err != nil {
		return store.StatusRecord{}, err
	}
	last, err := s.db.LatestStatusRecord(ctx, tenant, user)
	if errors.Is(err, store.ErrNotFound) {
		return store.StatusRecord{}, notFound("migration", "no migration for user %s to retry", quote(user))
	} else if err != nil {
		return store.StatusRecord{}, internal("latest migration", err)
	}
	if last.State == migration.StatePending || last.State == migration.StateInProgress {
		return store.StatusRecord{}, conflict(CodeInProgress, "the migration of %s is %s; retry when it has ended", quote(user), last.State)
	}
	if last.FailedMeeting == 0 {
		return store.StatusRecord{}, conflict(CodeNothingFailed, "no meeting failed in the latest migration of %s", quote(user))
	}
	return s.handOff(ctx, tenant, user, migration.Trigger{Reason: "retry failed of " + last.CorrelationID,
		RequestedBy: requester, SourceMeetingType: last.SourceMeetingType, TargetMeetingType: last.TargetMeetingType,
		RetryFailedOf: last.CorrelationID, Manual: true})
}
