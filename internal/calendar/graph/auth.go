package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/openmms/mms/internal/calendar"
	"golang.org/x/oauth2/clientcredentials"
)

// aadsts finds the identity platform's error code in its description.
var aadsts = regexp.MustCompile(`AADSTS\d+`)

// clientAssertionType is the OAuth2 client assertion type for a JWT.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// tokenSkew: a token this close to its expiry is refreshed before use.
const tokenSkew = 30 * time.Second

// tokenCache holds one tenant's app-only token and fetches a new one with
// the client-credentials grant when it expires or Graph rejects it.
type tokenCache struct {
	cfg    TenantConfig
	cert   *certCredential
	http   *http.Client
	now    func() time.Time
	onCall func()

	mu  sync.Mutex
	tok *oauth2.Token
}

// token returns a valid access token. force asks for a new one unless the
// cached one already differs from rejected (another goroutine refreshed it).
func (t *tokenCache) token(ctx context.Context, force bool, rejected string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != nil && t.tok.AccessToken != "" {
		fresh := t.tok.Expiry.IsZero() || t.now().Before(t.tok.Expiry.Add(-tokenSkew))
		if fresh && (!force || t.tok.AccessToken != rejected) {
			return t.tok.AccessToken, nil
		}
	}
	tok, err := t.fetch(ctx)
	if err != nil {
		return "", err
	}
	t.tok = tok
	return tok.AccessToken, nil
}

// fetch runs one client-credentials grant; a certificate credential gets a
// freshly signed assertion for every fetch.
func (t *tokenCache) fetch(ctx context.Context) (*oauth2.Token, error) {
	cc := &clientcredentials.Config{
		ClientID:     t.cfg.ClientID,
		ClientSecret: t.cfg.ClientSecret,
		TokenURL:     t.cfg.TokenURL,
		Scopes:       []string{t.cfg.Scope},
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	if t.cert != nil {
		assertion, err := t.assertion()
		if err != nil {
			return nil, fmt.Errorf("graph: client assertion for tenant %s: %w", t.cfg.AzureTenantID, err)
		}
		cc.EndpointParams = url.Values{
			"client_assertion_type": {clientAssertionType},
			"client_assertion":      {assertion},
		}
	}
	if t.onCall != nil {
		t.onCall()
	}
	tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, t.http))
	if err != nil {
		return nil, fmt.Errorf("graph: token for tenant %s: %w", t.cfg.AzureTenantID, t.scrub(err))
	}
	// The expiry the token endpoint announced, measured on our clock.
	if !tok.Expiry.IsZero() {
		tok.Expiry = t.now().Add(time.Until(tok.Expiry))
	}
	return tok, nil
}

// scrub turns err into a plain error whose text cannot carry the secret.
func (t *tokenCache) scrub(err error) error {
	msg := err.Error()
	var re *oauth2.RetrieveError
	refused := ""
	if errors.As(err, &re) && re.Response != nil {
		msg = fmt.Sprintf("token endpoint answered %d: %s %s", re.Response.StatusCode, re.ErrorCode, firstLine(re.ErrorDescription))
		if s := re.Response.StatusCode; s == http.StatusUnauthorized || s == http.StatusForbidden {
			// A rejected credential stays rejected: no retry can help.
			code := aadsts.FindString(re.ErrorDescription)
			if code == "" {
				code = re.ErrorCode
			}
			refused = "the identity platform refused the app's credentials (" + code +
				"): check the tenant's app registration, its secret or certificate"
		}
	}
	if t.cfg.ClientSecret != "" {
		msg = strings.ReplaceAll(msg, t.cfg.ClientSecret, "[redacted]")
	}
	if refused != "" {
		return &calendar.PermanentError{Message: refused, Err: errors.New(msg)}
	}
	for _, sentinel := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, sentinel) {
			return fmt.Errorf("%s: %w", msg, sentinel)
		}
	}
	return errors.New(msg)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}

// assertion signs the client assertion the Microsoft identity platform
// documents for certificate credentials (identity-platform/
// certificate-credentials.md): PS256, typ JWT, x5t#S256 the SHA-256
// thumbprint of the certificate; aud the token endpoint, iss and sub the
// client ID, a fresh jti, nbf and exp bounding a short lifetime. x5t (the
// SHA-1 thumbprint the page documented before) is sent too, so that
// registrations read by older token services keep working.
func (t *tokenCache) assertion() (string, error) {
	now := t.now()
	// MapClaims: aud is one string, as the documented example writes it
	// (RegisteredClaims would write a one-element array).
	tok := jwt.NewWithClaims(jwt.SigningMethodPS256, jwt.MapClaims{
		"aud": t.cfg.TokenURL,
		"iss": t.cfg.ClientID,
		"sub": t.cfg.ClientID,
		"jti": uuid.NewString(),
		"nbf": now.Unix(),
		"iat": now.Unix(),
		"exp": now.Add(10 * time.Minute).Unix(),
	})
	tok.Header["x5t#S256"] = t.cert.x5tS256
	tok.Header["x5t"] = t.cert.x5t
	return tok.SignedString(t.cert.key)
}
