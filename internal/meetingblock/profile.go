package meetingblock

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Format is the representation of a meeting body.
type Format string

// Body formats.
const (
	FormatHTML Format = "html"
	FormatText Format = "text"
	// FormatICal is a whole VCALENDAR/VEVENT text: DESCRIPTION and the HTML
	// alternative (X-ALT-DESC;FMTTYPE=text/html) are rewritten consistently.
	FormatICal Format = "ical"
)

// Kind is the kind of online meeting a block belongs to.
type Kind string

// Meeting kinds.
const (
	KindTeams Kind = "Teams"
	KindSfB   Kind = "SfB"
)

// Audio-conferencing providers (Profile.Provider).
const (
	ProviderMicrosoft  = "Microsoft"
	ProviderThirdParty = "ThirdParty"
	ProviderNone       = "None"
)

// Profile is the conferencing profile a new block is rendered from: the
// organizer's dial-in coordinates (shared by all their meetings) plus,
// optionally, the per-meeting online coordinates of a new meeting.
type Profile struct {
	MeetingType     string   `json:"meetingType"` // "Teams" | "SfB"
	JoinURL         string   `json:"joinUrl,omitempty"`
	ConferenceID    string   `json:"conferenceId,omitempty"`
	TollNumber      string   `json:"tollNumber,omitempty"`
	TollFreeNumbers []string `json:"tollFreeNumbers,omitempty"`
	DialInURL       string   `json:"dialInUrl,omitempty"` // "Find a local number"
	Provider        string   `json:"provider,omitempty"`  // "Microsoft" | "ThirdParty" | "None"
	BridgeID        string   `json:"bridgeId,omitempty"`
	Locale          string   `json:"locale,omitempty"` // BCP 47, default en-US

	// Per-meeting coordinates that come with a new JoinURL (a conversion to
	// Teams, a Skype user moved online). Ignored when JoinURL is empty: the
	// old block's coordinates are kept then.
	MeetingID         string `json:"meetingId,omitempty"`
	Passcode          string `json:"passcode,omitempty"`
	MeetingOptionsURL string `json:"meetingOptionsUrl,omitempty"`

	ResetPINURL string `json:"resetPinUrl,omitempty"` // default depends on the meeting kind
	HelpURL     string `json:"helpUrl,omitempty"`     // default depends on the meeting kind

	// ReplaceThirdParty allows replacing a block whose dial-in belongs to a
	// third-party provider (the tenant's AutomaticallyReplaceAcpProvider).
	ReplaceThirdParty bool `json:"replaceThirdParty,omitempty"`

	// DefaultLocale is the tenant's default language (the tenant setting
	// DefaultLanguage), used when neither Locale nor the old block names a
	// language mms has a catalog for. Like ReplaceThirdParty it is set by
	// the caller from the tenant's settings, not stored with the user.
	DefaultLocale string `json:"defaultLocale,omitempty"`
}

// Validate checks the profile. Each error names the JSON field it is about;
// several errors are joined.
func (p Profile) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	switch Kind(p.MeetingType) {
	case KindTeams, KindSfB:
	default:
		bad("meetingType", `must be "Teams" or "SfB"`)
	}
	switch p.Provider {
	case "", ProviderMicrosoft, ProviderThirdParty, ProviderNone:
	default:
		bad("provider", `must be "Microsoft", "ThirdParty" or "None"`)
	}
	for _, u := range []struct{ field, val string }{
		{"joinUrl", p.JoinURL}, {"dialInUrl", p.DialInURL}, {"meetingOptionsUrl", p.MeetingOptionsURL},
		{"resetPinUrl", p.ResetPINURL}, {"helpUrl", p.HelpURL},
	} {
		if u.val != "" && !validURL(u.val) {
			bad(u.field, "must be an absolute http(s) URL without spaces, quotes or angle brackets")
		}
	}
	if p.ConferenceID != "" && !validDigits(strings.TrimSuffix(p.ConferenceID, "#"), 4, 20) {
		bad("conferenceId", "must be 4 to 20 digits")
	}
	if p.TollNumber != "" && !validPhone(p.TollNumber) {
		bad("tollNumber", "must be a phone number (digits, optional leading +, spaces, -, ., parentheses)")
	}
	for i, n := range p.TollFreeNumbers {
		if !validPhone(n) {
			bad(fmt.Sprintf("tollFreeNumbers[%d]", i), "must be a phone number (digits, optional leading +, spaces, -, ., parentheses)")
		}
	}
	numbers := p.TollNumber != "" || len(p.TollFreeNumbers) > 0
	if numbers && p.Provider == ProviderNone {
		bad("tollNumber", `must be empty when provider is "None"`)
	}
	if numbers && p.ConferenceID == "" && p.Provider != ProviderThirdParty {
		bad("conferenceId", "required when dial-in numbers are given")
	}
	if p.MeetingID != "" && !validDigits(p.MeetingID, 6, 24) {
		bad("meetingId", "must be 6 to 24 digits (spaces allowed)")
	}
	if p.Passcode != "" && !validPasscode(p.Passcode) {
		bad("passcode", "must be 1 to 32 letters or digits")
	}
	if p.Locale != "" {
		if _, err := ParseLocale(p.Locale); err != nil {
			bad("locale", "%v", err)
		}
	}
	if p.DefaultLocale != "" {
		if _, err := ParseLocale(p.DefaultLocale); err != nil {
			bad("defaultLocale", "%v", err)
		}
	}
	if len(p.BridgeID) > 128 || !printable(p.BridgeID) {
		bad("bridgeId", "must be at most 128 printable characters")
	}
	return errors.Join(errs...)
}

// hasDialIn reports whether the profile puts a dial-in section in the block.
func (p Profile) hasDialIn() bool {
	if p.Provider != "" && p.Provider != ProviderMicrosoft {
		return false
	}
	return p.ConferenceID != "" && (p.TollNumber != "" || len(p.TollFreeNumbers) > 0)
}

// validURL accepts absolute http(s) URLs made of printable ASCII that can be
// written both into an HTML attribute and between the angle brackets of a
// plain-text link without changing meaning.
func validURL(s string) bool {
	if len(s) > 4096 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '"' || c == '\\' || c == '`' {
			return false
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return false
	}
	return u.Scheme == "https" || u.Scheme == "http"
}

// validDigits accepts digits with single separating spaces.
func validDigits(s string, lo, hi int) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			n++
		case c == ' ' && i > 0 && i < len(s)-1 && s[i-1] != ' ':
		default:
			return false
		}
	}
	return n >= lo && n <= hi
}

func validPhone(s string) bool {
	if len(s) > 40 {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			n++
		case c == '+' && i == 0:
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return false
		}
	}
	return n >= 5 && n <= 20
}

func validPasscode(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f || r >= 0x80 && r < 0xa0 || r == utf8.RuneError {
			return false
		}
	}
	return true
}
