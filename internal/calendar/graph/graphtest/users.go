package graphtest

import (
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// user is a directory user with (maybe) a mailbox.
type user struct {
	ID          string
	Tenant      string // "" : visible from every tenant
	Address     string
	DisplayName string
	OnPremises  bool
}

func (u *user) key() string { return strings.ToLower(u.Address) }

// AddUser adds a directory user of an Entra tenant ("" for every tenant)
// and returns its object id. An on-premises user's mailbox is not reachable
// through Graph (MailboxNotEnabledForRESTAPI).
func (s *Server) AddUser(tenant, address, displayName string, onPremises bool) string {
	u := &user{ID: uuid.NewString(), Tenant: tenant, Address: address, DisplayName: displayName, OnPremises: onPremises}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.users[u.key()]; old != nil {
		delete(s.users, old.ID)
	}
	s.users[u.key()] = u
	s.users[u.ID] = u
	return u.ID
}

// lookupUser finds a user by address (mail or UPN) or id in a tenant. s.mu held.
func (s *Server) lookupUser(tenant, name string) *user {
	u := s.users[strings.ToLower(name)]
	if u == nil {
		u = s.users[name]
	}
	if u == nil || (u.Tenant != "" && !strings.EqualFold(u.Tenant, tenant)) {
		return nil
	}
	return u
}

// handleUser is GET /users/{id | userPrincipalName}.
func (s *Server) handleUser(w http.ResponseWriter, r *http.Request, c *caller) {
	u := c.user
	full := map[string]any{
		"@odata.context":    s.baseURL(r) + "/$metadata#users/$entity",
		"id":                u.ID,
		"displayName":       u.DisplayName,
		"mail":              u.Address,
		"userPrincipalName": u.Address,
		"givenName":         nil,
		"surname":           nil,
		"jobTitle":          nil,
		"officeLocation":    nil,
		"preferredLanguage": nil,
		"mobilePhone":       nil,
		"businessPhones":    []string{},
	}
	writeJSON(w, http.StatusOK, selectFields(full, r.URL.Query().Get("$select")))
}

// handleCalendar is GET /users/{id}/calendar (the default calendar).
func (s *Server) handleCalendar(w http.ResponseWriter, r *http.Request, c *caller) {
	full := map[string]any{
		"id":                  "AAMkCal-" + c.user.ID,
		"name":                "Calendar",
		"color":               "auto",
		"changeKey":           "calendar",
		"canShare":            true,
		"canViewPrivateItems": true,
		"canEdit":             true,
		"isDefaultCalendar":   true,
		"owner":               map[string]string{"name": c.user.DisplayName, "address": c.user.Address},
	}
	writeJSON(w, http.StatusOK, selectFields(full, r.URL.Query().Get("$select")))
}

// selectFields keeps the fields $select names, plus the ones Graph always
// returns (id, @odata.*).
func selectFields(full map[string]any, sel string) map[string]any {
	if strings.TrimSpace(sel) == "" {
		return full
	}
	keep := map[string]bool{}
	for _, f := range strings.Split(sel, ",") {
		keep[strings.ToLower(strings.TrimSpace(f))] = true
	}
	out := map[string]any{}
	for k, v := range full {
		if k == "id" || strings.HasPrefix(k, "@odata.") || keep[strings.ToLower(k)] {
			out[k] = v
		}
	}
	return out
}
