package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/rules"
	"github.com/openmms/mms/internal/store"
)

// MaxEventsPerRequest bounds a batch.
const MaxEventsPerRequest = 1000

// EventIn is one change event as posted: a rules.Event plus an optional
// client ID that makes retries safe.
type EventIn struct {
	// ID identifies the event for retries: posting the same ID again returns
	// the recorded decision. Generated when empty.
	ID string `json:"id,omitempty"`
	rules.Event
}

// postEvents takes one event or an array of them. The whole request is
// validated first: one bad event rejects it all, and nothing changes.
func (s *Server) postEvents(c *gin.Context) {
	events, err := decodeEvents(c)
	if err != nil {
		badRequest(c, err.Error())
		return
	}
	ctx := c.Request.Context()
	tenantID := c.Param("tenant")
	tenant, err := s.DB.Tenant(ctx, tenantID)
	if err != nil {
		s.internal(c, "tenant lookup", err)
		return
	}
	for i, e := range events {
		if e.User == "" {
			continue
		}
		if _, err := s.DB.User(ctx, tenantID, e.User); errors.Is(err, store.ErrNotFound) {
			abort(c, http.StatusNotFound, "not_found", fmt.Sprintf("%s: %q is not in tenant %q", at(i, len(events), "user"), e.User, tenantID))
			return
		} else if err != nil {
			s.internal(c, "user lookup", err)
			return
		}
	}
	results := []store.Event{}
	for _, e := range events {
		out, err := s.takeEvent(c, tenant, e)
		if err != nil {
			abort(c, http.StatusServiceUnavailable, "unavailable", err.Error())
			return
		}
		results = append(results, out...)
	}
	c.JSON(http.StatusAccepted, gin.H{"results": results})
}

// takeEvent decides an event for each user it concerns, records the
// decisions with the new profiles, then hands the triggering ones to their
// workflows. A repeated ID returns what was recorded, finishing a hand-off
// that failed the first time. Each user is read afresh, so the second event
// of a batch for one user applies to the profile the first one left.
func (s *Server) takeEvent(c *gin.Context, tenant store.Tenant, e EventIn) ([]store.Event, error) {
	ctx := c.Request.Context()
	if e.ID != "" {
		done, err := s.DB.EventsByID(ctx, tenant.ID, e.ID)
		if err != nil {
			return nil, err
		}
		if len(done) > 0 {
			for i, ev := range done {
				if ev.Triggered && ev.CorrelationID == "" {
					if done[i], err = s.handOffEvent(c, tenant, ev); err != nil {
						return nil, err
					}
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
			// Only a bridge event needs the whole directory, for its fan-out.
			users, err := s.DB.Users(ctx, tenant.ID)
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
			if targets = rules.AffectedByBridge(e.BridgeID, profiles); len(targets) == 0 {
				targets = []string{""} // recorded, so no event is lost: ignored, nobody is on the bridge
			}
		}
	}
	var out []store.Event
	for _, user := range targets {
		rec, err := s.recordDecision(ctx, tenant, e, user, payload)
		if err != nil {
			return nil, err
		}
		if rec.Triggered {
			if rec, err = s.handOffEvent(c, tenant, rec); err != nil {
				return nil, err
			}
		}
		out = append(out, rec)
	}
	return out, nil
}

// maxDecideAttempts bounds how often one event is re-decided because other
// events for the same user kept changing the profile under it.
const maxDecideAttempts = 20

// recordDecision decides the event for one user (or for nobody, when
// tenant-wide) on the user's current profile and records it. Should another
// event change that profile in between, the store refuses and the event is
// decided again on the new one: concurrent events for a user are applied
// one after the other, none lost.
func (s *Server) recordDecision(ctx context.Context, tenant store.Tenant, e EventIn, user string, payload []byte) (store.Event, error) {
	for attempt := 1; ; attempt++ {
		ev := store.Event{ID: e.ID, UserID: user, Type: string(e.Type), Payload: payload}
		var before, after json.RawMessage
		switch {
		case user == "" && e.BridgeID != "":
			ev.Reason = "ignored: no user is on bridge " + e.BridgeID
		case user == "":
			ev.Reason = rules.Decide(e.Event, meetingblock.Profile{}, tenant.Settings).Reason
		default:
			u, err := s.DB.User(ctx, tenant.ID, user)
			if err != nil {
				return ev, err
			}
			before = u.Profile
			var old meetingblock.Profile
			if err := json.Unmarshal(u.Profile, &old); err != nil {
				ev.Reason = "ignored: the user's stored profile is not valid JSON"
				break
			}
			d := rules.Decide(e.Event, old, tenant.Settings)
			ev.Triggered, ev.Reason = d.Trigger, d.Reason
			ev.SourceMeetingType, ev.TargetMeetingType = d.SourceMeetingType, d.TargetMeetingType
			if p, err := rules.Apply(old, e.Event, tenant.Settings); err != nil {
				ev.Triggered, ev.Reason = false, "ignored: "+err.Error()
			} else if !profilesEqual(old, p) {
				if after, err = json.Marshal(p); err != nil {
					return ev, err
				}
			}
		}
		rec, err := s.DB.RecordEvent(ctx, tenant.ID, ev, before, after)
		if errors.Is(err, store.ErrConflict) && attempt < maxDecideAttempts {
			continue
		}
		return rec, err
	}
}

// handOffEvent starts or joins the user's migration for a triggering event,
// after the tenant's quiet period, and links the event to it.
func (s *Server) handOffEvent(c *gin.Context, tenant store.Tenant, ev store.Event) (store.Event, error) {
	rec, err := s.handOff(c.Request.Context(), tenant.ID, ev.UserID, migration.Trigger{
		Reason: "event " + ev.Type + ": " + ev.Reason, RequestedBy: token(c).Name,
		SourceMeetingType: ev.SourceMeetingType, TargetMeetingType: ev.TargetMeetingType,
		QuietPeriodSeconds: tenant.Settings.QuietPeriodSeconds})
	if err != nil {
		return ev, err
	}
	ev.CorrelationID = rec.CorrelationID
	return ev, s.DB.SetEventCorrelation(c.Request.Context(), tenant.ID, ev.ID, ev.UserID, rec.CorrelationID)
}

// decodeEvents reads one event object or an array of them, validating each;
// messages name the event's index in a batch.
func decodeEvents(c *gin.Context) ([]EventIn, error) {
	var raw json.RawMessage
	if err := decodeJSON(c, &raw); err != nil {
		return nil, err
	}
	var events []EventIn
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := strictUnmarshal(trimmed, &events); err != nil {
			return nil, err
		}
		if len(events) == 0 || len(events) > MaxEventsPerRequest {
			return nil, fmt.Errorf("body: between 1 and %d events, not %d", MaxEventsPerRequest, len(events))
		}
	} else {
		var one EventIn
		if err := strictUnmarshal(trimmed, &one); err != nil {
			return nil, err
		}
		events = []EventIn{one}
	}
	for i, e := range events {
		if len(e.ID) > 200 {
			return nil, errors.New(at(i, len(events), "id") + ": at most 200 characters")
		}
		if err := e.Validate(); err != nil {
			if len(events) > 1 {
				return nil, fmt.Errorf("events[%d].%w", i, err)
			}
			return nil, err
		}
	}
	return events, nil
}

func strictUnmarshal(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return explainJSON(dec.Decode(v))
}

func at(i, n int, field string) string {
	if n == 1 {
		return field
	}
	return fmt.Sprintf("events[%d].%s", i, field)
}

func profilesEqual(a, b meetingblock.Profile) bool {
	ra, _ := json.Marshal(a)
	rb, _ := json.Marshal(b)
	return bytes.Equal(ra, rb)
}

func (s *Server) listEvents(c *gin.Context) {
	limit, err := intParam(c, "limit", 100, 1, 1000)
	if err != nil {
		badRequest(c, err.Error())
		return
	}
	evs, err := s.DB.Events(c.Request.Context(), c.Param("tenant"), c.Query("user"), limit)
	if err != nil {
		s.internal(c, "list events", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"events": evs})
}
