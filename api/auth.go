package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/openmms/mms/internal/store"
)

const tokenKey = "mms.token"

// authenticate requires a valid bearer token; nothing runs without one.
func (s *Server) authenticate(c *gin.Context) {
	// The scheme is case-insensitive (RFC 9110, section 11.1): "bearer"
	// and "BEARER" are the same scheme as "Bearer".
	scheme, secret, ok := strings.Cut(c.GetHeader("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		c.Header("WWW-Authenticate", `Bearer realm="mms"`)
		abort(c, http.StatusUnauthorized, "unauthorized", "missing bearer token (Authorization: Bearer <token>)")
		return
	}
	tok, err := s.DB.LookupToken(c.Request.Context(), secret)
	if errors.Is(err, store.ErrNotFound) {
		c.Header("WWW-Authenticate", `Bearer realm="mms", error="invalid_token"`)
		abort(c, http.StatusUnauthorized, "unauthorized", "invalid bearer token")
		return
	}
	if err != nil {
		abort(c, http.StatusInternalServerError, "internal", "token lookup failed")
		return
	}
	c.Set(tokenKey, tok)
	c.Next()
}

func token(c *gin.Context) store.Token {
	t, _ := c.Get(tokenKey)
	tok, _ := t.(store.Token)
	return tok
}

// tenantAccess lets a tenant-bound token reach only its tenant. Another
// tenant answers exactly like a tenant that does not exist.
func (s *Server) tenantAccess(c *gin.Context) {
	id := c.Param("tenant")
	if tok := token(c); tok.TenantID != "" && tok.TenantID != id {
		abort(c, http.StatusNotFound, "not_found", "tenant "+quote(id)+" not found")
		return
	}
	if _, err := s.DB.Tenant(c.Request.Context(), id); errors.Is(err, store.ErrNotFound) {
		abort(c, http.StatusNotFound, "not_found", "tenant "+quote(id)+" not found")
		return
	} else if err != nil {
		abort(c, http.StatusInternalServerError, "internal", "tenant lookup failed")
		return
	}
	c.Next()
}

func quote(s string) string { return `"` + s + `"` }

// Who may do what: the store's one role table, which the console reads too.
var (
	readers       = store.RolesFor(store.PermRead)
	operators     = store.RolesFor(store.PermOperate)
	admins        = store.RolesFor(store.PermAdminister)
	upstreams     = store.RolesFor(store.PermPostEvents)
	serviceAdmins = store.RolesFor(store.PermManageTenants)
)

// allow lets through tokens with one of the roles.
func allow(roles []string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if tok := token(c); !slices.Contains(roles, tok.Role) {
			abort(c, http.StatusForbidden, "forbidden", fmt.Sprintf("a token with role %q may not %s %s (allowed: %s)",
				tok.Role, c.Request.Method, c.FullPath(), strings.Join(roles, ", ")))
			return
		}
		c.Next()
	}
}
