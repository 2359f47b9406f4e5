package router

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// yamlish is a secret made of what YAML gives a meaning to: a quote ends a
// quoted string, " #" starts a comment, ": " makes a key, a line break a
// new line, "{}" and "," a flow mapping. Substituted as text, each changed
// the file's meaning (issue 19, item 7).
const yamlish = `p"a#ss #not-a-comment: {x, y} 'q'` + "\nsecond line: z"

func loadConfig(t *testing.T, doc string) Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "calendars.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatalf("Load: %v\n%s", err, doc)
	}
	return c
}

// TestSecretsWithYAMLSyntaxAreValues: ${NAME} is expanded after parsing,
// as a value, in every position a reference may stand: plain, quoted,
// inside a flow mapping, in the middle of other text.
func TestSecretsWithYAMLSyntaxAreValues(t *testing.T) {
	t.Setenv("MMS_TEST_SECRET", yamlish)
	t.Setenv("MMS_TEST_PORT", "587")
	c := loadConfig(t, `tenants:
  contoso:
    backend: graph
    graph:
      azureTenantId: t
      clientId: c
      clientSecret: ${MMS_TEST_SECRET}
  fabrikam:
    backend: caldav
    caldav:
      url: https://dav.example/
      delegate: {username: mms, password: ${MMS_TEST_SECRET}}
      homeTemplate: "{base}/{local}/"
      notify: imip
      smtp: {host: smtp.example, port: ${MMS_TEST_PORT}, from: mms@example.com, username: mms, password: "pre-${MMS_TEST_SECRET}"}
`)
	if got := c.Tenants["contoso"].Graph.ClientSecret; got != yamlish {
		t.Errorf("graph clientSecret = %q, want %q", got, yamlish)
	}
	dav := c.Tenants["fabrikam"].CalDAV
	if dav.Delegate.Password != yamlish {
		t.Errorf("delegate password in a flow mapping = %q, want %q", dav.Delegate.Password, yamlish)
	}
	if dav.SMTP.Port != 587 || dav.SMTP.Password != "pre-"+yamlish || dav.SMTP.From != "mms@example.com" {
		t.Errorf("smtp = %+v", dav.SMTP)
	}
}

// TestExpandedValuesKeepTheirType: a secret that reads as YAML's true,
// null or a float stays the string it is; only a whole number in a plain
// scalar becomes an integer (the port above), and a quoted one never does.
func TestExpandedValuesKeepTheirType(t *testing.T) {
	for _, secret := range []string{"true", "~", "null", "1.5e3", "0x1F", "0587", ""} {
		t.Run(secret, func(t *testing.T) {
			t.Setenv("MMS_TEST_SECRET", secret)
			doc := "tenants:\n  c:\n    backend: graph\n    graph:\n      azureTenantId: t\n      clientId: c\n      clientSecret: ${MMS_TEST_SECRET}\n"
			p := filepath.Join(t.TempDir(), "calendars.yaml")
			if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(p)
			if secret == "" {
				// Empty is a missing secret, reported as such by validation.
				if err == nil || !strings.Contains(err.Error(), "tenants.c.graph") {
					t.Fatalf("empty secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Tenants["c"].Graph.ClientSecret; got != secret {
				t.Errorf("clientSecret = %q, want %q", got, secret)
			}
		})
	}
}

// TestSecretFiles: clientSecretFile and passwordFile read the secret from
// a mounted file (a Kubernetes Secret volume), its final line break
// dropped; giving both spellings, or a file that cannot be read, is an
// error naming the line.
func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	graphSecret := write("graph", yamlish+"\n")
	davPassword := write("dav", "dav: #pw\r\n")
	smtpPassword := write("smtp", `"smtp"`)
	t.Setenv("MMS_TEST_DIR", dir)
	c := loadConfig(t, `tenants:
  contoso:
    backend: graph
    graph:
      azureTenantId: t
      clientId: c
      clientSecretFile: `+graphSecret+`
  fabrikam:
    backend: caldav
    caldav:
      url: https://dav.example/
      users:
        alice@fabrikam.example: {username: alice, passwordFile: "${MMS_TEST_DIR}/dav"}
      notify: imip
      smtp:
        host: smtp.example
        port: 25
        from: mms@fabrikam.example
        username: mms
        passwordFile: `+smtpPassword+`
`)
	if got := c.Tenants["contoso"].Graph.ClientSecret; got != yamlish {
		t.Errorf("clientSecretFile: %q, want %q", got, yamlish)
	}
	dav := c.Tenants["fabrikam"].CalDAV
	if got := dav.Users["alice@fabrikam.example"].Password; got != "dav: #pw" {
		t.Errorf("passwordFile (path from the environment): %q", got)
	}
	if dav.SMTP.Password != `"smtp"` {
		t.Errorf("smtp passwordFile: %q", dav.SMTP.Password)
	}
	_ = davPassword

	for doc, want := range map[string]string{
		"tenants:\n  c:\n    backend: graph\n    graph:\n      azureTenantId: t\n      clientId: c\n      clientSecret: x\n      clientSecretFile: " + graphSecret + "\n": "line 8: clientSecret and clientSecretFile: give one",
		"tenants:\n  c:\n    backend: graph\n    graph:\n      azureTenantId: t\n      clientId: c\n      clientSecretFile: " + dir + "/missing\n":                        "line 7: clientSecretFile: open " + dir + "/missing",
		"tenants:\n  c:\n    backend: graph\n    graph:\n      azureTenantId: t\n      clientId: c\n      clientSecretFile: \"\"\n":                                       "line 7: clientSecretFile: a file path is required",
	} {
		if err := load(t, doc); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", doc, err, want)
		}
	}
}

// TestParseLeavesReferences: Parse (no environment) keeps ${NAME} as it
// is, in flow mappings too.
func TestParseLeavesReferences(t *testing.T) {
	c, err := Parse([]byte("tenants:\n  c: {backend: graph, graph: {azureTenantId: t, clientId: c, clientSecret: ${NOT_SET_ANYWHERE}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Tenants["c"].Graph.ClientSecret; got != "${NOT_SET_ANYWHERE}" {
		t.Errorf("clientSecret = %q", got)
	}
}
