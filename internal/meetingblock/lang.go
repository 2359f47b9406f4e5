package meetingblock

import "strings"

// Where a block's language was read from (Block.LanguageFrom).
const (
	fromLangAttr  = "lang attribute"
	fromOmkt      = "omkt parameter"
	fromLanguage  = "language parameter"
	fromLCID      = "Skype language marker"
	fromLabels    = "labels"
	maxLangSearch = 64 << 10 // the markers sit near the start of a block
)

// detectLanguage reads the language of a block from raw (its bytes, markup
// or text) and text (its visible text): the lang attribute, the omkt= help
// link or language= meeting options parameter, Skype's LCID marker, else
// the catalog whose labels it shows. Markup comes first: labels are often
// edited, and several languages share some of them.
func (b *Block) detectLanguage(raw, text string) {
	if len(raw) > maxLangSearch {
		raw = raw[:maxLangSearch]
	}
	for _, m := range []struct{ key, from string }{{" lang=", fromLangAttr}, {"omkt=", fromOmkt}, {"language=", fromLanguage}} {
		if v := attrValue(raw, m.key); v != "" {
			if _, err := ParseLocale(v); err == nil {
				b.Language, b.LanguageFrom = v, m.from
				return
			}
		}
	}
	for _, key := range []string{"[!oc([", "clid="} {
		if v := attrValue(raw, key); v != "" {
			if c := byLCID[v]; c != nil {
				b.Language, b.LanguageFrom = c.Tag, fromLCID
				return
			}
		}
	}
	if c := labelCatalog(text); c != nil {
		b.Language, b.LanguageFrom = c.Tag, fromLabels
	}
}

// attrValue returns the value after the first key (ASCII case ignored) in
// s: quoted, or up to a delimiter.
func attrValue(s, key string) string {
	i := indexFold(s, key)
	if i < 0 {
		return ""
	}
	v := s[i+len(key):]
	if len(v) > 0 && (v[0] == '"' || v[0] == '\'') {
		v = v[1:]
	}
	end := 0
	for end < len(v) && end < 40 {
		c := v[end]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			break
		}
		end++
	}
	return v[:end]
}

// labelCatalog returns the catalog whose join heading (Teams or Skype) the
// visible text shows at the start of a line, else the one whose meeting ID
// label it shows; nil when none. Catalogs sharing a string (en-US and
// en-GB) resolve to the first, en-US.
func labelCatalog(text string) *catalog {
	for _, keys := range [][]string{{kJoinNow, kSfBJoin}, {kMeetingID, kPhoneConferenceID, kSfBConferenceID}} {
		for _, c := range catalogs {
			for _, k := range keys {
				if hasLineStarting(text, c.s(k)) {
					return c
				}
			}
		}
	}
	return nil
}

func hasLineStarting(text, s string) bool {
	for line := range strings.Lines(text) {
		if hasPrefixFold(trimSpace(line), s) {
			return true
		}
	}
	return false
}

// Why a language was chosen (Result.LanguageReason starts with one).
const (
	LangFromProfile = "profile locale"
	LangFromBlock   = "old block's"
	LangFromTenant  = "tenant default language"
	LangFromDefault = "default"
)

// chooseCatalog picks the language of a new block: the profile's locale,
// the old block's language, the tenant's default, en-US; each only when a
// catalog matches it. why says which, and which candidates had no catalog.
func chooseCatalog(p Profile, old Block) (c *catalog, why string) {
	var skipped []string
	try := func(tag, reason string) *catalog {
		if tag == "" {
			return nil
		}
		t, err := ParseLocale(tag)
		if err != nil {
			skipped = append(skipped, reason+" "+tag+" is not a language tag")
			return nil
		}
		c := catalogFor(t)
		if c == nil {
			skipped = append(skipped, reason+" "+tag+" has no catalog")
			return nil
		}
		why = reason + " " + tag
		if c.Tag != tag {
			why += " (closest catalog " + c.Tag + ")"
		}
		return c
	}
	c = try(p.Locale, LangFromProfile)
	if c == nil {
		c = try(old.Language, LangFromBlock+" "+old.LanguageFrom)
	}
	if c == nil {
		c = try(p.DefaultLocale, LangFromTenant)
	}
	if c == nil {
		c, why = catalogs[0], LangFromDefault+" "+defaultTag
	}
	if len(skipped) > 0 {
		why = strings.Join(skipped, "; ") + "; " + why
	}
	return c, why
}

// defaultCatalog is the catalog Render uses (no old block).
func defaultCatalog(p Profile) *catalog {
	c, _ := chooseCatalog(p, Block{})
	return c
}

// isRTL reports whether c's script runs right to left.
func (c *catalog) isRTL() bool { return c.Dir == "rtl" }
