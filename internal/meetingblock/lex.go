package meetingblock

import (
	"strings"

	"golang.org/x/net/html"
)

// lexer splits an HTML body into exactly the tokens golang.org/x/net/html's
// Tokenizer returns (the same types and the same raw byte spans), but by
// offsets into the body string: it copies nothing and allocates nothing.
// The Tokenizer reads its input one byte at a time through a buffer and
// allocates a string per attribute of every tag; over a 1 MB body that was
// most of the CPU of a replacement (docs/PERFORMANCE.md). The lexer finds
// '<' with strings.IndexByte and reads attributes only when asked.
//
// Each function mirrors the Tokenizer's function of the same name (token.go
// of x/net/html v0.62.0); lex_test.go compares both on the fixtures, the
// fuzz corpus and crafted markup. Script content, whose escaping rules are
// byzantine, is delegated to the Tokenizer itself.
type lexer struct {
	s   string
	pos int  // next byte to read
	eof bool // the input ended inside a token: the next token is ErrorToken

	tt         html.TokenType
	start      int    // the token is s[start:pos]
	rawText    bool   // a text token of a raw text element (script, style, ...): no character references
	convertNUL bool   // a text token of a raw text or RCDATA element: NULs read as U+FFFD
	rawTag     string // set after a start tag whose content is raw text, until that text is read
	name       [2]int // a tag's name
	attrs      []attrSpan
	attrsValid bool // attrs holds the current tag's attributes, duplicates removed
	tagStart   int  // the start of the last start tag: where a script's content is read from
	attrBuf    [16]attrSpan
}

// Elements whose content is raw text (or RCDATA) for the Tokenizer.
var rawTextTags = [...]string{"iframe", "noembed", "noframes", "noscript", "plaintext", "script", "style", "textarea", "title", "xmp"}

// equalFoldASCII compares s and t ignoring ASCII case only, as the
// Tokenizer does.
func equalFoldASCII(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower(s[i]) != lower(t[i]) {
			return false
		}
	}
	return true
}

// simpleRefs are the character references decoded here rather than by the
// Tokenizer: each is a named reference with its semicolon (or a numeric
// one) that the Tokenizer decodes alike in text and in attribute values.
var simpleRefs = [...]struct{ ref, val string }{
	{"&amp;", "&"}, {"&nbsp;", "\u00a0"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", `"`}, {"&#39;", "'"},
}

// appendUnescaped appends s to dst as the Tokenizer reads it (CR LF and CR
// as LF, references decoded) when s holds no other reference than
// simpleRefs and a '&' that starts none; else it reports false. A '&'
// followed by neither a letter, a digit nor '#' is literal in any mode.
func appendUnescaped(dst []byte, s string) ([]byte, bool) {
	for len(s) > 0 {
		i := strings.IndexAny(s, "&\r")
		if i < 0 {
			return append(dst, s...), true
		}
		dst = append(dst, s[:i]...)
		s = s[i:]
		if s[0] == '\r' {
			dst = append(dst, '\n')
			s = s[1:]
			if len(s) > 0 && s[0] == '\n' {
				s = s[1:]
			}
			continue
		}
		if len(s) == 1 || !isAlnum(s[1]) && s[1] != '#' {
			dst = append(dst, '&')
			s = s[1:]
			continue
		}
		ok := false
		for _, r := range simpleRefs {
			if strings.HasPrefix(s, r.ref) {
				dst = append(dst, r.val...)
				s = s[len(r.ref):]
				ok = true
				break
			}
		}
		if !ok {
			return dst, false
		}
	}
	return dst, true
}

// attrSpan is an attribute's key and (raw, still escaped) value.
type attrSpan struct{ k0, k1, v0, v1 int }

func newLexer(s string) *lexer {
	z := &lexer{}
	z.init(s)
	return z
}

// init makes z a lexer of s: a lexer declared as a value stays on the stack.
func (z *lexer) init(s string) {
	*z = lexer{s: s}
	z.attrs = z.attrBuf[:0]
}

func (z *lexer) raw() string { return z.s[z.start:z.pos] }

// text is a text token's text as the Tokenizer's Text returns it: line
// breaks normalised, NULs replaced in raw text, character references
// decoded outside raw text. It copies only when one of them applies.
func (z *lexer) text() string {
	s := z.raw()
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	}
	if z.convertNUL && strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\ufffd")
	}
	if !z.rawText && strings.IndexByte(s, '&') >= 0 {
		s = html.UnescapeString(s)
	}
	return s
}

func isTagSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' }

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func (z *lexer) skipWhiteSpace() {
	for z.pos < len(z.s) && isTagSpace(z.s[z.pos]) {
		z.pos++
	}
}

// next scans the next token and returns its type.
func (z *lexer) next() html.TokenType {
	z.start = z.pos
	z.rawText, z.convertNUL = false, false
	z.attrsValid = false
	if z.eof || z.pos >= len(z.s) && z.rawTag == "" {
		z.tt = html.ErrorToken
		return z.tt
	}
	if z.rawTag != "" {
		tag := z.rawTag
		z.rawTag = ""
		switch tag {
		case "plaintext":
			z.pos = len(z.s)
		case "script":
			z.readScript()
		default:
			z.readRawOrRCDATA(tag)
		}
		if z.pos > z.start {
			z.tt = html.TextToken
			// A textarea's or title's RCDATA can contain escaped entities.
			z.rawText = tag != "textarea" && tag != "title"
			z.convertNUL = true
			return z.tt
		}
		if z.pos >= len(z.s) {
			z.tt = html.ErrorToken
			return z.tt
		}
	}
	for i := z.pos; ; {
		k := strings.IndexByte(z.s[i:], '<')
		if k < 0 || i+k+1 >= len(z.s) {
			// No tag left: the rest is text ("<" at the very end included).
			z.pos = len(z.s)
			break
		}
		lt := i + k
		c := z.s[lt+1]
		if !isLetter(c) && c != '/' && c != '!' && c != '?' {
			i = lt + 1
			continue
		}
		if lt > z.start {
			// The text before the tag is a token of its own.
			z.pos = lt
			z.tt = html.TextToken
			return z.tt
		}
		z.pos = lt + 2
		switch {
		case isLetter(c):
			z.tt = z.readStartTag()
		case c == '/':
			z.tt = z.readEndTag()
		case c == '!':
			z.tt = z.readMarkupDeclaration()
		default: // '?': a bogus comment, the '?' included
			z.pos--
			z.readUntilCloseAngle()
			z.tt = html.CommentToken
		}
		return z.tt
	}
	if z.pos > z.start {
		z.tt = html.TextToken
		return z.tt
	}
	z.tt = html.ErrorToken
	return z.tt
}

func (z *lexer) readEndTag() html.TokenType {
	if z.pos >= len(z.s) {
		// "</" at the end is text.
		z.pos = len(z.s)
		return html.TextToken
	}
	c := z.s[z.pos]
	z.pos++
	switch {
	case c == '>':
		// "</>" is no token; the Tokenizer returns it as an empty comment.
		return html.CommentToken
	case isLetter(c):
		if !z.readTag() {
			return html.ErrorToken
		}
		return html.EndTagToken
	}
	z.pos--
	z.readUntilCloseAngle()
	return html.CommentToken
}

// readStartTag reads a start tag; "<a" has been consumed.
func (z *lexer) readStartTag() html.TokenType {
	if !z.readTag() {
		return html.ErrorToken
	}
	for _, t := range rawTextTags {
		if equalFoldASCII(z.s[z.name[0]:z.name[1]], t) {
			z.rawTag, z.tagStart = t, z.start
			break
		}
	}
	// Self-closing (<br/>), unless the '/' ends the last attribute's
	// unquoted value (<p a=/>): the Tokenizer's rule.
	if z.s[z.pos-2] == '/' {
		as := z.attributes()
		if len(as) == 0 || z.pos-2 != as[len(as)-1].v1-1 {
			return html.SelfClosingTagToken
		}
	}
	return html.StartTagToken
}

// readTag reads a tag's name and attributes up to and including its '>'.
// It returns false when the input ends first (the Tokenizer's ErrorToken).
func (z *lexer) readTag() bool {
	z.name[0] = z.pos - 1
	for z.pos < len(z.s) {
		c := z.s[z.pos]
		if isTagSpace(c) {
			z.name[1] = z.pos
			z.pos++
			break
		}
		if c == '/' || c == '>' {
			z.name[1] = z.pos
			break
		}
		z.pos++
	}
	if z.pos >= len(z.s) {
		z.eof = true
		return false
	}
	z.attrs = z.attrs[:0]
	z.skipWhiteSpace()
	for z.pos < len(z.s) {
		if z.s[z.pos] == '>' {
			z.pos++
			return true
		}
		k0, k1 := z.readTagAttrKey()
		v0, v1 := z.readTagAttrVal()
		if k1 > k0 {
			z.attrs = append(z.attrs, attrSpan{k0, k1, v0, v1})
		}
		z.skipWhiteSpace()
	}
	z.eof = true
	return false
}

func (z *lexer) readTagAttrKey() (int, int) {
	start := z.pos
	for ; z.pos < len(z.s); z.pos++ {
		switch z.s[z.pos] {
		case '=':
			if z.pos == start {
				// An '=' before the name begins is part of the name.
				continue
			}
			return start, z.pos
		case ' ', '\n', '\r', '\t', '\f', '/', '>':
			return start, z.pos
		}
	}
	return start, z.pos
}

func (z *lexer) readTagAttrVal() (int, int) {
	v := z.pos
	z.skipWhiteSpace()
	if z.pos >= len(z.s) {
		return v, v
	}
	c := z.s[z.pos]
	if c == '/' {
		z.pos++
		return v, v
	}
	if c != '=' {
		return v, v
	}
	z.pos++
	z.skipWhiteSpace()
	if z.pos >= len(z.s) {
		return v, v
	}
	quote := z.s[z.pos]
	switch quote {
	case '>':
		return v, v
	case '\'', '"':
		z.pos++
		start := z.pos
		if k := strings.IndexByte(z.s[z.pos:], quote); k >= 0 {
			z.pos += k + 1
			return start, z.pos - 1
		}
		z.pos = len(z.s)
		return start, z.pos
	}
	start := z.pos
	for z.pos++; z.pos < len(z.s); z.pos++ {
		switch z.s[z.pos] {
		case ' ', '\n', '\r', '\t', '\f':
			z.pos++
			return start, z.pos - 1
		case '>':
			return start, z.pos
		}
	}
	return start, z.pos
}

// attributes returns the current tag's attributes, the later ones of
// duplicate (case-insensitive) names removed, as the Tokenizer keeps them.
func (z *lexer) attributes() []attrSpan {
	if z.attrsValid {
		return z.attrs
	}
	z.attrsValid = true
	as := z.attrs
	if len(as) < 2 {
		return as
	}
	if len(as) > 64 {
		// Crafted tags: a set keeps this linear.
		seen := make(map[string]bool, len(as))
		out := as[:0]
		for _, a := range as {
			k := asciiLower(z.s[a.k0:a.k1])
			if !seen[k] {
				seen[k] = true
				out = append(out, a)
			}
		}
		z.attrs = out
		return out
	}
	out := as[:1]
outer:
	for _, a := range as[1:] {
		for _, b := range out {
			if equalFoldASCII(z.s[a.k0:a.k1], z.s[b.k0:b.k1]) {
				continue outer
			}
		}
		out = append(out, a)
	}
	z.attrs = out
	return out
}

// attrKey is an attribute's lower-case key: copied only when it has upper case.
func (z *lexer) attrKey(a attrSpan) string {
	k := asciiLower(z.s[a.k0:a.k1])
	if strings.IndexByte(k, 0) >= 0 {
		k = strings.ReplaceAll(k, "\x00", "\ufffd")
	}
	return k
}

// attrVal is an attribute's value as the Tokenizer returns it: line breaks
// normalised and character references decoded (attribute rules), which
// needs a copy only when it has a '&' or a CR.
func (z *lexer) attrVal(a attrSpan) string {
	v := z.s[a.v0:a.v1]
	if strings.IndexByte(v, 0) >= 0 {
		return z.attrValTokenizer(a)
	}
	if strings.IndexByte(v, '&') < 0 && strings.IndexByte(v, '\r') < 0 {
		return v
	}
	if b, ok := appendUnescaped(make([]byte, 0, len(v)), v); ok {
		return string(b)
	}
	return z.attrValTokenizer(a)
}

func (z *lexer) attrValTokenizer(a attrSpan) string {
	v := z.s[a.v0:a.v1]
	// The attribute rules for references (no decoding of "&amp=" or
	// "&copy2") are the Tokenizer's own: let it read the tag.
	t := html.NewTokenizer(strings.NewReader(z.s[z.start:z.pos]))
	t.Next()
	for more := true; more; {
		var k, val []byte
		k, val, more = t.TagAttr()
		if string(k) == z.attrKey(a) {
			return string(val)
		}
	}
	return v
}

func (z *lexer) readUntilCloseAngle() {
	if k := strings.IndexByte(z.s[z.pos:], '>'); k >= 0 {
		z.pos += k + 1
		return
	}
	z.pos = len(z.s)
}

// readMarkupDeclaration reads a comment, doctype or bogus comment ("<!"
// consumed). Doctypes are returned as comments: no caller tells them apart.
func (z *lexer) readMarkupDeclaration() html.TokenType {
	if z.pos+2 > len(z.s) {
		z.pos = len(z.s)
		return html.CommentToken
	}
	if z.s[z.pos] == '-' && z.s[z.pos+1] == '-' {
		z.pos += 2
		z.readComment()
		return html.CommentToken
	}
	// A doctype and a bogus comment both end at the next '>'.
	z.readUntilCloseAngle()
	return html.CommentToken
}

// readComment reads to the end of a comment ("<!--" consumed): "-->",
// "--!>", or the '>' of "<!-->" and "<!--->".
func (z *lexer) readComment() {
	dashes := 0
	beginning := true
	for z.pos < len(z.s) {
		c := z.s[z.pos]
		z.pos++
		switch c {
		case '-':
			dashes++
			continue
		case '>':
			if dashes >= 2 || beginning {
				return
			}
		case '!':
			if dashes >= 2 {
				if z.pos >= len(z.s) {
					return
				}
				c = z.s[z.pos]
				z.pos++
				if c == '>' {
					return
				}
				if c == '-' {
					dashes = 1
					beginning = false
					continue
				}
			}
		}
		dashes = 0
		beginning = false
	}
}

// readRawOrRCDATA reads up to the next "</tag" followed by white space, '/'
// or '>'.
func (z *lexer) readRawOrRCDATA(tag string) {
	for {
		k := strings.Index(z.s[z.pos:], "</")
		if k < 0 {
			z.pos = len(z.s)
			return
		}
		p := z.pos + k
		e := p + 2 + len(tag)
		if e < len(z.s) && strings.EqualFold(z.s[p+2:e], tag) {
			switch z.s[e] {
			case ' ', '\n', '\r', '\t', '\f', '/', '>':
				z.pos = p
				return
			}
		}
		z.pos = p + 2
	}
}

// readScript reads a script's content with the Tokenizer itself, started
// at the <script> tag so that it is in the same state.
func (z *lexer) readScript() {
	t := html.NewTokenizer(strings.NewReader(z.s[z.tagStart:]))
	t.Next()
	if t.Next() == html.TextToken {
		z.pos += len(t.Raw())
	}
}
