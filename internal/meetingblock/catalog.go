package meetingblock

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/text/language"
)

// The block's strings per language live in catalog/<tag>.json so that a
// translator edits them without touching Go; TestCatalogKeys fails when a
// catalog misses a key or has one the renderer does not know.
//
//go:embed catalog/*.json
var catalogFS embed.FS

// catalog is one language's strings. Labels that introduce a value
// ("Meeting ID:") carry their colon as the language writes it.
type catalog struct {
	Tag     string            `json:"tag"`    // BCP 47, as written in lang= and omkt=
	LCID    string            `json:"lcid"`   // Skype's [!OC([lcid])!] marker and clid= help parameter
	Dir     string            `json:"dir"`    // "ltr" or "rtl"
	Source  string            `json:"source"` // where the strings come from (SOURCES.md lists them)
	Strings map[string]string `json:"strings"`
}

// Catalog keys, in the order the blocks use them.
const (
	kNeedHelp          = "need_help"
	kJoinNow           = "join_now"
	kJoinTitle         = "join_title"
	kMeetingID         = "meeting_id"
	kPasscode          = "passcode"
	kDialIn            = "dial_in"
	kFindLocal         = "find_local"
	kPhoneConferenceID = "phone_conference_id"
	kSystemReference   = "system_reference"
	kForOrganizers     = "for_organizers"
	kMeetingOptions    = "meeting_options"
	kResetPIN          = "reset_pin"
	kToll              = "toll"
	kTollFree          = "toll_free"
	kSfBJoin           = "sfb_join"
	kSfBTrouble        = "sfb_trouble"
	kSfBWebApp         = "sfb_web_app"
	kSfBJoinByPhone    = "sfb_join_by_phone"
	kSfBFindLocal      = "sfb_find_local"
	kSfBConferenceID   = "sfb_conference_id"
	kSfBForgotPIN      = "sfb_forgot_pin"
	kSfBHelp           = "sfb_help"
)

var catalogKeys = []string{kNeedHelp, kJoinNow, kJoinTitle, kMeetingID, kPasscode, kDialIn, kFindLocal,
	kPhoneConferenceID, kSystemReference, kForOrganizers, kMeetingOptions, kResetPIN, kToll, kTollFree,
	kSfBJoin, kSfBTrouble, kSfBWebApp, kSfBJoinByPhone, kSfBFindLocal, kSfBConferenceID, kSfBForgotPIN, kSfBHelp}

func (c *catalog) s(key string) string { return c.Strings[key] }

// The catalogs are read once at start-up: they are constants that happen to
// live in files, and a broken one is a build defect, so it panics (the
// tests load them too).
var (
	catalogs    []*catalog // sorted by tag, en-US first (the matcher's fallback)
	catalogTags []language.Tag
	matcher     language.Matcher
	byLCID      = map[string]*catalog{}
	// Labels of every catalog, for reading blocks in any language.
	labelsMeetingID, labelsPasscode, labelsConferenceID []string
	sfbJoinTexts                                        []string
)

const defaultTag = "en-US"

func init() {
	cs, err := loadCatalogs()
	if err != nil {
		panic(err)
	}
	catalogs = cs
	for _, c := range cs {
		catalogTags = append(catalogTags, language.MustParse(c.Tag))
		byLCID[c.LCID] = c
		labelsMeetingID = addLabel(labelsMeetingID, c.s(kMeetingID))
		labelsPasscode = addLabel(labelsPasscode, c.s(kPasscode))
		labelsConferenceID = addLabel(labelsConferenceID, c.s(kPhoneConferenceID))
		labelsConferenceID = addLabel(labelsConferenceID, c.s(kSfBConferenceID))
		teamsHeadings = addHeading(teamsHeadings, c.s(kJoinNow), "Microsoft Teams "+c.s(kNeedHelp))
		sfbHeadings = addHeading(sfbHeadings, c.s(kSfBJoin), c.s(kSfBWebApp), c.s(kSfBTrouble)+" "+c.s(kSfBWebApp))
		sfbJoinTexts = addHeading(sfbJoinTexts, c.s(kSfBJoin))
	}
	matcher = language.NewMatcher(catalogTags)
	indexHeadings()
}

func loadCatalogs() ([]*catalog, error) {
	files, err := catalogFS.ReadDir("catalog")
	if err != nil {
		return nil, err
	}
	var cs []*catalog
	for _, f := range files {
		data, err := catalogFS.ReadFile("catalog/" + f.Name())
		if err != nil {
			return nil, err
		}
		c := new(catalog)
		if err := json.Unmarshal(data, c); err != nil {
			return nil, fmt.Errorf("catalog %s: %w", f.Name(), err)
		}
		if c.Tag+".json" != f.Name() {
			return nil, fmt.Errorf("catalog %s: tag %q does not match the file name", f.Name(), c.Tag)
		}
		cs = append(cs, c)
	}
	// en-US first: language.NewMatcher falls back to the first tag. Then
	// each language's main variant (fr-FR, es-ES) before the others, which
	// the matcher prefers among equally close ones: fr-BE gets fr-FR, not
	// fr-CA, while es-419 still finds es-MX closer.
	rank := func(c *catalog) int {
		switch {
		case c.Tag == defaultTag:
			return 0
		case isMainVariant(c.Tag):
			return 1
		}
		return 2
	}
	sort.Slice(cs, func(i, j int) bool {
		if ri, rj := rank(cs[i]), rank(cs[j]); ri != rj {
			return ri < rj
		}
		return cs[i].Tag < cs[j].Tag
	})
	if len(cs) == 0 || cs[0].Tag != defaultTag {
		return nil, fmt.Errorf("catalog %s.json missing", defaultTag)
	}
	return cs, nil
}

// labelStem is a label without its colon (ASCII or full-width) and spaces,
// lower-cased in ASCII: a line matches it when the colon follows.
func labelStem(l string) string {
	l = strings.TrimRight(l, " :\u00a0\uff1a")
	return asciiLower(l)
}

func addLabel(set []string, l string) []string {
	return addUnique(set, labelStem(l))
}

// addHeading adds whole-line headings, lower-cased in ASCII with white
// space collapsed, as equalFoldCollapsed wants them.
func addHeading(set []string, hs ...string) []string {
	for _, h := range hs {
		set = addUnique(set, asciiLower(strings.Join(strings.Fields(h), " ")))
	}
	return set
}

func addUnique(set []string, s string) []string {
	for _, have := range set {
		if have == s {
			return set
		}
	}
	return append(set, s)
}

// asciiLower lowers ASCII letters only, copying s only when it has one.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lower(b[j])
			}
			return string(b)
		}
	}
	return s
}

// isMainVariant reports whether tag is its language's most likely form
// (fr-FR for fr, zh-CN for zh).
func isMainVariant(tag string) bool {
	t := language.MustParse(tag)
	base, _ := t.Base()
	lr, _ := language.Make(base.String()).Region()
	r, _ := t.Region()
	return lr == r
}

// catalogFor returns the catalog of tag's language, the closest variant
// (fr-CA has its own, pt-PT gets pt-BR, en-AU en-GB), or nil when there is
// none. Another language, however close the matcher finds it (it offers
// English to Swahili and Dutch to Afrikaans), is no match: the block then
// falls back, and the result says so.
func catalogFor(tag language.Tag) *catalog {
	_, i, conf := matcher.Match(tag)
	if conf == language.No {
		return nil
	}
	want, _ := tag.Base()
	got, _ := catalogTags[i].Base()
	if conf != language.Exact && want != got {
		return nil
	}
	return catalogs[i]
}

func catalogByTag(tag string) *catalog {
	for _, c := range catalogs {
		if c.Tag == tag {
			return c
		}
	}
	return nil
}

// Languages lists the tags mms has a catalog for, en-US first.
func Languages() []string {
	tags := make([]string, len(catalogs))
	for i, c := range catalogs {
		tags[i] = c.Tag
	}
	return tags
}

// ParseLocale checks a locale as a profile, an event or a setting gives
// it: a well-formed BCP 47 tag whose subtags are known. A known tag without
// a catalog is fine (the block then falls back); "xx-YY" or "en_US" is not.
func ParseLocale(s string) (language.Tag, error) {
	if s == "" || len(s) > 35 || strings.ContainsRune(s, '_') {
		return language.Und, fmt.Errorf("must be a language tag such as %q", defaultTag)
	}
	// A catalog's own tag (what profiles and blocks mostly carry) was
	// parsed once at start-up: parsing allocates.
	for i, c := range catalogs {
		if c.Tag == s {
			return catalogTags[i], nil
		}
	}
	t, err := language.Parse(s)
	if err != nil {
		return language.Und, fmt.Errorf("must be a language tag such as %q (%v)", defaultTag, err)
	}
	return t, nil
}
