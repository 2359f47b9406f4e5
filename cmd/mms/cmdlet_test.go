package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmms/mms/internal/devstack"
	"github.com/openmms/mms/internal/embeddedtemporal"
	"github.com/openmms/mms/internal/temporalclient"
)

// runRoot runs the whole mms command (newRoot, as main does) with args.
func runRoot(t *testing.T, args ...string) result {
	t.Helper()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(""))
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	code := 0
	if err := root.ExecuteContext(ctx); err != nil {
		code = exitCode(err)
		if !errors.Is(err, errSilent) {
			errOut.WriteString("mms: " + err.Error() + "\n")
		}
	}
	t.Logf("mms %s -> %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return result{code, out.String(), errOut.String()}
}

// TestCmdletCLI is issue 21's item 5 against the whole service: the user
// positional as -Identity, the cmdlets' parameter names as aliases, and a
// profile holding the API URL, token and tenant (flags and MMS_* win).
func TestCmdletCLI(t *testing.T) {
	st, err := devstack.Start(context.Background(), devstack.Config{DataDir: t.TempDir(), APIAddr: freeAddr(t),
		TemporalAddr: freeAddr(t), UIAddr: "-", SeedDemo: true,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop(context.Background())
	for _, v := range []string{"MMS_API_URL", "MMS_TOKEN", "MMS_TENANT", "MMS_PROFILE"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	cfgDir := t.TempDir()
	t.Setenv("MMS_CONFIG_DIR", cfgDir)
	t.Setenv("MMS_DATA_DIR", t.TempDir()) // no admin-token to fall back on

	// The profile: the first one set is current; the file is 0600 and holds the token.
	if r := runRoot(t, "profile", "set", "dev", "--api-url", st.APIURL, "--token", st.AdminToken, "--tenant", "contoso"); r.code != 0 {
		t.Fatalf("profile set: %d %s", r.code, r.stderr)
	}
	if r := runRoot(t, "profile", "set", "other", "--api-url", "http://127.0.0.1:1", "--tenant", "nowhere", "--token", "x"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	fi, err := os.Stat(filepath.Join(cfgDir, "profiles.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("profiles.json: %v, mode %v; want 0600", err, fi.Mode())
	}
	if r := runRoot(t, "profile", "list"); !strings.Contains(r.stdout, "*  dev") || strings.Contains(r.stdout, st.AdminToken) {
		t.Errorf("profile list shows no current dev, or shows the token:\n%s", r.stdout)
	}

	// The user positional, from the profile alone (no --api-url, --token, --tenant).
	const alice = "alice@contoso.com"
	if r := runRoot(t, "start", alice); r.code != 0 || !strings.Contains(r.stdout, "migration of "+alice) {
		t.Fatalf("start %s: %d %s", alice, r.code, r.stderr)
	}
	if r := runRoot(t, "status", alice, "--watch", "--interval", "100ms"); r.code != 0 {
		t.Fatalf("status %s --watch: %d %s", alice, r.code, r.stderr)
	}
	// -Identity and the other cmdlet names as flags, PowerShell's spelling included.
	r := runRoot(t, "status", "--Identity", alice, "-o", "json")
	var d struct {
		UserID string `json:"userId"`
		State  string `json:"state"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &d); r.code != 0 || err != nil || d.UserID != alice || d.State != "Succeeded" {
		t.Fatalf("status --Identity: %d %v %+v", r.code, err, d)
	}
	if r := runRoot(t, "status", "--summary-only", "--start-time", "2000-01-01T00:00:00Z", "--end-time", "2100-01-01T00:00:00Z"); r.code != 0 ||
		!strings.Contains(r.stdout, "Succeeded") {
		t.Errorf("status --summary-only --start-time --end-time: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r := runRoot(t, "start", "--identity", alice, "--source-meeting-type", "Teams", "--target-meeting-type", "Teams", "--dry-run", "-o", "json"); r.code != 0 ||
		!strings.Contains(r.stdout, `"sourceMeetingType": "Teams"`) {
		t.Errorf("start --identity --source-meeting-type --target-meeting-type: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r := runRoot(t, "start", "bob@contoso.com", "--user", alice); r.code != 1 || !strings.Contains(r.stderr, "given twice") {
		t.Errorf("two users: %d %q; want 1, given twice", r.code, r.stderr)
	}
	if r := runRoot(t, "start"); r.code != 1 || !strings.Contains(r.stderr, "-Identity") {
		t.Errorf("no user: %d %q", r.code, r.stderr)
	}

	// A variable wins over the profile, and a flag over both.
	if r := runRoot(t, "status", alice, "--profile", "other"); r.code != 2 {
		t.Errorf("--profile other (unreachable API): exit %d, want 2", r.code)
	}
	t.Setenv("MMS_API_URL", st.APIURL)
	t.Setenv("MMS_TENANT", "contoso")
	if r := runRoot(t, "status", alice, "--profile", "other", "--token", st.AdminToken); r.code != 0 {
		t.Errorf("MMS_API_URL and MMS_TENANT over the profile: exit %d %s", r.code, r.stderr)
	}
	if r := runRoot(t, "status", alice, "--profile", "missing"); r.code != 1 || !strings.Contains(r.stderr, `profile "missing"`) {
		t.Errorf("--profile missing: %d %q", r.code, r.stderr)
	}
	if r := runRoot(t, "profile", "use", "other"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := runRoot(t, "profile", "delete", "other"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := runRoot(t, "profile", "list"); strings.Contains(r.stdout, "other") || strings.Contains(r.stdout, "*") {
		t.Errorf("after deleting the current profile:\n%s", r.stdout)
	}
}

// TestHelpHasGroupsExamplesAndCompletions: every command's help has
// Examples, every top-level command is in a group, and shell completion
// offers the values of --state, --type and -o.
func TestHelpHasGroupsExamplesAndCompletions(t *testing.T) {
	root := newRoot()
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.Hidden && c.Example == "" {
			t.Errorf("%s: no Examples in its help", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, c := range root.Commands() {
		if c.GroupID == "" {
			t.Errorf("%s: in no group", c.Name())
		}
	}
	help := runRoot(t, "--help").stdout
	for _, g := range []string{"Service (run mms):", "Migrations (the cmdlets' verbs):", "Configuration:", "Tools:"} {
		if !strings.Contains(help, g) {
			t.Errorf("mms --help lists no %q", g)
		}
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "status", "--state", ""}, []string{"Pending", "InProgress", "Succeeded", "Failed"}},
		{[]string{"__complete", "status", "--type", ""}, []string{"SfbToTeams", "TeamsToTeams", "ToSameType", "AllToTeams"}},
		{[]string{"__complete", "status", "-o", ""}, []string{"table", "json", "csv"}},
		{[]string{"__complete", "start", "--target", ""}, []string{"Current", "Teams"}},
	} {
		out := runRoot(t, tc.args...).stdout
		for _, w := range tc.want {
			if !strings.Contains(out, w+"\n") {
				t.Errorf("%v: no %s in\n%s", tc.args, w, out)
			}
		}
	}
}

// TestTemporalAddressSpelling: --temporal-address is the Temporal address on
// every command, the old spellings still set the same value, and `mms dev
// --temporal-address` attaches to a running server instead of starting one.
func TestTemporalAddressSpelling(t *testing.T) {
	root := newRoot()
	for _, tc := range []struct {
		cmd, old string
	}{{"temporal", "addr"}, {"dev", "temporal-addr"}} {
		c, _, err := root.Find([]string{tc.cmd})
		if err != nil {
			t.Fatal(err)
		}
		if c.Flags().Lookup("temporal-address") == nil {
			t.Errorf("mms %s: no --temporal-address", tc.cmd)
		}
		if f := c.Flags().Lookup(tc.old); f == nil || !f.Hidden || f.Deprecated == "" {
			t.Errorf("mms %s --%s: not a hidden deprecated alias", tc.cmd, tc.old)
		}
	}
	for _, name := range []string{"worker", "api"} {
		if c, _, _ := root.Find([]string{name}); c.Flags().Lookup("temporal-address") == nil {
			t.Errorf("mms %s: no --temporal-address", name)
		}
	}
	tc, _, _ := root.Find([]string{"temporal"})
	if err := tc.ParseFlags([]string{"--addr", "127.0.0.1:17233"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := tc.Flags().GetString("temporal-address"); v != "127.0.0.1:17233" {
		t.Errorf("mms temporal --addr set --temporal-address to %q", v)
	}

	// mms dev --temporal-address: attached, with no temporal.db of its own.
	ctx := context.Background()
	srv, err := embeddedtemporal.Start(ctx, embeddedtemporal.Options{DataDir: t.TempDir(), FrontendAddr: "127.0.0.1:0",
		SearchAttributes: temporalclient.SearchAttributes, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	data := t.TempDir()
	dev := newRoot()
	var out syncBuffer
	dev.SetOut(&out)
	dev.SetErr(&out)
	dev.SetArgs([]string{"dev", "--temporal-address", srv.FrontendAddr(), "--data-dir", data, "--api-addr", freeAddr(t),
		"--ui-addr", "-", "--log-level", "warn"})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- dev.ExecuteContext(runCtx) }()
	for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), "Press Ctrl-C"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("mms dev did not get ready:\n%s", out.String())
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("mms dev: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), srv.FrontendAddr()+"   (namespace default, already running: attached)") {
		t.Errorf("mms dev does not say it attached to %s:\n%s", srv.FrontendAddr(), out.String())
	}
	if _, err := os.Stat(filepath.Join(data, "temporal.db")); !os.IsNotExist(err) {
		t.Errorf("mms dev --temporal-address made a temporal.db (%v)", err)
	}
}

// syncBuffer is a bytes.Buffer safe for a command writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
