// Package changes applies a change event to the directory: it decides the
// event on the user's stored profile (internal/rules) and records the
// decision with the new profile in one compare-and-set, deciding again
// while other requests change the profile. The API's events (internal/intake)
// and the events that triggers carry into the workflow (activities.BeginRun)
// both go through here, so a change is applied the same way whichever door
// it came in by.
package changes

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"

	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/rules"
	"github.com/openmms/mms/internal/store"
)

// MaxDecideAttempts bounds how often one request is re-decided because other
// requests for the same user kept changing the profile under it.
const MaxDecideAttempts = 20

// UntilStored runs one decide-and-store attempt until the store accepts it.
// attempt decides on the profile it reads and stores only if that profile is
// still the stored one (store.ErrConflict otherwise); reading again and
// re-deciding applies concurrent changes for one user one after the other,
// none lost. Every compare-and-set of a profile goes through here.
func UntilStored[T any](attempt func() (T, error)) (T, error) {
	for n := 1; ; n++ {
		v, err := attempt()
		if !errors.Is(err, store.ErrConflict) || n == MaxDecideAttempts {
			return v, err
		}
	}
}

// Record decides event e (recorded under id, as payload) for one user, or
// for nobody when user is "" (a tenant-wide event), on the user's current
// profile, and records the decision with the new profile.
func Record(ctx context.Context, db *store.DB, tenant store.Tenant, id string, e rules.Event, user string, payload []byte) (store.Event, error) {
	return UntilStored(func() (store.Event, error) {
		ev := store.Event{ID: id, UserID: user, Type: string(e.Type), Payload: payload, BodyHash: BodyHash(e)}
		var before, after json.RawMessage
		switch {
		case user == "" && e.BridgeID != "":
			ev.Reason = "ignored: no user is on bridge " + e.BridgeID
		case user == "":
			ev.Reason = rules.Decide(e, meetingblock.Profile{}, tenant.Settings).Reason
		default:
			u, err := db.User(ctx, tenant.ID, user)
			if err != nil {
				return ev, err
			}
			before = u.Profile
			var old meetingblock.Profile
			if err := json.Unmarshal(u.Profile, &old); err != nil {
				ev.Reason = "ignored: the user's stored profile is not valid JSON"
				break
			}
			d := rules.Decide(e, old, tenant.Settings)
			ev.Triggered, ev.Reason = d.Trigger, d.Reason
			ev.SourceMeetingType, ev.TargetMeetingType = d.SourceMeetingType, d.TargetMeetingType
			if p, err := rules.Apply(old, e, tenant.Settings); err != nil {
				ev.Triggered, ev.Reason = false, "ignored: "+err.Error()
			} else if !ProfilesEqual(old, p) {
				if after, err = json.Marshal(p); err != nil {
					return ev, err
				}
			}
		}
		return db.RecordEvent(ctx, tenant.ID, ev, before, after)
	})
}

// BodyHash is the hex SHA-256 of an event's canonical body: the event as
// decoded, encoded again by encoding/json, which writes a struct's fields in
// one order and drops the empty ones, so whitespace, key order and an
// explicit empty value do not change it. The ID is not part of the body: it
// is the key the body is recorded under. A retry under a recorded ID must
// have the same hash (internal/intake refuses it otherwise).
func BodyHash(e rules.Event) string {
	body, _ := json.Marshal(e) // a struct of strings, string slices and bools always encodes
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// ProfilesEqual compares profiles as they are stored.
func ProfilesEqual(a, b meetingblock.Profile) bool {
	ra, _ := json.Marshal(a)
	rb, _ := json.Marshal(b)
	return bytes.Equal(ra, rb)
}
