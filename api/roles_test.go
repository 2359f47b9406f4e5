package api

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/openmms/mms/internal/store"
)

// TestRoles tries every route with every role: a role that may not use a
// route gets 403 and nothing else; one that may gets past the check.
func TestRoles(t *testing.T) {
	srv, db := newAPI(t)
	ctx := context.Background()
	tokens := map[string]string{}
	for _, r := range store.Roles {
		tenant := "contoso"
		if r == store.RoleServiceAdmin {
			tenant = "" // bound to no tenant, by definition
		}
		var err error
		if tokens[r], err = db.CreateToken(ctx, r+"-token", tenant, r); err != nil {
			t.Fatal(err)
		}
	}
	all := slices.Clone(store.Roles)
	slices.Reverse(all) // service-admin, the most powerful, last
	for _, rt := range []struct {
		method, path string
		allowed      []string
	}{
		{"GET", "/v1/tenants", readers},
		{"POST", "/v1/tenants", serviceAdmins},
		{"POST", "/v1/tenants/contoso/users:import", admins},
		{"POST", "/v1/preview", readers},
		{"GET", "/v1/tenants/contoso/users", readers},
		{"PUT", "/v1/tenants/contoso/users/x@contoso.com", admins},
		{"GET", "/v1/tenants/contoso/migration-configuration", readers},
		{"PUT", "/v1/tenants/contoso/migration-configuration", admins},
		{"GET", "/v1/tenants/contoso/dial-in-conferencing-settings", readers},
		{"PUT", "/v1/tenants/contoso/dial-in-conferencing-settings", admins},
		{"POST", "/v1/tenants/contoso/migrations", operators},
		{"GET", "/v1/tenants/contoso/migrations", readers},
		{"GET", "/v1/tenants/contoso/migrations/summary", readers},
		{"GET", "/v1/tenants/contoso/migrations/x@contoso.com", readers},
		{"POST", "/v1/tenants/contoso/migrations/x@contoso.com/cancel", operators},
		{"POST", "/v1/tenants/contoso/migrations/x@contoso.com/retry-failed", operators},
		{"POST", "/v1/tenants/contoso/events", upstreams},
		{"GET", "/v1/tenants/contoso/events", readers},
		// Last, and service-admin last of the roles: it deletes contoso.
		{"DELETE", "/v1/tenants/contoso", serviceAdmins},
	} {
		for _, role := range all {
			// An invalid body: allowed roles get past the role check to a 400
			// (or a 404), so nothing is started or changed either way.
			code, body := call(t, rt.method, srv.URL+rt.path, tokens[role], `{"invalid":`)
			may := false
			for _, a := range rt.allowed {
				may = may || a == role
			}
			if forbidden := code == 403; forbidden == may {
				t.Errorf("%s %s as %s: %d %s (allowed: %v)", rt.method, rt.path, role, code, body, rt.allowed)
			}
			if code == 403 && !strings.Contains(body, `role \"`+role+`\"`) {
				t.Errorf("%s %s as %s: 403 without saying why: %s", rt.method, rt.path, role, body)
			}
		}
	}
}
