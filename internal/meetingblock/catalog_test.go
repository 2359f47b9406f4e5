package meetingblock

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/openmms/mms/internal/migration"
)

// The minimum set of languages.
var wantLanguages = []string{"en-US", "en-GB", "fr-FR", "fr-CA", "de-DE", "es-ES", "es-MX", "it-IT", "pt-BR", "nl-NL",
	"sv-SE", "da-DK", "nb-NO", "fi-FI", "pl-PL", "cs-CZ", "ja-JP", "zh-CN", "zh-TW", "ko-KR", "ar-SA", "he-IL"}

func TestCatalogKeys(t *testing.T) {
	have := map[string]bool{}
	lcids := map[string]string{}
	for _, c := range catalogs {
		have[c.Tag] = true
		if _, err := ParseLocale(c.Tag); err != nil {
			t.Errorf("%s: tag: %v", c.Tag, err)
		}
		if other, dup := lcids[c.LCID]; dup || c.LCID == "" {
			t.Errorf("%s: lcid %q empty or shared with %s", c.Tag, c.LCID, other)
		}
		lcids[c.LCID] = c.Tag
		if c.Dir != "ltr" && c.Dir != "rtl" {
			t.Errorf("%s: dir %q, want ltr or rtl", c.Tag, c.Dir)
		}
		if c.Source == "" {
			t.Errorf("%s: source missing", c.Tag)
		}
		for _, k := range catalogKeys {
			v, ok := c.Strings[k]
			switch {
			case !ok:
				t.Errorf("%s: key %q missing", c.Tag, k)
			case strings.TrimSpace(v) == "" || !utf8.ValidString(v) || strings.ContainsAny(v, "<>\r\n"):
				t.Errorf("%s: %s = %q: empty, not UTF-8 or with markup or line breaks", c.Tag, k, v)
			}
		}
		for k := range c.Strings {
			if !contains(catalogKeys, k) {
				t.Errorf("%s: unknown key %q (a typo?)", c.Tag, k)
			}
		}
	}
	for _, tag := range wantLanguages {
		if !have[tag] {
			t.Errorf("no catalog for %s", tag)
		}
	}
}

func contains(set []string, s string) bool {
	for _, x := range set {
		if x == s {
			return true
		}
	}
	return false
}

// A label read as one field must not be another field's in any language:
// a Japanese "会議 ID" must never be taken for a conference ID.
func TestCatalogLabelsDistinct(t *testing.T) {
	field := map[string]string{}
	for name, set := range map[string][]string{"meetingId": labelsMeetingID, "passcode": labelsPasscode, "conferenceId": labelsConferenceID} {
		for _, l := range set {
			if other, ok := field[l]; ok && other != name {
				t.Errorf("label %q is both %s and %s", l, other, name)
			}
			field[l] = name
		}
	}
}

func TestLanguageMatching(t *testing.T) {
	for _, tc := range []struct{ locale, want, why string }{
		{"fr-CA", "fr-CA", "profile locale fr-CA"},
		{"fr-BE", "fr-FR", "profile locale fr-BE (closest catalog fr-FR)"},
		{"pt-PT", "pt-BR", "profile locale pt-PT (closest catalog pt-BR)"},
		{"en-AU", "en-GB", "profile locale en-AU (closest catalog en-GB)"},
		{"es-AR", "es-MX", "profile locale es-AR (closest catalog es-MX)"},
		{"de", "de-DE", "profile locale de (closest catalog de-DE)"},
		{"sw-KE", "en-US", "profile locale sw-KE has no catalog; default en-US"},
	} {
		c, why := chooseCatalog(Profile{Locale: tc.locale}, Block{})
		if c.Tag != tc.want || why != tc.why {
			t.Errorf("%s: %s (%s), want %s (%s)", tc.locale, c.Tag, why, tc.want, tc.why)
		}
	}
	c, why := chooseCatalog(Profile{DefaultLocale: "de-DE"}, Block{Language: "sw", LanguageFrom: fromLangAttr})
	if c.Tag != "de-DE" || why != "old block's lang attribute sw has no catalog; tenant default language de-DE" {
		t.Errorf("tenant default: %s (%s)", c.Tag, why)
	}
	c, _ = chooseCatalog(Profile{DefaultLocale: "de-DE"}, Block{Language: "fr-FR", LanguageFrom: fromLabels})
	if c.Tag != "fr-FR" {
		t.Errorf("the old block's language comes before the tenant's: %s", c.Tag)
	}
}

func TestParseLocaleRejects(t *testing.T) {
	for _, s := range []string{"xx-YY", "en_US", "english", "fr-", "-FR", "e", "en-US-x-" + strings.Repeat("a", 40)} {
		if _, err := ParseLocale(s); err == nil {
			t.Errorf("%q accepted", s)
		}
		err := Profile{MeetingType: "Teams", Locale: s}.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), "locale: ") {
			t.Errorf("profile locale %q: %v, want an error naming locale", s, err)
		}
	}
	if err := (Profile{MeetingType: "Teams", DefaultLocale: "xx"}).Validate(); err == nil || !strings.HasPrefix(err.Error(), "defaultLocale: ") {
		t.Errorf("defaultLocale xx: %v", err)
	}
}

// langLayouts are the four layouts every language renders.
var langLayouts = []struct {
	name   string
	kind   Kind
	format Format
	ext    string
}{
	{"teams_html", KindTeams, FormatHTML, ".html"},
	{"teams_text", KindTeams, FormatText, ".txt"},
	{"sfb_html", KindSfB, FormatHTML, ".html"},
	{"sfb_text", KindSfB, FormatText, ".txt"},
}

func langProfile(k Kind, locale string) Profile {
	p := Profile{MeetingType: string(k), Locale: locale, Provider: ProviderMicrosoft, ConferenceID: "903184275",
		TollNumber: "+1 206-555-0142", TollFreeNumbers: []string{"+1 866-555-0199"}, DialInURL: "https://dialin.teams.microsoft.com/a1b2?id=903184275"}
	if k == KindTeams {
		p.JoinURL = "https://teams.microsoft.com/meet/358204716493?p=Qe7Lw2Ks9Tb"
		p.MeetingOptionsURL = "https://teams.microsoft.com/meetingOptions/?organizerId=1&tenantId=2&threadId=3&messageId=0"
	} else {
		p.JoinURL = "https://meet.lync.com/contoso-com/adele.vance/9KX2QTRB"
		p.DialInURL = "https://dialin.lync.com/2e6b4a8c"
	}
	return p
}

// langBody puts a rendered block between agenda text in another script, so
// that the bytes around the block are checked too.
func langBody(block string, f Format) (pre, post string) {
	if f == FormatHTML {
		return "<html><body><p>Ordre du jour : budget &#x1F680; 議題</p>\r\n", "\r\n<p>Merci — شكرا</p></body></html>"
	}
	return "Ordre du jour : budget 🚀 議題\r\n\r\n", "\r\nMerci — شكرا\r\n"
}

// TestLanguageGolden renders every language in every layout: the block is
// the golden one, is found again with its coordinates and language, is up
// to date for the same profile and for one without a locale (the language
// then comes from the block), and an English block of the same meeting is
// replaced by it with the bytes around it kept.
func TestLanguageGolden(t *testing.T) {
	for _, c := range catalogs {
		for _, lay := range langLayouts {
			t.Run(c.Tag+"/"+lay.name, func(t *testing.T) {
				p := langProfile(lay.kind, c.Tag)
				blk, err := Render(p, lay.kind, lay.format)
				if err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join("lang", c.Tag+"_"+lay.name+lay.ext), []byte(blk))
				checkRendered(t, c, lay.format, blk)
				pre, post := langBody(blk, lay.format)
				body := pre + blk + post

				b, err := Find(body, lay.format)
				if err != nil {
					t.Fatalf("Find: %v", err)
				}
				if b.Start != len(pre) || b.End != len(pre)+len(blk) || b.Kind != lay.kind {
					t.Fatalf("found %s [%d,%d), want %s [%d,%d)", b.Kind, b.Start, b.End, lay.kind, len(pre), len(pre)+len(blk))
				}
				if b.JoinURL != p.JoinURL || lay.kind == KindTeams && (b.MeetingID != "358 204 716 493" || b.Passcode != "Qe7Lw2Ks9Tb") || b.ConferenceID != "903184275" {
					t.Errorf("coordinates not read back: %+v", b)
				}
				if b.Language != c.Tag {
					t.Errorf("language %q (%s), want %s", b.Language, b.LanguageFrom, c.Tag)
				}
				for _, q := range []Profile{p, withLocale(p, "")} {
					res := Replace(body, lay.format, q, migration.TargetCurrent)
					if res.Outcome != UpToDate || res.Language != c.Tag {
						t.Errorf("locale %q: %s (%s), language %s (%s); want up to date in %s", q.Locale, res.Outcome, res.Reason, res.Language, res.LanguageReason, c.Tag)
					}
				}

				// An English block of the same meeting becomes this one.
				en, err := Render(withLocale(p, "en-US"), lay.kind, lay.format)
				if err != nil {
					t.Fatal(err)
				}
				in := pre + en + post
				res := Replace(in, lay.format, p, migration.TargetCurrent)
				if c.Tag == "en-US" {
					if res.Outcome != UpToDate {
						t.Errorf("en-US: %s (%s)", res.Outcome, res.Reason)
					}
					return
				}
				if res.Outcome != Replaced || res.Body != body {
					t.Errorf("English block: %s (%s), body is the %s one: %v", res.Outcome, res.Reason, c.Tag, res.Body == body)
				}
				assertOutsideUnchanged(t, in, res.Body, res.Old.Spans)
			})
		}
	}
}

func withLocale(p Profile, l string) Profile {
	p.Locale = l
	return p
}

// checkRendered asserts the fidelity rules of a rendered block.
func checkRendered(t *testing.T, c *catalog, f Format, blk string) {
	t.Helper()
	if f == FormatHTML {
		for i := 0; i < len(blk); i++ {
			if blk[i] >= utf8.RuneSelf {
				t.Fatalf("HTML block has a non-ASCII byte at %d", i)
			}
		}
		if rtl := strings.Contains(blk, ` dir="rtl"`); rtl != c.isRTL() {
			t.Errorf("dir=\"rtl\" present: %v, catalog dir %s", rtl, c.Dir)
		}
	} else if !utf8.ValidString(blk) {
		t.Fatal("text block is not valid UTF-8")
	}
	// Every label the layout shows is the catalog's: none is left in
	// English (en-GB shares most of en-US's).
	if c.Tag != "en-US" && !strings.HasPrefix(c.Tag, "en-") {
		for _, en := range []string{"Join the meeting now", "Meeting ID:", "Dial in by phone", "Join Skype Meeting", "Conference ID:", "Find a local number"} {
			if strings.Contains(blk, en) {
				t.Errorf("English %q left in the %s block", en, c.Tag)
			}
		}
	}
}

// A block in a language mms has no catalog for is found and replaced; the
// result says which language was used and why.
func TestUnknownLanguageBlock(t *testing.T) {
	in := readBody(t, "teams_gen4_2025.html")
	in = strings.Replace(in, `lang="en-US"`, `lang="sw-KE"`, 1)
	p := dialProfile()
	p.DefaultLocale = "fr-FR"
	res := Replace(in, FormatHTML, p, migration.TargetCurrent)
	if res.Outcome != Replaced || res.Language != "fr-FR" {
		t.Fatalf("%s (%s) in %s", res.Outcome, res.Reason, res.Language)
	}
	if want := "old block's lang attribute sw-KE has no catalog; tenant default language fr-FR"; res.LanguageReason != want {
		t.Errorf("reason %q, want %q", res.LanguageReason, want)
	}
	if !strings.Contains(res.Body, "Rejoindre la r&#xE9;union maintenant") {
		t.Error("new block is not French")
	}
}

// Detection does not need English: a French block whose labels a user
// retyped in German is still found, read and fully replaced.
func TestLocalizedBlockWithForeignEdits(t *testing.T) {
	fr, err := Render(langProfile(KindTeams, "fr-FR"), KindTeams, FormatText)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(fr, "ID de réunion :", "Besprechungs-ID:", 1) + "\r\n"
	p := langProfile(KindTeams, "")
	p.JoinURL, p.MeetingID, p.Passcode, p.MeetingOptionsURL = "", "", "", ""
	res := Replace("Agenda\r\n"+edited, FormatText, p, migration.TargetCurrent)
	if res.Outcome != Replaced || res.Body != "Agenda\r\n"+fr+"\r\n" {
		t.Fatalf("%s (%s): %q", res.Outcome, res.Reason, res.Body)
	}
}

// ParseLocale's shortcut for catalog tags gives what language.Parse gives.
func TestParseLocaleCatalogTags(t *testing.T) {
	for _, c := range catalogs {
		got, err := ParseLocale(c.Tag)
		want, werr := language.Parse(c.Tag)
		if err != nil || werr != nil || got != want {
			t.Errorf("%s: %v %v, language.Parse %v %v", c.Tag, got, err, want, werr)
		}
	}
}
