package graphtest

import (
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is the SHA-1 thumbprint by definition
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// app is an app registration with its credential.
type app struct {
	tenant   string
	clientID string
	secret   string
	cert     *x509.Certificate
	x5t      string
	x5tS256  string
}

type issuedToken struct {
	tenant  string
	expires time.Time
}

// AddApp registers an app in an Entra tenant with a client secret.
func (s *Server) AddApp(tenant, clientID, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[clientID] = &app{tenant: tenant, clientID: clientID, secret: secret}
}

// AddCertificateApp registers an app whose credential is a certificate
// (PEM); its client assertions are verified against the certificate's key.
func (s *Server) AddCertificateApp(tenant, clientID string, certPEM []byte) error {
	b, _ := pem.Decode(certPEM)
	if b == nil || b.Type != "CERTIFICATE" {
		return errors.New("graphtest: no CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return err
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return errors.New("graphtest: certificate key is not RSA")
	}
	sum := sha1.Sum(cert.Raw) //nolint:gosec // thumbprint
	sum256 := sha256.Sum256(cert.Raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[clientID] = &app{tenant: tenant, clientID: clientID, cert: cert, x5t: base64.RawURLEncoding.EncodeToString(sum[:]),
		x5tS256: base64.RawURLEncoding.EncodeToString(sum256[:])}
	return nil
}

// TokenRequests counts the token endpoint's requests (successful or not).
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

// ExpireTokens makes every token issued so far expired, as if its lifetime
// had passed: Graph answers 401 InvalidAuthenticationToken.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.now().Add(-time.Second)
	for _, t := range s.tokens {
		t.expires = past
	}
}

func tokenError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s", aadsts, desc),
		"error_codes":       []int{aadsts},
		"timestamp":         time.Now().UTC().Format("2006-01-02 15:04:05Z"),
	})
}

// handleToken is the identity platform's v2.0 token endpoint for the
// client-credentials grant.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.tokenRequests++
	s.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	tenant := r.PathValue("tenant")
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+gt+"'.")
		return
	}
	clientID, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if id, sec, ok := r.BasicAuth(); ok {
		clientID, secret = id, sec
	}
	scope := r.PostForm.Get("scope")
	if scope == "" || !strings.HasSuffix(scope, "/.default") {
		tokenError(w, http.StatusBadRequest, "invalid_scope", 1002012, "The provided value for scope "+scope+
			" is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
		return
	}
	s.mu.Lock()
	a := s.apps[clientID]
	s.mu.Unlock()
	if a == nil || !strings.EqualFold(a.tenant, tenant) {
		tokenError(w, http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '"+clientID+
			"' was not found in the directory '"+tenant+"'.")
		return
	}
	switch {
	case a.cert != nil:
		if r.PostForm.Get("client_assertion_type") != assertionType || r.PostForm.Get("client_assertion") == "" {
			tokenError(w, http.StatusUnauthorized, "invalid_client", 7000218,
				"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
			return
		}
		tokenURL := "http://" + r.Host + r.URL.Path
		if r.TLS != nil {
			tokenURL = "https://" + r.Host + r.URL.Path
		}
		if err := s.verifyAssertion(a, r.PostForm.Get("client_assertion"), tokenURL); err != nil {
			tokenError(w, http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation: "+err.Error())
			return
		}
	case secret == "" || secret != a.secret:
		// Like the real service, never echo the secret.
		tokenError(w, http.StatusUnauthorized, "invalid_client", 7000215,
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+clientID+"'.")
		return
	}
	tok := "emu-" + s.randomHex(24)
	s.mu.Lock()
	s.tokens[tok] = &issuedToken{tenant: a.tenant, expires: s.now().Add(s.opts.TokenLifetime)}
	s.mu.Unlock()
	secs := int(s.opts.TokenLifetime / time.Second)
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok})
}

// verifyAssertion checks a certificate credential's JWT as the identity
// platform documents it (identity-platform/certificate-credentials.md):
// PS256 with x5t#S256 (or the older RS256 with x5t) naming the registered
// certificate, signed by its key, aud the token endpoint, iss and sub the
// client id, a jti, and nbf/exp around now.
func (s *Server) verifyAssertion(a *app, assertion, tokenURL string) error {
	now := s.now()
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(assertion, &claims, func(tok *jwt.Token) (any, error) {
		switch tok.Method.Alg() {
		case "PS256":
			if tok.Header["x5t#S256"] != a.x5tS256 {
				return nil, errors.New("x5t#S256 does not name a registered certificate")
			}
		case "RS256":
			if tok.Header["x5t"] != a.x5t {
				return nil, errors.New("x5t does not name a registered certificate")
			}
		default:
			return nil, fmt.Errorf("alg %q, want PS256", tok.Method.Alg())
		}
		return a.cert.PublicKey, nil
	}, jwt.WithValidMethods([]string{"PS256", "RS256"}), jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithLeeway(5*time.Minute), jwt.WithExpirationRequired(), jwt.WithAudience(tokenURL),
		jwt.WithIssuer(a.clientID), jwt.WithSubject(a.clientID))
	switch {
	case err != nil:
		return err
	case claims.ID == "":
		return errors.New("jti missing")
	case claims.NotBefore == nil:
		return errors.New("nbf missing")
	}
	return nil
}

// authenticate checks the bearer token and returns its tenant, or answers 401.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"`)
		writeError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return "", false
	}
	s.mu.Lock()
	t := s.tokens[tok]
	s.mu.Unlock()
	switch {
	case t == nil:
		writeError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.")
		return "", false
	case !s.now().Before(t.expires):
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="The access token has expired"`)
		writeError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
		return "", false
	}
	return t.tenant, true
}

func (s *Server) randomHex(n int) string {
	b := make([]byte, n)
	s.mu.Lock()
	for i := range b {
		b[i] = byte(s.rng.UintN(256))
	}
	s.mu.Unlock()
	return hex.EncodeToString(b)
}
