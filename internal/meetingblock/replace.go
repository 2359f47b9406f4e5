package meetingblock

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/openmms/mms/internal/migration"
)

// Outcome says what Replace did.
type Outcome string

// Outcomes.
const (
	Replaced    Outcome = "replaced"
	UpToDate    Outcome = "up-to-date" // the block already is the rendered one: nothing to send
	NotReplaced Outcome = "not-replaced"
)

// Result is the outcome of Replace.
type Result struct {
	Outcome Outcome `json:"outcome"`
	Reason  string  `json:"reason,omitempty"` // set for NotReplaced
	Body    string  `json:"body"`             // equal to the input unless Outcome == Replaced
	Old     Block   `json:"old"`
	NewKind Kind    `json:"newKind,omitempty"`
	// Language is the catalog the new block was rendered in (a BCP 47 tag)
	// and LanguageReason why: "profile locale fr-CA", "old block's lang
	// attribute fr-FR", "tenant default language de-DE" or "default en-US",
	// after the candidates that had no catalog ("profile locale sw-KE has
	// no catalog; ..."). Set when a block was rendered (replaced or up to
	// date after rendering).
	Language       string `json:"language,omitempty"`
	LanguageReason string `json:"languageReason,omitempty"`
}

// Reasons Replace gives besides the Err* texts of Find.
const (
	ReasonThirdPartyBlock   = "third-party provider block"
	ReasonThirdPartyProfile = "profile's audio conferencing is a third-party provider"
	ReasonNeedsJoinURL      = "conversion to Teams needs a Teams joinUrl in the profile"
	ReasonNoJoinLink        = "join link not found in block"
)

// Replace replaces the online meeting block of body with one rendered from
// profile p for target t. Everything outside the block is kept byte for
// byte; replacing twice gives the same bytes as once. It never panics.
func Replace(body string, f Format, p Profile, t migration.Target) (res Result) {
	res = Result{Outcome: NotReplaced, Body: body}
	defer func() {
		// A bug must not take a whole migration down; it surfaces as a
		// reason the fuzz tests look for.
		if r := recover(); r != nil {
			res = Result{Outcome: NotReplaced, Body: body, Reason: fmt.Sprintf("internal error: %v", r)}
		}
	}()
	switch {
	case t != migration.TargetCurrent && t != migration.TargetTeams:
		res.Reason = fmt.Sprintf("unknown target %q", t)
		return res
	case len(body) > MaxBodySize:
		res.Reason = ErrTooLarge.Error()
		return res
	}
	if err := p.Validate(); err != nil {
		res.Reason = "invalid profile: " + strings.ReplaceAll(err.Error(), "\n", "; ")
		return res
	}
	if p.Provider == ProviderThirdParty {
		res.Reason = ReasonThirdPartyProfile
		return res
	}
	switch f {
	case FormatHTML, FormatText:
		return replaceFlat(body, f, p, t)
	case FormatICal:
		return replaceICal(body, p, t)
	}
	res.Reason = fmt.Sprintf("unknown format %q", f)
	return res
}

func replaceFlat(body string, f Format, p Profile, t migration.Target) Result {
	res := Result{Outcome: NotReplaced, Body: body}
	if !utf8.ValidString(body) {
		res.Reason = ErrInvalidUTF8.Error()
		return res
	}
	var b Block
	var err error
	var tx *htmlText // set when the HTML body is converted plain text
	if f == FormatHTML {
		var d *htmlDoc
		b, d, tx, err = findHTMLOrText(body)
		if err == nil {
			err = checkCharset(d.charset)
		}
	} else {
		b, err = findText(body)
	}
	res.Old = b
	if err != nil {
		res.Reason = err.Error()
		return res
	}
	c, kind, keep, reason := plan(b, p, t)
	res.NewKind = kind
	if reason != "" {
		res.Reason = reason
		return res
	}
	if keep {
		res.Outcome = UpToDate
		return res
	}
	l, why := chooseCatalog(p, b)
	res.Language, res.LanguageReason = l.Tag, why
	var nb string
	upToDate := false
	if tx != nil {
		nb, upToDate = tx.render(c, p, l, kind)
	} else {
		nb = render(c, p, l, kind, f, newline(body, b.Start, b.End))
		upToDate = body[b.Start:b.End] == nb
	}
	if upToDate {
		res.Outcome = UpToDate
		return res
	}
	res.Outcome = Replaced
	res.Body = body[:b.Start] + nb + body[b.End:]
	return res
}

// plan decides the kind of the new block and the meeting coordinates it
// carries, or why the block is not replaced. keep means the block stays as
// it is: nothing in the profile is about it.
func plan(b Block, p Profile, t migration.Target) (c coords, kind Kind, keep bool, reason string) {
	if b.ThirdParty && !p.ReplaceThirdParty {
		return coords{}, "", false, ReasonThirdPartyBlock
	}
	kind = b.Kind
	if t == migration.TargetTeams {
		kind = KindTeams
	}
	switch {
	case b.Kind == KindTeams && Kind(p.MeetingType) != KindTeams:
		// A Skype profile's bridge does not serve Teams meetings: a Teams
		// meeting of such a user keeps the dial-in its own meeting came
		// with (createOrGet's audioConferencing when it was converted), so
		// the block the conversion wrote is what every later run finds.
		return coords{}, kind, true, ""
	case p.JoinURL != "" && Kind(p.MeetingType) == kind:
		// A new meeting (a conversion, a Skype user's new meeting URL):
		// all its coordinates come from the profile. The caller passes a
		// Teams joinUrl only for a meeting that becomes a new one: a Teams
		// meeting's link is its own.
		c = newCoords(p, kind)
	case b.Kind == kind:
		c = coords{JoinURL: b.JoinURL, CompatJoinURL: b.CompatJoinURL, MeetingOptionsURL: b.MeetingOptionsURL, MeetingID: b.MeetingID, Passcode: b.Passcode}
		if kind == KindSfB {
			c = coords{JoinURL: b.JoinURL}
		}
	default:
		return coords{}, kind, false, ReasonNeedsJoinURL
	}
	if c.JoinURL == "" {
		return coords{}, kind, false, ReasonNoJoinLink
	}
	return c, kind, false, ""
}

// newline picks the line break for a rendered block: the old block's own
// (the new block takes its place, and a second run then finds the same),
// else the first one of the body, else CRLF, which Exchange uses.
func newline(body string, start, end int) string {
	for _, s := range []string{body[start:end], body[:start], body[end:]} {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			if i > 0 && s[i-1] == '\r' {
				return "\r\n"
			}
			return "\n"
		}
	}
	return "\r\n"
}

// checkCharset refuses documents whose declared charset is not
// ASCII-compatible: the rendered block is ASCII, which reads the same in any
// ASCII-compatible charset, and everything else is kept byte for byte.
func checkCharset(cs string) error {
	cs = strings.ToLower(strings.TrimSpace(cs))
	switch {
	case cs == "":
		return nil
	case strings.HasPrefix(cs, "utf-16"), strings.HasPrefix(cs, "utf16"), strings.HasPrefix(cs, "utf-32"),
		strings.HasPrefix(cs, "utf32"), strings.HasPrefix(cs, "ucs-"), strings.HasPrefix(cs, "unicode"),
		strings.HasPrefix(cs, "iso-2022"), strings.HasPrefix(cs, "csiso2022"), strings.HasPrefix(cs, "utf-7"),
		strings.HasPrefix(cs, "hz-gb"), strings.Contains(cs, "ebcdic"), strings.HasPrefix(cs, "ibm0"),
		strings.HasPrefix(cs, "cp0"), strings.HasPrefix(cs, "ibm1026"), strings.HasPrefix(cs, "ibm500"),
		strings.HasPrefix(cs, "cp500"), strings.HasPrefix(cs, "cp1026"), strings.HasPrefix(cs, "ibm1047"):
		return fmt.Errorf("body declares charset %q, which is not ASCII-compatible", cs)
	}
	for _, ok := range asciiCompatible {
		if strings.HasPrefix(cs, ok) {
			return nil
		}
	}
	return fmt.Errorf("body declares unknown charset %q", cs)
}

// Prefixes of charset names known to be ASCII-compatible.
var asciiCompatible = []string{
	"utf-8", "utf8", "us-ascii", "ascii", "iso-8859", "iso8859", "iso_8859", "latin", "l1", "windows-",
	"cp125", "cp8", "cp4", "cp9", "ibm8", "ibm4", "koi8", "gb2312", "gbk", "gb18030", "big5", "euc-", "eucjp", "euckr",
	"shift_jis", "shift-jis", "sjis", "x-sjis", "ms932", "ms936", "ms949", "ms950", "ks_c_5601", "tis-620",
	"macintosh", "mac", "x-mac", "x-user-defined", "csisolatin", "ansi_x3.4", "iso-ir-", "viscii", "x-cp125",
}
