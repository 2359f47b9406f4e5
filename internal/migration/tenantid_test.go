package migration

import (
	"strings"
	"testing"
)

func TestParseTenantID(t *testing.T) {
	for _, ok := range []string{"contoso", "contoso.onmicrosoft.com", "72f988bf-86f1-41af-91ab-2d7cd011db47",
		"a", "t_1", strings.Repeat("a", MaxTenantIDBytes)} {
		if got, err := ParseTenantID(ok); err != nil || got != ok {
			t.Errorf("ParseTenantID(%q) = %q, %v", ok, got, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "../x", "a/b", "a b", "Contoso", "-x", "_x", ".x", "a@b",
		"a\x00", "a\tb", "zoë", "=1+2", strings.Repeat("a", MaxTenantIDBytes+1)} {
		if got, err := ParseTenantID(bad); err == nil {
			t.Errorf("ParseTenantID(%q) = %q, want an error", bad, got)
		}
	}
}
