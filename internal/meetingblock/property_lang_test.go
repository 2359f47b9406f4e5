package meetingblock

import (
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"github.com/openmms/mms/internal/migration"
)

// localizedFixtures are blocks in every catalog language and layout as a
// client would hold them: as rendered, as a received copy (x_ prefixes and
// a SafeLinks-wrapped join link, HTML) and edited by a user (a label typed
// in another language, a line added inside the block). The profile has no
// locale, so each run reads the language from the block itself.
func localizedFixtures(t testing.TB) []loadedFixture {
	var out []loadedFixture
	for _, c := range catalogs {
		for _, lay := range langLayouts {
			p := langProfile(lay.kind, c.Tag)
			blk, err := Render(p, lay.kind, lay.format)
			if err != nil {
				t.Fatal(err)
			}
			variants := []string{blk, userEdited(blk, c)}
			if lay.format == FormatHTML {
				variants = append(variants, receivedCopy(blk, p.JoinURL))
			}
			q := withLocale(p, "")
			if lay.kind == KindTeams {
				// A Teams meeting keeps its own coordinates.
				q.JoinURL, q.MeetingID, q.Passcode, q.MeetingOptionsURL = "", "", "", ""
			}
			for _, v := range variants {
				pre, post := langBody(v, lay.format)
				lf := loadedFixture{agendaFixture: agendaFixture{file: c.Tag + "/" + lay.name, format: lay.format, target: migration.TargetCurrent},
					body: pre + v + post, p: q}
				lf.replaced = Replace(lf.body, lf.format, lf.p, lf.target).Body
				out = append(out, lf)
			}
		}
	}
	return out
}

// receivedCopy is blk as a recipient's Outlook keeps it: ids, classes and
// bookmarks x_-prefixed, the join link wrapped by SafeLinks.
func receivedCopy(blk, join string) string {
	r := strings.NewReplacer(`id="meet_invite_block`, `id="x_meet_invite_block`, `class="me-email-`, `class="x_me-email-`,
		`name="OutJoinLink"`, `name="x_OutJoinLink"`)
	blk = r.Replace(blk)
	wrapped := "https://eur03.safelinks.protection.outlook.com/?url=" + url.QueryEscape(join) + "&amp;data=05%7C02&amp;reserved=0"
	return strings.Replace(blk, `href="`+join+`"`, `href="`+wrapped+`"`, 1)
}

// userEdited is blk with its help label retyped in German (Swedish for a
// German block) and a note typed inside the block.
func userEdited(blk string, c *catalog) string {
	other := catalogByTag("de-DE")
	if c.Tag == "de-DE" {
		other = catalogByTag("sv-SE")
	}
	if strings.Contains(blk, "<") {
		blk = strings.Replace(blk, htmlAttr(c.s(kNeedHelp)), htmlAttr(other.s(kNeedHelp)), 1)
		return strings.Replace(blk, "</a></div>", "</a> (Raum 4B)</div>", 1)
	}
	blk = strings.Replace(blk, c.s(kNeedHelp), other.s(kNeedHelp), 1)
	return strings.Replace(blk, "\r\n", "\r\nRaum 4B\r\n", 2)
}

func TestPropertyLocalizedBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(2025, 20))
	gen := func() string {
		rs := make([]rune, rng.IntN(30))
		for i := range rs {
			rs[i] = agendaRunes[rng.IntN(len(agendaRunes))]
		}
		return string(rs)
	}
	for _, lf := range localizedFixtures(t) {
		res := checkReplace(t, lf.body, lf.format, lf.p, lf.target)
		if res.Outcome == NotReplaced {
			t.Fatalf("%s: %s", lf.file, res.Reason)
		}
		if res.Language != strings.SplitN(lf.file, "/", 2)[0] {
			t.Fatalf("%s: rendered in %s (%s)", lf.file, res.Language, res.LanguageReason)
		}
		for range 5 {
			checkAgenda(t, lf, gen(), gen())
		}
	}
}

// allFixtures are the English fixtures and the localized ones, for the
// fuzz targets.
func allFixtures(f *testing.F) []loadedFixture {
	loaded := make([]loadedFixture, 0, len(agendaFixtures))
	for _, fx := range agendaFixtures {
		loaded = append(loaded, loadFixture(f, fx))
	}
	return append(loaded, localizedFixtures(f)...)
}
