// Package meetingblock finds, renders and replaces the "online meeting block"
// (the Teams or Skype for Business join information) inside a meeting body.
//
// The package is pure: no I/O, no clocks, no mutable globals. Everything
// outside the block is kept byte for byte: HTML is read as
// golang.org/x/net/html's tokenizer reads it (a lexer returning its exact
// tokens by offsets, without copying) to locate the block, and the result
// is spliced by byte offsets, never re-serialised. Rendered HTML is ASCII-only
// (non-ASCII is written as character references) so that it reads the same
// whatever ASCII-compatible charset the surrounding document declares.
//
// # Finding the block
//
// A block lies between two separator lines: 40 or more underscores (Teams,
// which draws 80) or dots (Skype, 137). Shorter runs, such as Outlook's
// 32-underscore reply header, are not separators. A pair of separators is
// the block when it encloses evidence of one: meet_invite_block.* ids,
// me-email-headline classes or Skype's OutJoinLink/OutSharedNote* bookmarks
// (strong, markup only an invitation has), or Teams/Skype join links and
// headings (weak, they also occur in agendas). Received copies' x_ prefixes
// and SafeLinks wrapping are undone first. In HTML the span grows from the
// separator texts to the elements that hold nothing else visible
// (<div><span>____</span></div>, Word's <p>), is balanced so that it never
// cuts through an element, and becomes the whole me-email-text container
// when the separators fill one (the newest Teams layout). A me-email-text
// container without separators is a block on its own.
//
// Exchange serves a plain-text body as HTML (text escaped, lines ending in
// "<br>\r\n", inside <div class="PlainText">). When the markup shows no
// block (or one without a join link), the text of such a container, of a
// <pre> or of a body of text and <br> alone is searched as text, and the
// block is replaced by the text layout, escaped, with the body's line breaks.
//
// When the engine cannot be sure it says so rather than guess: two blocks,
// a separator inside the block, block content beyond the separators, a block
// straddling table cells, one separator only, an iCalendar whose text and
// HTML parts disagree.
//
// # Replacing it
//
// Replace renders a new block from a Profile and the old block's own
// meeting coordinates (join link, meeting ID, passcode, meeting options
// link), unless the profile brings a new join link for the target kind, and
// splices it in. Its Result says whether the body was replaced, already up
// to date (nothing to send) or not replaced, and why. Replacing twice gives
// the same bytes as once.
//
// # Languages
//
// Blocks are rendered from the catalogs under catalog/ (one JSON file per
// language, see catalog/SOURCES.md), in the first language that has one:
// the profile's locale, the old block's own (lang attribute, omkt= or
// language= parameter, Skype's LCID marker, labels), the tenant's default
// (Profile.DefaultLocale), en-US. golang.org/x/text/language picks the
// closest variant of the same language (fr-BE gets fr-FR, pt-PT pt-BR); a
// language without a catalog falls through, and Result.LanguageReason says
// so. Finding never depends on English: labels and headings of every
// catalog are read. Right-to-left blocks carry dir="rtl".
package meetingblock
