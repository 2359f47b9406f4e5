// Package rules decides, without I/O, whether a change event about a user
// (or a direct replacement of the user's conferencing profile) triggers a
// meeting migration, and what the event does to the profile. The rules
// follow docs/DOMAIN.md ("What triggers a migration", "Tenant switches").
package rules

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
)

// EventType names a change reported by an upstream system.
type EventType string

// Event types. The comment says what the event carries besides "user".
const (
	UserMovedOnline             EventType = "userMovedOnline"             // optional joinUrl, meetingId, passcode, meetingOptionsUrl and dial-in fields
	UserMovedOnPremises         EventType = "userMovedOnPremises"         // nothing; never migrates (not supported)
	LicenceAssigned             EventType = "licenceAssigned"             // optional dial-in fields
	LicenceRemoved              EventType = "licenceRemoved"              // nothing
	DialInEnabled               EventType = "dialInEnabled"               // tollNumber or tollFreeNumbers; optional conferenceId, dialInUrl, bridgeId
	DialInDisabled              EventType = "dialInDisabled"              // nothing
	ConferenceIDChanged         EventType = "conferenceIdChanged"         // conferenceId (the new one)
	ConferenceIDReset           EventType = "conferenceIdReset"           // conferenceId (the generated one)
	UserMovedToBridge           EventType = "userMovedToBridge"           // bridgeId, tollNumber or tollFreeNumbers; optional dialInUrl
	BridgeNumberChanged         EventType = "bridgeNumberChanged"         // bridgeId, oldNumber, newNumber; no user (fan-out)
	BridgeNumberUnassigned      EventType = "bridgeNumberUnassigned"      // bridgeId, oldNumber; no user (fan-out); newNumber is not used
	ProviderSwitchedToMicrosoft EventType = "providerSwitchedToMicrosoft" // optional dial-in fields (Microsoft's)
	TeamsUpgradeGranted         EventType = "teamsUpgradeGranted"         // mode, migrateMeetingsToTeams; optional joinUrl, ...
	TenantTeamsUpgradeGranted   EventType = "tenantTeamsUpgradeGranted"   // mode; no user
	SIPAddressChanged           EventType = "sipAddressChanged"           // nothing
	TenantMeetingURLChanged     EventType = "tenantMeetingUrlChanged"     // no user
)

// EventTypes lists every event type, in the order of the constants above
// (the OpenAPI document's enum is checked against it).
var EventTypes = []EventType{UserMovedOnline, UserMovedOnPremises, LicenceAssigned, LicenceRemoved, DialInEnabled,
	DialInDisabled, ConferenceIDChanged, ConferenceIDReset, UserMovedToBridge, BridgeNumberChanged,
	BridgeNumberUnassigned, ProviderSwitchedToMicrosoft, TeamsUpgradeGranted, TenantTeamsUpgradeGranted,
	SIPAddressChanged, TenantMeetingURLChanged}

// Teams upgrade modes (TeamsUpgradePolicy). Only TeamsOnly and
// SfBWithTeamsCollabAndMeetings make the user's meetings Teams meetings.
const (
	ModeIslands                       = "Islands"
	ModeSfBOnly                       = "SfBOnly"
	ModeSfBWithTeamsCollab            = "SfBWithTeamsCollab"
	ModeSfBWithTeamsCollabAndMeetings = "SfBWithTeamsCollabAndMeetings"
	ModeTeamsOnly                     = "TeamsOnly"
)

// Event is a change event as POSTed to /v1/tenants/{tenant}/events. Profile
// fields carry the user's NEW values and use the profile's JSON names, so
// that an error from the resulting profile names the event's field too.
type Event struct {
	Type EventType `json:"type"`
	User string    `json:"user,omitempty"`

	// Dial-in coordinates (new values).
	ConferenceID    string   `json:"conferenceId,omitempty"`
	TollNumber      string   `json:"tollNumber,omitempty"`
	TollFreeNumbers []string `json:"tollFreeNumbers,omitempty"`
	DialInURL       string   `json:"dialInUrl,omitempty"`
	BridgeID        string   `json:"bridgeId,omitempty"`

	// A bridge's number: changed from OldNumber to NewNumber, or OldNumber unassigned.
	OldNumber string `json:"oldNumber,omitempty"`
	NewNumber string `json:"newNumber,omitempty"`

	// Teams upgrade.
	Mode                   string `json:"mode,omitempty"`
	MigrateMeetingsToTeams bool   `json:"migrateMeetingsToTeams,omitempty"`

	// Online meeting coordinates of the user's new meeting (move online,
	// upgrade to Teams): a conversion to Teams needs a Teams joinUrl.
	JoinURL           string `json:"joinUrl,omitempty"`
	MeetingID         string `json:"meetingId,omitempty"`
	Passcode          string `json:"passcode,omitempty"`
	MeetingOptionsURL string `json:"meetingOptionsUrl,omitempty"`
}

// tenantWide events name no user: bridge events fan out to the users on the
// bridge (AffectedByBridge), the others concern nobody's blocks.
func (t EventType) tenantWide() bool {
	switch t {
	case BridgeNumberChanged, BridgeNumberUnassigned, TenantTeamsUpgradeGranted, TenantMeetingURLChanged:
		return true
	}
	return false
}

// audioConferencing reports the events that AutomaticallyMigrateUserMeetings governs.
func (t EventType) audioConferencing() bool {
	switch t {
	case LicenceAssigned, LicenceRemoved, DialInEnabled, DialInDisabled, ConferenceIDChanged, ConferenceIDReset,
		UserMovedToBridge, BridgeNumberChanged, BridgeNumberUnassigned, ProviderSwitchedToMicrosoft:
		return true
	}
	return false
}

func (t EventType) known() bool {
	switch t {
	case UserMovedOnline, UserMovedOnPremises, SIPAddressChanged, TeamsUpgradeGranted:
		return true
	}
	return t.audioConferencing() || t.tenantWide()
}

// Validate checks the fields the event's type needs and the format of every
// field given. Each error names the JSON field; several errors are joined.
// Apply checks the resulting profile as a whole again.
func (e Event) Validate() error {
	if !e.Type.known() {
		if e.Type == "" {
			return errors.New("type: required")
		}
		return fmt.Errorf("type: unknown event type %q", e.Type)
	}
	var errs []error
	need := func(ok bool, field string) {
		if !ok {
			errs = append(errs, fmt.Errorf("%s: required for %s", field, e.Type))
		}
	}
	if !e.Type.tenantWide() {
		need(e.User != "", "user")
	}
	switch e.Type {
	case ConferenceIDChanged, ConferenceIDReset:
		need(e.ConferenceID != "", "conferenceId")
	case DialInEnabled:
		need(e.TollNumber != "" || len(e.TollFreeNumbers) > 0, "tollNumber")
	case UserMovedToBridge:
		need(e.BridgeID != "", "bridgeId")
		need(e.TollNumber != "" || len(e.TollFreeNumbers) > 0, "tollNumber")
	case BridgeNumberChanged:
		need(e.BridgeID != "", "bridgeId")
		need(e.OldNumber != "", "oldNumber")
		need(e.NewNumber != "", "newNumber")
	case BridgeNumberUnassigned:
		need(e.BridgeID != "", "bridgeId")
		need(e.OldNumber != "", "oldNumber")
	case TeamsUpgradeGranted, TenantTeamsUpgradeGranted:
		switch e.Mode {
		case "":
			need(false, "mode")
		case ModeIslands, ModeSfBOnly, ModeSfBWithTeamsCollab, ModeSfBWithTeamsCollabAndMeetings, ModeTeamsOnly:
		default:
			errs = append(errs, fmt.Errorf("mode: unknown Teams upgrade mode %q", e.Mode))
		}
	}
	errs = append(errs, e.formats()...)
	return errors.Join(errs...)
}

// formats checks each profile field the event carries with the profile's
// own rules, on a profile made of those fields alone (placeholders keep the
// rules that relate fields quiet: the stored profile supplies those).
func (e Event) formats() []error {
	p := meetingblock.Profile{MeetingType: string(meetingblock.KindTeams), Provider: meetingblock.ProviderMicrosoft,
		ConferenceID: e.ConferenceID, TollNumber: e.TollNumber, TollFreeNumbers: e.TollFreeNumbers,
		DialInURL: e.DialInURL, BridgeID: e.BridgeID, JoinURL: e.JoinURL, MeetingID: e.MeetingID,
		Passcode: e.Passcode, MeetingOptionsURL: e.MeetingOptionsURL}
	if p.ConferenceID == "" {
		p.ConferenceID = "0000"
	}
	var errs []error
	if err := p.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, n := range []struct{ field, val string }{{"oldNumber", e.OldNumber}, {"newNumber", e.NewNumber}} {
		if n.val == "" {
			continue
		}
		if err := (meetingblock.Profile{MeetingType: "Teams", ConferenceID: "0000", TollNumber: n.val}).Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: must be a phone number (digits, optional leading +, spaces, -, ., parentheses)", n.field))
		}
	}
	return errs
}

// Apply returns the user's profile after the event. The tenant settings
// matter only for AutomaticallyReplaceAcpProvider, which decides whether a
// third-party user given the licence moves to Microsoft's bridge. The
// result is validated, so an event cannot store a profile a run would
// refuse. Events that do not touch the user's blocks return p unchanged.
func Apply(p meetingblock.Profile, e Event, s migration.Settings) (meetingblock.Profile, error) {
	if err := e.Validate(); err != nil {
		return p, err
	}
	p.TollFreeNumbers = slices.Clone(p.TollFreeNumbers) // never alias the caller's slice
	switch e.Type {
	case UserMovedOnline:
		setMeeting(&p, e)
		setDialIn(&p, e)
	case LicenceAssigned:
		if p.Provider == meetingblock.ProviderThirdParty {
			if !s.AutomaticallyReplaceAcpProvider {
				return p, nil // keeps the third-party numbers until an admin acts
			}
			toMicrosoft(&p)
		}
		p.Provider = meetingblock.ProviderMicrosoft
		setDialIn(&p, e)
	case ProviderSwitchedToMicrosoft:
		if p.Provider != meetingblock.ProviderMicrosoft {
			toMicrosoft(&p)
		}
		p.Provider = meetingblock.ProviderMicrosoft
		setDialIn(&p, e)
	case LicenceRemoved:
		if p.Provider == meetingblock.ProviderThirdParty {
			return p, nil // the Microsoft licence never fed their dial-in
		}
		clearDialIn(&p)
		p.ConferenceID, p.BridgeID, p.Provider = "", "", meetingblock.ProviderNone
	case DialInEnabled:
		if p.Provider == "" || p.Provider == meetingblock.ProviderNone {
			p.Provider = meetingblock.ProviderMicrosoft
		}
		setDialIn(&p, e)
	case DialInDisabled:
		clearDialIn(&p) // the conference ID survives: it comes back with dial-in
	case ConferenceIDChanged, ConferenceIDReset:
		p.ConferenceID = e.ConferenceID
	case UserMovedToBridge:
		clearDialIn(&p) // the new bridge's numbers replace the old ones entirely
		if p.Provider == "" || p.Provider == meetingblock.ProviderNone {
			p.Provider = meetingblock.ProviderMicrosoft
		}
		setDialIn(&p, e)
	case BridgeNumberChanged, BridgeNumberUnassigned:
		if p.BridgeID != e.BridgeID {
			return p, nil
		}
		repl := e.NewNumber
		if e.Type == BridgeNumberUnassigned {
			repl = ""
		}
		if sameNumber(p.TollNumber, e.OldNumber) {
			p.TollNumber = repl
		}
		for i := 0; i < len(p.TollFreeNumbers); i++ {
			if !sameNumber(p.TollFreeNumbers[i], e.OldNumber) {
				continue
			}
			if repl != "" {
				p.TollFreeNumbers[i] = repl
			} else {
				p.TollFreeNumbers = slices.Delete(p.TollFreeNumbers, i, i+1)
				i--
			}
		}
		if len(p.TollFreeNumbers) == 0 {
			p.TollFreeNumbers = nil
		}
	case TeamsUpgradeGranted:
		if meetingMode(e.Mode) && p.MeetingType != string(meetingblock.KindTeams) {
			// The Skype join coordinates must not end up in a Teams block.
			p.JoinURL, p.MeetingID, p.Passcode, p.MeetingOptionsURL = "", "", "", ""
			p.MeetingType = string(meetingblock.KindTeams)
		}
		setMeeting(&p, e)
	}
	if err := p.Validate(); err != nil {
		return p, err
	}
	return p, nil
}

// meetingMode reports the upgrade modes in which the user's meetings are Teams meetings.
func meetingMode(mode string) bool {
	return mode == ModeTeamsOnly || mode == ModeSfBWithTeamsCollabAndMeetings
}

// setDialIn copies the dial-in fields the event carries.
func setDialIn(p *meetingblock.Profile, e Event) {
	if e.ConferenceID != "" {
		p.ConferenceID = e.ConferenceID
	}
	if e.TollNumber != "" {
		p.TollNumber = e.TollNumber
	}
	if len(e.TollFreeNumbers) > 0 {
		p.TollFreeNumbers = slices.Clone(e.TollFreeNumbers)
	}
	if e.DialInURL != "" {
		p.DialInURL = e.DialInURL
	}
	if e.BridgeID != "" {
		p.BridgeID = e.BridgeID
	}
}

// setMeeting copies the new meeting's online coordinates, if the event has them.
func setMeeting(p *meetingblock.Profile, e Event) {
	if e.JoinURL != "" {
		p.JoinURL, p.MeetingID, p.Passcode, p.MeetingOptionsURL = e.JoinURL, e.MeetingID, e.Passcode, e.MeetingOptionsURL
	}
}

func clearDialIn(p *meetingblock.Profile) {
	p.TollNumber, p.TollFreeNumbers, p.DialInURL = "", nil, ""
}

// toMicrosoft drops the third party's coordinates: none of them is valid on
// Microsoft's bridge.
func toMicrosoft(p *meetingblock.Profile) {
	clearDialIn(p)
	p.ConferenceID, p.BridgeID = "", ""
}

// sameNumber compares phone numbers by their digits, so that "+1 425-555-0100"
// and "+14255550100" are the same number.
func sameNumber(a, b string) bool {
	digits := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, s)
	}
	da := digits(a)
	return da != "" && da == digits(b)
}
