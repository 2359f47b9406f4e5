package migration

import (
	"errors"
	"fmt"
)

// MaxTenantIDBytes bounds a tenant ID: a directory (Entra ID) tenant ID is a
// 36-character GUID and a verified domain at most 253 characters; 128 holds
// every GUID and the domains people type, and keeps workflow IDs (which
// carry the tenant) well inside Temporal's limits.
const MaxTenantIDBytes = 128

// ParseTenantID checks a new tenant's ID: 1 to MaxTenantIDBytes of ASCII
// lower-case letters, digits, '.', '-' and '_', beginning with a letter or
// a digit. The ID names the tenant in URL paths, workflow IDs, file names
// and terminals, so nothing that any of them would read differently gets
// in: no space, slash, '@', control character or upper case (an ID that
// differed from another only in case would be a second tenant by mistake),
// and "." or ".." cannot pass, beginning with a dot. A GUID ("72f988bf-...")
// or a domain ("contoso.onmicrosoft.com") fits. The error names no field;
// callers add theirs.
func ParseTenantID(id string) (string, error) {
	switch {
	case id == "":
		return "", errors.New("required")
	case len(id) > MaxTenantIDBytes:
		return "", fmt.Errorf("at most %d bytes, not %d", MaxTenantIDBytes, len(id))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case (c == '.' || c == '-' || c == '_') && i > 0:
		case 'A' <= c && c <= 'Z':
			return "", fmt.Errorf("must be lower case (%q at byte %d)", c, i)
		default:
			return "", fmt.Errorf("must be letters, digits, '.', '-' or '_', beginning with a letter or digit (%q at byte %d)", c, i)
		}
	}
	return id, nil
}
