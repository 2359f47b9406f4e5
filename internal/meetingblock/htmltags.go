package meetingblock

import "golang.org/x/net/html/atom"

// Element classes the light-weight tree builder and the block finder use.

// scopeKind selects the elements an end-tag search does not look past
// (the HTML tree-construction "scopes", simplified).
type scopeKind uint8

const (
	inScope scopeKind = iota
	inButtonScope
	inListScope
	inRowScope
	inTableScope
)

func (sc scopeKind) boundary(t atom.Atom) bool {
	switch sc {
	case inRowScope:
		return t == atom.Tr || t == atom.Table || t == atom.Html || t == atom.Template
	case inTableScope:
		return t == atom.Table || t == atom.Html || t == atom.Template
	}
	switch t {
	case atom.Applet, atom.Caption, atom.Html, atom.Table, atom.Td, atom.Th, atom.Marquee, atom.Object, atom.Template:
		return true
	case atom.Button:
		return sc == inButtonScope
	case atom.Ol, atom.Ul, atom.Dl:
		return sc == inListScope
	}
	return false
}

// headContent elements may appear in <head> without closing it.
func headContent(t atom.Atom) bool {
	switch t {
	case atom.Head, atom.Html, atom.Meta, atom.Link, atom.Title, atom.Style, atom.Script, atom.Base, atom.Noscript, atom.Template:
		return true
	}
	return false
}

// closesP elements imply the end of an open <p>.
func closesP(t atom.Atom) bool {
	switch t {
	case atom.Address, atom.Article, atom.Aside, atom.Blockquote, atom.Center, atom.Details, atom.Dialog,
		atom.Dir, atom.Div, atom.Dl, atom.Fieldset, atom.Figcaption, atom.Figure, atom.Footer, atom.Header,
		atom.Hgroup, atom.Main, atom.Menu, atom.Nav, atom.Ol, atom.P, atom.Section, atom.Summary, atom.Ul,
		atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Pre, atom.Listing, atom.Form, atom.Table,
		atom.Hr, atom.Li, atom.Dd, atom.Dt, atom.Xmp, atom.Plaintext:
		return true
	}
	return false
}

// void elements have no content and no end tag.
func void(t atom.Atom) bool {
	switch t {
	case atom.Area, atom.Base, atom.Br, atom.Col, atom.Embed, atom.Hr, atom.Img, atom.Input, atom.Link,
		atom.Meta, atom.Param, atom.Source, atom.Track, atom.Wbr, atom.Keygen:
		return true
	}
	return false
}

// significant elements are visible content on their own.
func significant(t atom.Atom) bool {
	switch t {
	case atom.Img, atom.Input, atom.Video, atom.Audio, atom.Iframe, atom.Object, atom.Embed, atom.Svg,
		atom.Canvas, atom.Select, atom.Textarea, atom.Button:
		return true
	}
	return false
}

// hiddenText elements hold text that is not part of the visible body.
func hiddenText(t atom.Atom) bool {
	switch t {
	case atom.Script, atom.Style, atom.Title, atom.Textarea, atom.Noscript, atom.Xmp, atom.Iframe,
		atom.Noembed, atom.Noframes, atom.Template, atom.Head:
		return true
	}
	return false
}

// structural elements are never taken into a block: splicing across them
// would break the document's tables, lists or skeleton.
func structural(t atom.Atom) bool {
	switch t {
	case atom.Html, atom.Head, atom.Body, atom.Table, atom.Tbody, atom.Thead, atom.Tfoot, atom.Tr, atom.Td,
		atom.Th, atom.Caption, atom.Li, atom.Ul, atom.Ol, atom.Dl, atom.Dd, atom.Dt, atom.Form, atom.Template:
		return true
	}
	return false
}
