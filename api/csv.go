package api

import "strings"

// SafeCSVCell neutralises a cell that a spreadsheet would run as a formula
// (issue 18, finding 4): one that begins with '=', '+', '-', '@', a tab or
// a carriage return gets a leading single quote, as OWASP's CSV-injection
// advice says. The quote is what Excel and LibreOffice show as text; the
// value is otherwise kept, and neutralising twice changes nothing (the
// quote is not a trigger), so the CLI can apply it again to the API's CSV.
// Every cell goes through it: user IDs are now checked, but messages,
// subjects and reasons carry third-party text.
func SafeCSVCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// SafeCSVRow is SafeCSVCell applied to each cell of a row, in place.
func SafeCSVRow(row []string) []string {
	for i, c := range row {
		row[i] = SafeCSVCell(c)
	}
	return row
}
