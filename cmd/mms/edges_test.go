package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Issue 18, finding 3: a malformed --user is a usage error (exit 1) that
// names the flag, and nothing reaches the API.
func TestUserFlagGrammar(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the API was called: %s %s", r.Method, r.URL)
		http.Error(w, "{}", http.StatusTeapot)
	}))
	defer srv.Close()
	c := cli{t: t, url: srv.URL, token: "t"}
	for _, user := range []string{"a\tb@contoso.com", "..", "alice", "\x1b[2J@contoso.com", strings.Repeat("a", 300) + "@x"} {
		for _, args := range [][]string{{"start", "--user", user}, {"cancel", "--user", user}, {"retry", "--user", user},
			{"status", "--user", user}, {"event", "post", "--type", "sipAddressChanged", "--user", user},
			{"event", "list", "--user", user}} {
			if r := c.run(args...); r.code != 1 || !strings.Contains(r.stderr, "--user: ") {
				t.Errorf("mms %q: exit %d %q, want 1 naming --user", args, r.code, r.stderr)
			}
		}
	}
}
