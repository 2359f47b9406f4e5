package migration

import (
	"strings"
	"testing"
)

// The probe's payloads of issue 18 (finding 3) and the grammar's edges.
func TestParseUserID(t *testing.T) {
	ok := map[string]string{
		"alice@contoso.com":                       "alice@contoso.com",
		"ALICE@Contoso.COM":                       "alice@contoso.com",
		"o'brien+x@contoso.com":                   "o'brien+x@contoso.com",
		"Zoë@contoso.com":                         "zoë@contoso.com", // only ASCII folds
		strings.Repeat("a", 244) + "@contoso.com": strings.Repeat("a", 244) + "@contoso.com",
	}
	for in, want := range ok {
		if got, err := ParseUserID(in); err != nil || got != want {
			t.Errorf("ParseUserID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{"", ".", "..", "a\tb@contoso.com", "a\x00b@contoso.com", "a\r\nb@contoso.com",
		"\x1b[2J@contoso.com", "a b@contoso.com", "a\u200bb@contoso.com", "\xff@contoso.com",
		strings.Repeat("a", 5000), strings.Repeat("a", 245) + "@contoso.com",
		"alice", "alice@", "@contoso.com", "a@b@contoso.com", "=1+2", "ALICE@"}
	for _, in := range bad {
		if got, err := ParseUserID(in); err == nil {
			t.Errorf("ParseUserID(%q) = %q, want an error", in, got)
		}
	}
}
