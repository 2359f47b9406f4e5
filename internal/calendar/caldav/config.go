package caldav

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"

	"github.com/openmms/mms/internal/calendar"
)

// Notification modes (TenantConfig.Notify).
const (
	// NotifyServer: the server implements RFC 6638 scheduling and sends the
	// iTIP REQUEST itself; mms marks every attendee SCHEDULE-FORCE-SEND=REQUEST
	// (a description-only change is otherwise "insignificant") and sends
	// nothing.
	NotifyServer = "server"
	// NotifyIMIP: the server does no scheduling; mms sends one iMIP e-mail
	// (RFC 6047) per attendee over SMTP after the update is stored.
	NotifyIMIP = "imip"
	// NotifyAuto: NotifyServer when the calendar home's DAV header
	// advertises calendar-auto-schedule, NotifyIMIP otherwise.
	NotifyAuto = "auto"
)

// SMTP security (SMTPConfig.Security).
const (
	SMTPStartTLS = "starttls" // STARTTLS required
	SMTPNone     = "none"     // plain text (loopback, test relays)
)

// Credentials are HTTP basic credentials.
type Credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// SMTPConfig is where iMIP messages are submitted.
type SMTPConfig struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Security string `json:"security"` // SMTPStartTLS (default when empty) or SMTPNone
	// Username/Password: optional SASL PLAIN authentication.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// From is the envelope sender and, when it is not the organizer, the
	// Sender header (the message's From is the organizer).
	From string `json:"from"`
	// HelloName is the EHLO name with Security "none" ("localhost" when
	// empty; go-smtp greets as "localhost" before STARTTLS).
	HelloName string `json:"helloName,omitempty"`
}

// TenantConfig says how to reach one tenant's CalDAV server.
//
// Credentials are either per user (Users, or UserCredentials for a lookup)
// or one Delegate account that may read and write every calendar. With
// per-user credentials the calendar home is discovered (RFC 5397
// current-user-principal, then RFC 4791 calendar-home-set); with a delegate
// it is HomeTemplate expanded: {base} is URL without its trailing slash,
// {user} the mailbox address, {local} its local part (before '@').
type TenantConfig struct {
	// URL is the server's CalDAV root (context path), e.g.
	// https://dav.example.com/ or https://mail.example.com/dav/.
	URL string `json:"url"`

	// Users maps a mailbox address (case-insensitive) to its credentials.
	Users map[string]Credentials `json:"users,omitempty"`
	// UserCredentials looks credentials up when Users has none; it returns
	// an error wrapping calendar.ErrNotFound for an unknown user.
	UserCredentials func(ctx context.Context, address string) (Credentials, error) `json:"-"`
	// Delegate, when set, is used for every mailbox.
	Delegate *Credentials `json:"delegate,omitempty"`
	// HomeTemplate is the calendar home of a mailbox when Delegate is set,
	// e.g. "{base}/{local}/" (Radicale) or "{base}/calendars/user/{user}/"
	// (Cyrus).
	HomeTemplate string `json:"homeTemplate,omitempty"`

	// Aliases lists extra calendar user addresses per mailbox (besides
	// mailto:<mailbox> and the principal's calendar-user-address-set) that
	// count as "the mailbox owner" when matching ORGANIZER.
	Aliases map[string][]string `json:"aliases,omitempty"`

	// Notify is NotifyServer, NotifyIMIP or NotifyAuto (default).
	Notify string `json:"notify,omitempty"`
	// SMTP is required for NotifyIMIP and NotifyAuto.
	SMTP SMTPConfig `json:"smtp"`
}

// Validate checks the configuration; each error names its field.
func (c TenantConfig) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("caldav: %s: %s", field, fmt.Sprintf(format, args...)))
	}
	if u, err := url.Parse(c.URL); c.URL == "" {
		bad("url", "required")
	} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// A password in the URL is never echoed (issue 18).
		bad("url", "not an http(s) URL: %q", calendar.RedactURLs(c.URL))
	}
	switch {
	case c.Delegate != nil:
		if c.Delegate.Username == "" {
			bad("delegate.username", "required")
		}
		if c.HomeTemplate == "" {
			bad("homeTemplate", "required with a delegate")
		} else if !strings.Contains(c.HomeTemplate, "{user}") && !strings.Contains(c.HomeTemplate, "{local}") {
			bad("homeTemplate", "must contain {user} or {local}: %q", c.HomeTemplate)
		}
	case len(c.Users) == 0 && c.UserCredentials == nil:
		bad("users", "per-user credentials (users or a credentials lookup) or a delegate are required")
	}
	for addr, cr := range c.Users {
		if cr.Username == "" {
			bad("users["+addr+"].username", "required")
		}
	}
	mode := c.Notify
	switch mode {
	case "", NotifyAuto, NotifyIMIP, NotifyServer:
	default:
		bad("notify", "must be %q, %q or %q, not %q", NotifyServer, NotifyIMIP, NotifyAuto, mode)
	}
	if mode != NotifyServer {
		s := c.SMTP
		if s.Host == "" {
			bad("smtp.host", "required unless notify is %q", NotifyServer)
		}
		if s.Port <= 0 || s.Port > 65535 {
			bad("smtp.port", "out of range: %d", s.Port)
		}
		switch s.Security {
		case "", SMTPStartTLS, SMTPNone:
		default:
			bad("smtp.security", "must be %q or %q, not %q", SMTPStartTLS, SMTPNone, s.Security)
		}
		if (s.Username == "") != (s.Password == "") {
			bad("smtp.password", "username and password go together")
		}
		if _, err := mail.ParseAddress(s.From); err != nil {
			bad("smtp.from", "not an e-mail address: %q", s.From)
		}
	}
	return errors.Join(errs...)
}

// home returns the delegate calendar home of a mailbox.
func (c TenantConfig) home(mailbox string) string {
	local, _, _ := strings.Cut(mailbox, "@")
	r := strings.NewReplacer("{base}", strings.TrimSuffix(c.URL, "/"),
		"{user}", url.PathEscape(mailbox), "{local}", url.PathEscape(local))
	return r.Replace(c.HomeTemplate)
}
