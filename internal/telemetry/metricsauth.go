package telemetry

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// RequireToken guards a /metrics handler with a bearer token (issue 19):
// the series name tenants' states and back ends' error rates, which an
// operator may not want readable by everyone who reaches the port.
// Prometheus sends it with `authorization: {credentials: ...}` (a
// ServiceMonitor with `authorization.credentials`). An empty token leaves
// h open, as before.
//
// Both sides are hashed before the constant-time comparison, so neither
// the token's length nor its prefix can be learnt from response times.
func RequireToken(h http.Handler, token string) http.Handler {
	if token == "" || h == nil {
		return h
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		if !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "a bearer token is required for /metrics", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
