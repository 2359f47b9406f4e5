package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/openmms/mms/internal/changes"
	"github.com/openmms/mms/internal/directory"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/rules"
	"github.com/openmms/mms/internal/store"
)

// ErrTooLarge: the input exceeds a documented bound (an import's
// directory.MaxBytes or directory.MaxRows); nothing was read or changed.
var ErrTooLarge = errors.New("too large")

// What an import did to one user.
const (
	ImportCreated   = "created"
	ImportChanged   = "changed"
	ImportUnchanged = "unchanged"
)

// ImportResult is what ImportUsers did (or, in a dry run, would do).
type ImportResult struct {
	DryRun    bool   `json:"dryRun"`
	Format    string `json:"format"` // directory.FormatCSV, FormatCmdletJSON or FormatMMSJSON
	Created   int    `json:"created"`
	Changed   int    `json:"changed"`
	Unchanged int    `json:"unchanged"`
	// Triggered counts the users whose change starts (or, in a dry run,
	// would start) a migration.
	Triggered int         `json:"triggered"`
	Users     []ImportRow `json:"users"`
}

// ImportRow is one user of the file.
type ImportRow struct {
	Row  int    `json:"row"`
	Line int    `json:"line,omitempty"` // in a CSV file
	User string `json:"user"`
	// Outcome: created, changed or unchanged.
	Outcome string `json:"outcome"`
	// Fields lists the profile fields (JSON names) and displayName that
	// changed.
	Fields []string `json:"fields,omitempty"`
	// Events are the change events a changed profile became, with the
	// rules' decisions (IDs and correlation IDs only when not a dry run).
	Events []ImportEvent `json:"events,omitempty"`
}

// ImportEvent is one recorded change event of an import.
type ImportEvent struct {
	ID            string           `json:"id,omitempty"`
	Type          rules.EventType  `json:"type"`
	Triggered     bool             `json:"triggered"`
	Reason        string           `json:"reason"`
	CorrelationID string           `json:"correlationId,omitempty"`
	Source        migration.Source `json:"sourceMeetingType,omitempty"`
	Target        migration.Target `json:"targetMeetingType,omitempty"`
}

// ImportUsers imports a directory file (directory.Parse's formats) into
// the tenant in one transaction: new users are created, changed ones get
// their new profile, and each changed profile becomes the change events
// the API's POST /events records for such a change (see importEvents),
// decided by the same rules and handed to the users' workflows after the
// commit, so a repeated import changes and notifies nothing. A dry run
// reports the same without writing. Errors: ErrInvalid naming the row and
// the field (nothing imported), ErrTooLarge, ErrNotFound (the tenant),
// ErrUnavailable (the import is stored; the migrations it names without a
// correlation ID were not started: post those events again by ID).
func (s *Service) ImportUsers(ctx context.Context, tenantID, requester string, file []byte, dryRun bool) (ImportResult, error) {
	format, entries, err := directory.Parse(file)
	var de *directory.Error
	switch {
	case errors.Is(err, directory.ErrTooLarge):
		return ImportResult{}, &Error{Kind: ErrTooLarge, Subject: "file", Message: err.Error(), Err: err}
	case errors.As(err, &de):
		return ImportResult{}, &Error{Kind: ErrInvalid, Subject: de.Path(), Message: de.Error(), Err: err}
	case err != nil:
		return ImportResult{}, invalid("file", "%v", err)
	}
	tenant, err := s.tenant(ctx, tenantID)
	if err != nil {
		return ImportResult{}, err
	}
	var result ImportResult
	var written []store.ImportedUser
	_, err = untilStored(func() (struct{}, error) {
		var plan []store.ImportedUser
		result, plan, err = s.planImport(ctx, tenant, format, entries)
		if err != nil || dryRun {
			return struct{}{}, err
		}
		written, err = s.db.ImportUsers(ctx, tenant.ID, plan)
		return struct{}{}, err
	})
	var known *Error
	switch {
	case errors.As(err, &known):
		return ImportResult{}, err
	case err != nil:
		return ImportResult{}, internal("store import", err)
	}
	result.DryRun = dryRun
	if dryRun {
		for i := range result.Users {
			for j := range result.Users[i].Events {
				result.Users[i].Events[j].ID = "" // nothing was recorded
			}
		}
		return result, nil
	}
	// The import is committed: its hand-offs go on if the caller goes away
	// (a client timing out on a large file), or its events would wait,
	// unlinked, for someone to post them again.
	deadline := time.Now().Add(handOffBudget)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	hctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	return s.handOffImport(hctx, tenant, requester, result, written)
}

// handOffBudget bounds the hand-offs of one import after its commit.
const handOffBudget = 10 * time.Minute

// planImport decides every entry against the stored directory: what is
// created, what changes, and the events of each change.
func (s *Service) planImport(ctx context.Context, tenant store.Tenant, format string, entries []directory.Entry) (ImportResult, []store.ImportedUser, error) {
	stored, err := s.db.Users(ctx, tenant.ID)
	if err != nil {
		return ImportResult{}, nil, internal("user lookup", err)
	}
	byID := make(map[string]store.User, len(stored))
	for _, u := range stored {
		byID[u.ID] = u
	}
	res := ImportResult{Format: format, Users: make([]ImportRow, 0, len(entries))}
	var plan []store.ImportedUser
	for _, e := range entries {
		old, exists := byID[e.User]
		var before meetingblock.Profile
		if exists {
			_ = json.Unmarshal(old.Profile, &before) // a stored profile that is not JSON is replaced whole
		}
		after := e.Profile
		if !e.Replace {
			base := meetingblock.Profile{MeetingType: string(meetingblock.KindTeams)}
			if exists {
				base = before
			}
			after = e.DialIn.Apply(base)
		}
		if err := after.Validate(); err != nil {
			return res, nil, rowError(e, err)
		}
		raw, err := json.Marshal(after)
		if err != nil {
			return res, nil, internal("encode profile", err)
		}
		name := e.DisplayName
		if name == "" && exists {
			name = old.DisplayName
		}
		row := ImportRow{Row: e.Row, Line: e.Line, User: e.User}
		u := store.ImportedUser{User: store.User{TenantID: tenant.ID, ID: e.User, DisplayName: name, Profile: raw}}
		switch {
		case !exists:
			row.Outcome = ImportCreated
			res.Created++
		case changes.ProfilesEqual(before, after) && old.DisplayName == name:
			row.Outcome = ImportUnchanged
			res.Unchanged++
			res.Users = append(res.Users, row)
			continue
		default:
			row.Outcome = ImportChanged
			res.Changed++
			u.Before = old.Profile
			row.Fields = profileFields(before, after)
			if old.DisplayName != name {
				row.Fields = append(row.Fields, "displayName")
			}
			triggered := false
			for _, ev := range importEvents(before, after) {
				ev.User = e.User
				d := rules.Decide(ev, before, tenant.Settings)
				if next, err := rules.Apply(before, ev, tenant.Settings); err == nil {
					before = next
				}
				id := uuid.NewString()
				payload, err := json.Marshal(Event{ID: id, Event: ev})
				if err != nil {
					return res, nil, internal("encode event", err)
				}
				u.Events = append(u.Events, store.Event{ID: id, UserID: e.User, Type: string(ev.Type), Payload: payload,
					Triggered: d.Trigger, Reason: d.Reason, SourceMeetingType: d.SourceMeetingType,
					TargetMeetingType: d.TargetMeetingType})
				row.Events = append(row.Events, ImportEvent{ID: id, Type: ev.Type, Triggered: d.Trigger, Reason: d.Reason,
					Source: d.SourceMeetingType, Target: d.TargetMeetingType})
				triggered = triggered || d.Trigger
			}
			if triggered {
				res.Triggered++
			}
		}
		res.Users = append(res.Users, row)
		plan = append(plan, u)
	}
	return res, plan, nil
}

// rowError names the entry and the field of the merged profile's first
// error, by the file's own names (a CSV column, a JSON path).
func rowError(e directory.Entry, err error) *Error {
	first := strings.SplitN(err.Error(), "\n", 2)[0]
	field, msg, _ := strings.Cut(first, ": ")
	de := &directory.Error{Row: e.Row, Line: e.Line, Message: msg}
	switch {
	case e.Line > 0:
		de.Where, de.Field = fmt.Sprintf("line %d", e.Line), directory.Column(field)
	case e.Replace:
		de.Where, de.Field = fmt.Sprintf("[%d]", e.Row-1), "profile."+field
	default:
		de.Where, de.Field = fmt.Sprintf("[%d]", e.Row-1), directory.Column(field)
	}
	return &Error{Kind: ErrInvalid, Subject: de.Path(), Message: de.Error(), Err: err}
}

// profileFields lists the fields that differ, by JSON name.
func profileFields(a, b meetingblock.Profile) []string {
	ra, _ := json.Marshal(a)
	rb, _ := json.Marshal(b)
	var ma, mb map[string]json.RawMessage
	_ = json.Unmarshal(ra, &ma)
	_ = json.Unmarshal(rb, &mb)
	var out []string
	for k, v := range mb {
		if string(ma[k]) != string(v) {
			out = append(out, k)
		}
	}
	for k := range ma {
		if _, ok := mb[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// importEvents turns the difference between a user's stored profile and
// the imported one into the change events an upstream system would have
// posted for it (rules.EventType), in the order they apply: the provider
// or licence, then the bridge and its numbers, then the conference ID, then
// a move or upgrade of the meetings themselves (mms's list only). The
// rules decide each one on the profile the previous ones left, exactly as
// for posted events. A difference no event type describes (a third party
// taking over, help links, the locale) records no event and triggers
// nothing, as the rules would not trigger on it either.
func importEvents(o, n meetingblock.Profile) []rules.Event {
	var evs []rules.Event
	prov := func(p meetingblock.Profile) string {
		if p.Provider == "" {
			return meetingblock.ProviderMicrosoft
		}
		return p.Provider
	}
	numbers := func(p meetingblock.Profile) bool { return p.TollNumber != "" || len(p.TollFreeNumbers) > 0 }
	dialIn := func(t rules.EventType) rules.Event {
		return rules.Event{Type: t, ConferenceID: n.ConferenceID, TollNumber: n.TollNumber,
			TollFreeNumbers: n.TollFreeNumbers, DialInURL: n.DialInURL, BridgeID: n.BridgeID}
	}
	confCarried := false
	switch po, pn := prov(o), prov(n); {
	case pn == meetingblock.ProviderNone && po != meetingblock.ProviderNone:
		evs = append(evs, rules.Event{Type: rules.LicenceRemoved})
	case pn == meetingblock.ProviderMicrosoft && po == meetingblock.ProviderThirdParty:
		evs = append(evs, dialIn(rules.ProviderSwitchedToMicrosoft))
		confCarried = true
	case pn == meetingblock.ProviderMicrosoft && po == meetingblock.ProviderNone:
		evs = append(evs, dialIn(rules.LicenceAssigned))
		confCarried = true
	case pn == meetingblock.ProviderMicrosoft:
		sameNumbers := o.TollNumber == n.TollNumber && slices.Equal(o.TollFreeNumbers, n.TollFreeNumbers)
		switch {
		case n.BridgeID != o.BridgeID && n.BridgeID != "" && numbers(n):
			evs = append(evs, dialIn(rules.UserMovedToBridge))
			confCarried = true
		case sameNumbers:
		case !numbers(n):
			evs = append(evs, rules.Event{Type: rules.DialInDisabled})
		case n.BridgeID != "" && numbers(o):
			evs = append(evs, dialIn(rules.UserMovedToBridge)) // new numbers on the same bridge: the bridge's set replaces the old
			confCarried = true
		default:
			evs = append(evs, dialIn(rules.DialInEnabled))
			confCarried = true
		}
	}
	if n.ConferenceID != "" && n.ConferenceID != o.ConferenceID && !confCarried {
		evs = append(evs, rules.Event{Type: rules.ConferenceIDChanged, ConferenceID: n.ConferenceID})
	}
	switch {
	case o.MeetingType != string(meetingblock.KindTeams) && n.MeetingType == string(meetingblock.KindTeams) && o.MeetingType != "":
		evs = append(evs, rules.Event{Type: rules.TeamsUpgradeGranted, Mode: rules.ModeTeamsOnly, MigrateMeetingsToTeams: true,
			JoinURL: n.JoinURL, MeetingID: n.MeetingID, Passcode: n.Passcode, MeetingOptionsURL: n.MeetingOptionsURL})
	case n.JoinURL != "" && n.JoinURL != o.JoinURL && n.MeetingType == o.MeetingType:
		evs = append(evs, rules.Event{Type: rules.UserMovedOnline, JoinURL: n.JoinURL, MeetingID: n.MeetingID,
			Passcode: n.Passcode, MeetingOptionsURL: n.MeetingOptionsURL})
	}
	return evs
}

// handOffImport hands each triggering event to its user's workflow (the
// events of one user merge into one Pending migration) and links it.
func (s *Service) handOffImport(ctx context.Context, tenant store.Tenant, requester string, res ImportResult, written []store.ImportedUser) (ImportResult, error) {
	rows := make(map[string]*ImportRow, len(res.Users))
	for i := range res.Users {
		rows[res.Users[i].User] = &res.Users[i]
	}
	failed := 0
	var firstErr error
	for _, u := range written {
		for i, ev := range u.Events {
			if !ev.Triggered {
				continue
			}
			if firstErr != nil {
				// Temporal refused one: the rest would wait out the same
				// timeout each. They stay recorded, to be posted again.
				failed++
				continue
			}
			ev.Reason = "directory import: " + ev.Reason
			linked, err := s.handOffEvent(ctx, tenant, requester, ev)
			if err != nil {
				failed++
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			if row := rows[u.User.ID]; row != nil && i < len(row.Events) {
				row.Events[i].CorrelationID = linked.CorrelationID
			}
		}
	}
	if failed > 0 {
		return res, unavailable("temporal", fmt.Sprintf("the import is stored, but %d triggering events could not start "+
			"their migrations (%v); post those events again with their IDs (GET /events lists them)", failed, firstErr), firstErr)
	}
	return res, nil
}
