package api

import (
	"fmt"
	"strings"
	"unicode"
)

// SafeCSVCell neutralises a cell that a spreadsheet would run as a formula
// (issue 18, finding 4): one that begins with '=', '+', '-', '@', a tab or
// a carriage return gets a leading single quote, as OWASP's CSV-injection
// advice says. The quote is what Excel and LibreOffice show as text; the
// value is otherwise kept, but for its control characters (escapeControls),
// and neutralising twice changes nothing (the quote is not a trigger, an
// escape holds no control character), so the CLI can apply it again to
// the API's CSV.
// Every cell goes through it: user IDs are now checked, but messages,
// subjects and reasons carry third-party text.
func SafeCSVCell(s string) string {
	s = escapeControls(s)
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// escapeControls writes the control characters of s other than tab, CR
// and LF as \xNN (\u0080 and up as \uNNNN): an ESC in a message cleared
// the terminal of an admin who looked at the CSV (issue 18, finding 4).
// Tab, CR and LF are data a CSV cell may hold (the writer quotes it), and
// do nothing to a terminal by themselves.
func escapeControls(s string) string {
	if !strings.ContainsFunc(s, isTerminalControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !isTerminalControl(r):
			b.WriteRune(r)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

func isTerminalControl(r rune) bool {
	return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r'
}

// SafeCSVRow is SafeCSVCell applied to each cell of a row, in place.
func SafeCSVRow(row []string) []string {
	for i, c := range row {
		row[i] = SafeCSVCell(c)
	}
	return row
}
