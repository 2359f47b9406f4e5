package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"

	"github.com/openmms/mms/internal/store"
)

// Cookie names. The token cookie holds the API token itself: the store keeps
// only its hash, so there is no session table to keep in step across API
// replicas, and revoking the token (mms token revoke) signs the console out.
const (
	tokenCookie  = "mms_token"
	signInCookie = "mms_signin" // the sign-in form's CSRF secret, before a session exists
	csrfField    = "csrf"
)

// sess is a signed-in request: the token, its CSRF token, and the tenant
// of a tenant route.
type sess struct {
	Tok    store.Token
	CSRF   string
	Tenant store.Tenant
}

// may says whether the token's role holds the permission: the templates
// show a button only when its request would be allowed.
func (s *sess) May(p store.Permission) bool { return s != nil && s.Tok.May(p) }

type handler func(w http.ResponseWriter, r *http.Request, s *sess)

// csrfToken derives the session's CSRF token from the token secret with
// HMAC: a page of this origin can read it from a form, another site can
// neither read the HttpOnly cookie nor compute the HMAC without it. Being
// derived, it needs no server-side state and survives a restart; it changes
// when the token does.
func csrfToken(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("mms console csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func sameSecret(a, b string) bool { return a != "" && hmac.Equal([]byte(a), []byte(b)) }

// secure: the cookies are Secure when the console is served over TLS, here
// or at a proxy that says so.
func secure(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: secure(r), SameSite: http.SameSiteStrictMode})
}

func clearCookie(w http.ResponseWriter, r *http.Request, name string) { setCookie(w, r, name, "", -1) }

// lookup returns the session of the request's cookie, or nil when there is
// none or its token is unknown (revoked, mistyped, from another install) or
// may not read: such a cookie is cleared.
func (c *Console) lookup(w http.ResponseWriter, r *http.Request) (*sess, error) {
	ck, err := r.Cookie(tokenCookie)
	if err != nil || ck.Value == "" {
		return nil, nil
	}
	tok, err := c.db.LookupToken(r.Context(), ck.Value)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !tok.May(store.PermRead)) {
		clearCookie(w, r, tokenCookie)
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return &sess{Tok: tok, CSRF: csrfToken(ck.Value)}, nil
}

// session runs h for a signed-in request; without a valid session it shows
// nothing and sends the browser to sign in. A POST must carry the session's
// CSRF token, or it is refused with 403 before anything is done.
func (c *Console) session(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := c.lookup(w, r)
		if err != nil {
			c.internal(w, r, nil, "token lookup", err)
			return
		}
		if s == nil {
			http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				c.fail(w, r, s, http.StatusBadRequest, "form: "+err.Error())
				return
			}
			if !sameSecret(r.PostForm.Get(csrfField), s.CSRF) {
				c.fail(w, r, s, http.StatusForbidden, "forbidden: this form's CSRF token is missing or wrong; reload the page and try again")
				return
			}
		}
		h(w, r, s)
	}
}

// tenant runs h for a signed-in request on a tenant the token may see. A
// tenant of another's token answers exactly like a tenant that does not
// exist, as the API's does.
func (c *Console) tenant(h handler) http.HandlerFunc {
	return c.session(func(w http.ResponseWriter, r *http.Request, s *sess) {
		id := r.PathValue("tenant")
		if s.Tok.TenantID != "" && s.Tok.TenantID != id {
			c.fail(w, r, s, http.StatusNotFound, "tenant "+quote(id)+" not found")
			return
		}
		t, err := c.db.Tenant(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			c.fail(w, r, s, http.StatusNotFound, "tenant "+quote(id)+" not found")
			return
		} else if err != nil {
			c.internal(w, r, s, "tenant lookup", err)
			return
		}
		s.Tenant = t
		h(w, r, s)
	})
}

// operate lets through tokens whose role may start, cancel and retry.
func (c *Console) operate(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, s *sess) {
		if !s.May(store.PermOperate) {
			c.fail(w, r, s, http.StatusForbidden, "forbidden: a token with role "+quote(s.Tok.Role)+" may not start, cancel or retry migrations")
			return
		}
		h(w, r, s)
	}
}

func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	s, err := c.lookup(w, r)
	switch {
	case err != nil:
		c.internal(w, r, nil, "token lookup", err)
	case s == nil:
		http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
	case s.Tok.TenantID != "":
		http.Redirect(w, r, tenantPath(s.Tok.TenantID, "/"), http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/console/tenants", http.StatusSeeOther)
	}
}

type signInView struct {
	Error string
	CSRF  string
}

// signInForm shows the form with a fresh sign-in CSRF secret, kept in a
// cookie of its own (double submit): a form posted from another site has
// neither.
func (c *Console) signInForm(w http.ResponseWriter, r *http.Request) {
	if s, err := c.lookup(w, r); err == nil && s != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	c.renderSignIn(w, r, http.StatusOK, "")
}

func (c *Console) renderSignIn(w http.ResponseWriter, r *http.Request, status int, msg string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		c.internal(w, r, nil, "random", err)
		return
	}
	secret := base64.RawURLEncoding.EncodeToString(b)
	setCookie(w, r, signInCookie, secret, 3600)
	c.render(w, r, nil, status, "signin", "Sign in", signInView{Error: msg, CSRF: secret})
}

func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, nil, http.StatusBadRequest, "form: "+err.Error())
		return
	}
	ck, err := r.Cookie(signInCookie)
	if err != nil || !sameSecret(r.PostForm.Get(csrfField), ck.Value) {
		c.fail(w, r, nil, http.StatusForbidden, "forbidden: this form's CSRF token is missing or wrong; reload the sign-in page")
		return
	}
	secret := r.PostForm.Get("token")
	if secret == "" {
		c.renderSignIn(w, r, http.StatusBadRequest, "token: required")
		return
	}
	tok, err := c.db.LookupToken(r.Context(), secret)
	if errors.Is(err, store.ErrNotFound) {
		c.renderSignIn(w, r, http.StatusUnauthorized, "token: not a valid API token")
		return
	} else if err != nil {
		c.internal(w, r, nil, "token lookup", err)
		return
	}
	if !tok.May(store.PermRead) {
		c.renderSignIn(w, r, http.StatusForbidden, "token: a token with role "+quote(tok.Role)+" may not read migrations")
		return
	}
	clearCookie(w, r, signInCookie)
	// A session cookie: it ends with the browser, and with the token.
	setCookie(w, r, tokenCookie, secret, 0)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request, _ *sess) {
	clearCookie(w, r, tokenCookie)
	http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
}

func quote(s string) string { return `"` + s + `"` }

// tenantPath is the path of a tenant's page ("/" for its summary).
func tenantPath(tenant, page string) string {
	return "/console/t/" + url.PathEscape(tenant) + page
}
