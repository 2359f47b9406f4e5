package migration

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxUserIDBytes bounds a user ID: a UPN is at most 113 characters in Entra
// ID and a mail address 254 bytes (RFC 5321); 256 leaves room for both and
// keeps IDs well inside Temporal's workflow-ID and header limits.
const MaxUserIDBytes = 256

// ParseUserID checks a user ID (a user principal name or mail address) and
// returns its canonical form, the one every store row and workflow ID
// holds. Every edge (API paths and bodies, events, imports, the CLI, direct
// workflow starts) goes through it, so no ID that Temporal's headers,
// a terminal or a file name would choke on gets past the door.
//
// The grammar: valid UTF-8, printable (no control, format or other
// invisible characters, no spaces), at most MaxUserIDBytes, and the shape
// local@domain, each side non-empty and the domain holding no second '@'.
// "." and ".." can never pass, having no '@'.
//
// IDs compare without regard to ASCII case, as Entra ID compares UPNs, so
// the canonical form is ASCII lower case. Only ASCII is folded: UPNs are
// ASCII in Entra ID, and folding exactly what SQLite's lower() folds lets
// the schema migration canonicalise stored IDs with the same result.
// The error names no field; callers add theirs.
func ParseUserID(id string) (string, error) {
	switch {
	case id == "":
		return "", errors.New("required")
	case len(id) > MaxUserIDBytes:
		return "", fmt.Errorf("at most %d bytes, not %d", MaxUserIDBytes, len(id))
	case !utf8.ValidString(id):
		return "", errors.New("must be valid UTF-8")
	}
	for i, r := range id {
		if !unicode.IsGraphic(r) || unicode.IsSpace(r) {
			return "", fmt.Errorf("must be printable: %U at byte %d", r, i)
		}
	}
	at := strings.LastIndexByte(id, '@')
	if at <= 0 || at == len(id)-1 || strings.IndexByte(id, '@') != at {
		return "", errors.New("must be a user principal name or mail address such as alice@contoso.com")
	}
	return CanonicalUserID(id), nil
}

// CanonicalUserID folds ASCII upper case to lower case and leaves the rest:
// the form stored. It does not check the grammar (ParseUserID does); reads
// use it so that a lookup by any spelling finds the stored ID.
func CanonicalUserID(id string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, id)
}
