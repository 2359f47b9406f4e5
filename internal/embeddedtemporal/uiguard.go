package embeddedtemporal

import (
	"fmt"
	"net"
	"net/http"
	"strings"
)

// The Temporal Web UI has no sign-in here, so anything that can reach its port (a browser tab
// on this machine included) acts with the UI's full rights on the frontend. Two guards wrap it:
//
//   - hostGuard refuses requests whose Host header is not one of the UI's own names. A page on
//     evil.example whose name is re-pointed at 127.0.0.1 (DNS rebinding) reaches the port from
//     the victim's browser, but its requests still carry Host: evil.example.
//   - readOnly refuses every request that could change state, unless write actions are on.

// hostGuard answers 421 Misdirected Request to a request for a host name not in allowed. IP
// literals of this machine's own listen address pass too; when listening on all interfaces any
// IP literal passes, because an IP literal is not a name an attacker can re-point.
func hostGuard(next http.Handler, listen net.IP, extra []string) http.Handler {
	allowed := map[string]bool{"localhost": true}
	for _, h := range extra {
		allowed[normalizeHost(h)] = true
	}
	anyIP := listen.IsUnspecified()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := normalizeHost(r.Host)
		ok := allowed[host] || strings.HasSuffix(host, ".localhost") // RFC 6761: always loopback
		if !ok {
			if ip := net.ParseIP(host); ip != nil {
				ok = ip.IsLoopback() || ip.Equal(listen) || anyIP
			}
		}
		if !ok {
			http.Error(w, fmt.Sprintf("temporal ui: host %q is not one of this UI's names "+
				"(add it with --ui-host if it is)", r.Host), http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// normalizeHost strips the port and brackets and lower-cases a Host header value.
func normalizeHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// readOnly lets through only requests that cannot change state: GET, HEAD, OPTIONS (CORS
// preflight), and POSTs to the workflow query endpoint (queries are read-only by contract;
// the workflow page uses them for the stack trace and the metadata).
//
// ui-server's own DisableWriteActions (which is also set, so that the UI hides its buttons)
// is not enough on its own: it allows any POST whose *decoded* path contains "/query/", while
// the API routes match the *escaped* path. A workflow ID such as "x/query/y" (sent as
// x%2Fquery%2Fy) therefore passes it on start, signal-with-start, terminate, ... and so would
// the mms workflow of a user named "query". Here the escaped path must be exactly
// /api/v1/namespaces/{ns}/workflows/{id}/query/{type}.
func readOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		case http.MethodPost:
			if isQueryPath(r.URL.EscapedPath()) {
				next.ServeHTTP(w, r)
				return
			}
		}
		http.Error(w, "temporal ui: write actions are off (mms dev --ui-write-actions turns them on)",
			http.StatusMethodNotAllowed)
	})
}

func isQueryPath(p string) bool {
	s := strings.Split(p, "/")
	return len(s) == 9 && s[0] == "" && s[1] == "api" && s[2] == "v1" && s[3] == "namespaces" &&
		s[4] != "" && s[5] == "workflows" && s[6] != "" && s[7] == "query" && s[8] != ""
}
