package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/openmms/mms/internal/changes"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/rules"
	"github.com/openmms/mms/internal/store"
)

// MaxEventIDLength bounds a client's event ID.
const MaxEventIDLength = 200

// Event is one change event: a rules.Event plus an optional client ID that
// makes retries safe. It is recorded as its JSON, so the tags matter.
type Event struct {
	// ID identifies the event for retries: posting the same ID again returns
	// the recorded decision. Generated when empty.
	ID string `json:"id,omitempty"`
	rules.Event
}

// PostEvents decides each event for the users it concerns, records the
// decisions with the new profiles and hands the triggering ones to the
// users' workflows, in order. The whole batch is checked first: one bad
// event (ErrInvalid), unknown user (ErrNotFound) or event ID reused with
// another body (ErrConflict, code CodeEventIDReused) rejects it all, and
// nothing changes. An event ID reused with another body (ErrConflict, code
// CodeEventIDReused) rejects it all too. ErrUnavailable means events before the failing one may be
// recorded: posting the batch again with the same IDs is safe.
func (s *Service) PostEvents(ctx context.Context, tenantID, requester string, events []Event) ([]store.Event, error) {
	events, err := s.checkEvents(ctx, tenantID, events)
	if err != nil {
		return nil, err
	}
	if err := s.checkEventIDs(ctx, tenantID, events); err != nil {
		return nil, err
	}
	tenant, err := s.tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	results := []store.Event{}
	for _, e := range events {
		out, err := s.takeEvent(ctx, tenant, requester, e)
		if err != nil {
			// The batch stops at the first event it could not take;
			// whatever failed, retrying is the caller's remedy.
			var known *Error
			if !errors.As(err, &known) {
				err = unavailable("store", err.Error(), err)
			}
			return nil, err
		}
		results = append(results, out...)
	}
	return results, nil
}

// checkEvents validates a batch and makes its users canonical (in a copy):
// one bad event (ErrInvalid) or unknown user (ErrNotFound) rejects it all.
func (s *Service) checkEvents(ctx context.Context, tenantID string, events []Event) ([]Event, error) {
	events = slices.Clone(events) // the users are made canonical below, not in the caller's slice
	for i, e := range events {
		if len(e.ID) > MaxEventIDLength {
			return nil, invalid(at(i, len(events), "id"), "at most %d characters", MaxEventIDLength)
		}
		// An event ID names a fan-out workflow and goes into Temporal's
		// headers, which refuse control characters with a retryable error
		// (issue 18, finding 3, for user IDs): refused here, as a 400.
		if !utf8.ValidString(e.ID) {
			return nil, invalid(at(i, len(events), "id"), "must be valid UTF-8")
		}
		if j := strings.IndexFunc(e.ID, func(r rune) bool { return !unicode.IsGraphic(r) }); j >= 0 {
			return nil, invalid(at(i, len(events), "id"), "must be printable: %U at byte %d", []rune(e.ID[j:])[0], j)
		}
		if e.User != "" { // "" is a tenant-wide or bridge event
			u, err := canonicalUser(at(i, len(events), "user"), e.User)
			if err != nil {
				return nil, err
			}
			events[i].User, e.User = u, u
		}
		if err := e.Validate(); err != nil {
			if len(events) > 1 {
				err = fmt.Errorf("events[%d].%w", i, err)
			}
			return nil, invalidErr(at(i, len(events), "event"), err)
		}
	}
	if _, err := s.tenant(ctx, tenantID); err != nil {
		return nil, err
	}
	for i, e := range events {
		if e.User == "" {
			continue
		}
		if _, err := s.db.User(ctx, tenantID, e.User); errors.Is(err, store.ErrNotFound) {
			field := at(i, len(events), "user")
			return nil, notFound(field, "%s: %q is not in tenant %q", field, e.User, tenantID)
		} else if err != nil {
			return nil, internal("user lookup", err)
		}
	}
	return events, nil
}

func (s *Service) tenant(ctx context.Context, id string) (store.Tenant, error) {
	t, err := s.db.Tenant(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return t, notFound("tenant", "tenant %s not found", quote(id))
	} else if err != nil {
		return t, internal("tenant lookup", err)
	}
	return t, nil
}

// CodeEventIDReused is the code of the conflict that refuses an event ID
// reused with a different body.
const CodeEventIDReused = "event_id_reused"

// checkEventIDs refuses a batch in which an event ID comes with a body other
// than the one it was first given, in the batch or in a recorded event: an
// ID makes a retry safe only if it stands for one change, and answering a
// second change with the first one's decision lost it (issue 18, finding 5).
// Every such ID is named, and nothing of the batch is recorded: the caller
// fixes its IDs and posts again. A recorded event without a hash (recorded
// before hashes were kept) is replayed without comparison.
func (s *Service) checkEventIDs(ctx context.Context, tenantID string, events []Event) error {
	type first struct {
		at   int
		hash string
	}
	seen := map[string]first{}
	var conflicts []string
	for i, e := range events {
		if e.ID == "" {
			continue
		}
		hash := changes.BodyHash(e.Event)
		field := at(i, len(events), "id")
		if f, ok := seen[e.ID]; ok {
			if f.hash != hash {
				conflicts = append(conflicts, fmt.Sprintf("%s: event ID %s is also events[%d].id, with a different body",
					field, quote(e.ID), f.at))
			}
			continue
		}
		seen[e.ID] = first{i, hash}
		done, err := s.db.EventsByID(ctx, tenantID, e.ID)
		if err != nil {
			return internal("event lookup", err)
		}
		if rec, ok := otherBody(done, hash); ok {
			conflicts = append(conflicts, fmt.Sprintf("%s: event ID %s was recorded at %s with a different body",
				field, quote(e.ID), rec.ReceivedAt.UTC().Format(time.RFC3339)))
		}
	}
	if len(conflicts) > 0 {
		return &Error{Kind: ErrConflict, Subject: "event", Code: CodeEventIDReused, Message: strings.Join(conflicts, "\n")}
	}
	return nil
}

// otherBody returns a recorded decision of an event whose body hash is
// known and is not hash.
func otherBody(recs []store.Event, hash string) (store.Event, bool) {
	for _, r := range recs {
		if r.BodyHash != "" && r.BodyHash != hash {
			return r, true
		}
	}
	return store.Event{}, false
}

// at names a field of the i-th of n events: a lone event's field by itself.
func at(i, n int, field string) string {
	if n == 1 {
		return field
	}
	return fmt.Sprintf("events[%d].%s", i, field)
}

// takeEvent decides an event for each user it concerns, records the
// decisions with the new profiles, then hands the triggering ones to their
// workflows. A repeated ID returns what was recorded, finishing a hand-off
// that failed the first time. Each user is read afresh, so the second event
// of a batch for one user applies to the profile the first one left.
func (s *Service) takeEvent(ctx context.Context, tenant store.Tenant, requester string, e Event) ([]store.Event, error) {
	if e.ID != "" {
		done, err := s.db.EventsByID(ctx, tenant.ID, e.ID)
		if err != nil {
			return nil, err
		}
		if len(done) > 0 {
			// Checked for the whole batch before; checked again, as a
			// concurrent request may have recorded the ID since.
			if rec, ok := otherBody(done, changes.BodyHash(e.Event)); ok {
				return nil, &Error{Kind: ErrConflict, Subject: "event", Code: CodeEventIDReused,
					Message: fmt.Sprintf("id: event ID %s was recorded at %s with a different body", quote(e.ID),
						rec.ReceivedAt.UTC().Format(time.RFC3339))}
			}
			if fanOutRecord(done) {
				// The fan-out hands the users off; the retry only makes
				// sure it runs (a fan-out that failed starts again).
				return done, s.startFanOut(ctx, tenant.ID, e.ID, requester)
			}
			for i, ev := range done {
				if done[i], err = s.finishHandOff(ctx, tenant, requester, ev); err != nil {
					return nil, err
				}
			}
			return done, nil
		}
	} else {
		e.ID = uuid.NewString()
	}
	payload, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	targets := []string{e.User}
	if e.User == "" {
		targets = []string{""} // a tenant-wide event: recorded once, for nobody's blocks
		if e.BridgeID != "" {
			users, err := s.bridgeUsers(ctx, tenant.ID, e.BridgeID)
			if err != nil {
				return nil, err
			}
			if len(users) > s.syncFanOutLimit && s.temporal != nil {
				return s.fanOut(ctx, tenant, requester, e, payload, len(users))
			}
			if targets = users; len(targets) == 0 {
				targets = []string{""} // recorded, so no event is lost: ignored, nobody is on the bridge
			}
		}
	}
	var out []store.Event
	for _, user := range targets {
		rec, err := s.takeForUser(ctx, tenant, requester, e, payload, user)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// bridgeUsers lists the users on a bridge, in ID order: only a bridge event
// needs the whole directory, for its fan-out.
func (s *Service) bridgeUsers(ctx context.Context, tenantID, bridgeID string) ([]string, error) {
	users, err := s.db.Users(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	profiles := make([]rules.UserProfile, 0, len(users))
	for _, u := range users {
		var p meetingblock.Profile
		if json.Unmarshal(u.Profile, &p) == nil {
			profiles = append(profiles, rules.UserProfile{User: u.ID, Profile: p})
		}
	}
	return rules.AffectedByBridge(bridgeID, profiles), nil
}

// takeForUser decides and records the event for one user (or for nobody)
// and hands a triggering decision to the user's workflow.
func (s *Service) takeForUser(ctx context.Context, tenant store.Tenant, requester string, e Event, payload []byte, user string) (store.Event, error) {
	rec, err := s.recordDecision(ctx, tenant, e, user, payload)
	if err != nil {
		return rec, err
	}
	return s.finishHandOff(ctx, tenant, requester, rec)
}

// finishHandOff hands a recorded triggering decision that has not reached a
// migration yet to the user's workflow; any other record is done.
func (s *Service) finishHandOff(ctx context.Context, tenant store.Tenant, requester string, ev store.Event) (store.Event, error) {
	if !ev.Triggered || ev.CorrelationID != "" {
		return ev, nil
	}
	return s.handOffEvent(ctx, tenant, requester, ev)
}

// recordDecision decides the event for one user (or for nobody, when
// tenant-wide) on the user's current profile and records it, deciding again
// should another request change that profile in between.
func (s *Service) recordDecision(ctx context.Context, tenant store.Tenant, e Event, user string, payload []byte) (store.Event, error) {
	return changes.Record(ctx, s.db, tenant, e.ID, e.Event, user, payload)
}

// handOffEvent starts or joins the user's migration for a triggering event,
// after the tenant's quiet period, and links the event to it.
func (s *Service) handOffEvent(ctx context.Context, tenant store.Tenant, requester string, ev store.Event) (store.Event, error) {
	rec, err := s.handOff(ctx, tenant.ID, ev.UserID, migration.Trigger{
		Reason: "event " + ev.Type + ": " + ev.Reason, RequestedBy: requester,
		SourceMeetingType: ev.SourceMeetingType, TargetMeetingType: ev.TargetMeetingType,
		QuietPeriodSeconds: tenant.Settings.QuietPeriodSeconds,
		ReplaceThirdParty:  rules.EventType(ev.Type).MovesToMicrosoft()})
	if err != nil {
		return ev, err
	}
	ev.CorrelationID = rec.CorrelationID
	return ev, s.db.SetEventCorrelation(ctx, tenant.ID, ev.ID, ev.UserID, rec.CorrelationID)
}
