package router

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func load(t *testing.T, doc string) error {
	t.Helper()
	p := filepath.Join(t.TempDir(), "calendars.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	return err
}

// Issue 18, finding 7: an empty calendars file was accepted silently (and
// sent every tenant to the sandbox).
func TestEmptyCalendarsFileIsAnError(t *testing.T) {
	for _, doc := range []string{"", "\n\n", "# only a comment\n", "null\n", "{}\n", "---\n"} {
		if err := load(t, doc); err == nil || !strings.Contains(err.Error(), "empty") {
			t.Errorf("%q: %v, want an error saying it is empty", doc, err)
		}
	}
	if err := load(t, "default: none\n"); err != nil {
		t.Errorf("default: none alone: %v", err)
	}
}

// Issue 18, finding 7: a password in a CalDAV URL was echoed in errors.
func TestCalDAVPasswordIsRedacted(t *testing.T) {
	t.Setenv("MMS_TEST_DAV_URL", "https://mms:s3cret-pw@dav example.com/")
	for _, doc := range []string{
		"tenants:\n  f:\n    backend: caldav\n    caldav:\n      url: \"https://mms:s3cret-pw@dav example.com/\"\n",
		"tenants:\n  f:\n    backend: caldav\n    caldav:\n      url: ${MMS_TEST_DAV_URL}\n",
		"tenants:\n  f:\n    backend: caldav\n    caldav:\n      url: https://mms:s3cret-pw@dav.example.com/\n      bogus: 1\n",
	} {
		err := load(t, doc)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%q: %v, want an error without the password", doc, err)
		}
	}
	if got := "x https://mms:xxxxx@dav example.com/ y"; !strings.Contains(
		load(t, "tenants:\n  f:\n    backend: caldav\n    caldav:\n      url: \"https://mms:pw@dav example.com/\"\n").Error(),
		strings.Fields(got)[1]) {
		t.Errorf("the redacted URL is not shown as url.URL.Redacted shows it")
	}
}

// Issue 18, finding 7: YAML errors named the wrong line. A value with line
// breaks from the environment no longer shifts the lines after it, and
// unknown fields and wrong types name their line.
func TestCalendarsErrorsNameTheRightLine(t *testing.T) {
	t.Setenv("MMS_TEST_PEM", "-----BEGIN-----\nabc\ndef\n-----END-----\n")
	for doc, want := range map[string]string{
		"# comment\n\ntenants:\n  contoso:\n    backend: graph\n    graph:\n      azureTenantId: x\n      clientId: y\n      clientSecret: ${MMS_TEST_PEM}\n      colour: red\n": `line 10: unknown field "colour"`,
		"tenants:\n  contoso:\n    backend: graph\n    graph:\n      clientSecret: ${MMS_TEST_PEM}\n      horizonDays: many\n":                                                   "line 6: tenants.graph.horizonDays: must be int",
		"# c\ntenants:\n  contoso:\n    backend: [\n": "line 4",
	} {
		if err := load(t, doc); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", doc, err, want)
		}
	}
	// A plain ${VAR} still becomes a number where one is expected.
	t.Setenv("MMS_TEST_PORT", "587")
	t.Setenv("MMS_TEST_DAV_PASSWORD", "pw")
	doc := "tenants:\n  f:\n    backend: caldav\n    caldav:\n      url: https://dav.example/\n" +
		"      delegate: {username: mms, password: \"${MMS_TEST_DAV_PASSWORD}\"}\n      homeTemplate: \"{base}/{local}/\"\n      notify: imip\n" +
		"      smtp: {host: smtp.example, port: ${MMS_TEST_PORT}, from: mms@example.com}\n"
	if err := load(t, doc); err != nil {
		t.Fatalf("port from the environment: %v", err)
	}
}
