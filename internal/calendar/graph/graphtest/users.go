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
	UPN         string // userPrincipalName: the sign-in name
	Address     string // mail: the primary SMTP address
	Proxies     []string
	DisplayName string
	OnPremises  bool
	// NoAudioConferencing: the user has no audio conferencing licence, so
	// the Teams meetings created for them have no dial-in.
	NoAudioConferencing bool
}

// key names the user's mailbox state; the UPN, as Graph addresses it.
func (u *user) key() string { return strings.ToLower(u.UPN) }

// owns reports whether addr is one of the user's addresses (mail, UPN,
// proxyAddresses), compared case-insensitively as Exchange does.
func (u *user) owns(addr string) bool {
	if strings.EqualFold(addr, u.Address) || strings.EqualFold(addr, u.UPN) {
		return true
	}
	for _, p := range u.Proxies {
		if _, a, ok := strings.Cut(p, ":"); ok && strings.EqualFold(a, addr) {
			return true
		}
	}
	return false
}

// User is a directory user as a test seeds it. Mail and UPN differ after
// renames and domain changes; ProxyAddresses are "SMTP:" (primary) and
// "smtp:" (secondary) addresses.
type User struct {
	Tenant            string // "" : visible from every tenant
	UserPrincipalName string
	Mail              string // default: UserPrincipalName
	ProxyAddresses    []string
	DisplayName       string
	OnPremises        bool
	// NoAudioConferencing: no audio conferencing licence; createOrGet
	// answers audioConferencing null.
	NoAudioConferencing bool
}

// AddUser adds a directory user of an Entra tenant ("" for every tenant)
// whose mail address is its UPN, and returns its object id. An on-premises
// user's mailbox is not reachable through Graph (MailboxNotEnabledForRESTAPI).
func (s *Server) AddUser(tenant, address, displayName string, onPremises bool) string {
	return s.AddDirectoryUser(User{Tenant: tenant, UserPrincipalName: address, DisplayName: displayName, OnPremises: onPremises})
}

// AddDirectoryUser adds a directory user and returns its object id. Test
// helpers (AddEvent, Events, FailNext...) accept any of its addresses or its
// id; Graph requests reach it only by id or userPrincipalName.
func (s *Server) AddDirectoryUser(in User) string {
	if in.Mail == "" {
		in.Mail = in.UserPrincipalName
	}
	u := &user{ID: uuid.NewString(), Tenant: in.Tenant, UPN: in.UserPrincipalName, Address: in.Mail,
		Proxies: append([]string(nil), in.ProxyAddresses...), DisplayName: in.DisplayName, OnPremises: in.OnPremises,
		NoAudioConferencing: in.NoAudioConferencing}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.users[u.key()]; old != nil {
		for k, v := range s.users {
			if v == old {
				delete(s.users, k)
			}
		}
	}
	s.users[u.ID] = u
	for _, a := range append([]string{u.UPN, u.Address}, u.Proxies...) {
		if _, addr, ok := strings.Cut(a, ":"); ok && strings.Contains(addr, "@") {
			a = addr
		}
		s.users[strings.ToLower(a)] = u
	}
	return u.ID
}

// DropMailbox removes a user's mailbox from Exchange while the directory
// keeps the user: Graph then answers 404 ErrorInvalidUser on the calendar.
func (s *Server) DropMailbox(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[strings.ToLower(name)]; u != nil {
		s.dropped[u.ID] = true
	}
}

// findUser finds a user by any address or id, for the test helpers. s.mu held.
func (s *Server) findUser(name string) *user {
	if u := s.users[name]; u != nil {
		return u
	}
	return s.users[strings.ToLower(name)]
}

// lookupUser finds the user a request path names, as Graph documents it:
// /users/{id | userPrincipalName}. A mail address that is not the UPN
// names nobody. s.mu held.
func (s *Server) lookupUser(tenant, name string) *user {
	u := s.findUser(name)
	if u == nil || (u.ID != name && !strings.EqualFold(u.UPN, name)) {
		return nil
	}
	if u.Tenant != "" && !strings.EqualFold(u.Tenant, tenant) {
		return nil
	}
	return u
}

// handleUser is GET /users/{id | userPrincipalName}.
func (s *Server) handleUser(w http.ResponseWriter, r *http.Request, c *caller) {
	u := c.user
	proxies := u.Proxies
	if len(proxies) == 0 {
		proxies = []string{"SMTP:" + u.Address}
	}
	full := map[string]any{
		"id":                u.ID,
		"displayName":       u.DisplayName,
		"mail":              u.Address,
		"userPrincipalName": u.UPN,
		"proxyAddresses":    proxies,
		"givenName":         nil,
		"surname":           nil,
		"jobTitle":          nil,
		"officeLocation":    nil,
		"preferredLanguage": nil,
		"mobilePhone":       nil,
		"businessPhones":    []string{},
	}
	out := selectFields(full, r.URL.Query().Get("$select"))
	// user-get.md: the context names the selected properties.
	ctx := s.baseURL(r) + "/$metadata#users/$entity"
	if sel := r.URL.Query().Get("$select"); sel != "" {
		ctx = s.baseURL(r) + "/$metadata#users(" + sel + ")/$entity"
	}
	out["@odata.context"] = ctx
	writeJSON(w, http.StatusOK, out)
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
