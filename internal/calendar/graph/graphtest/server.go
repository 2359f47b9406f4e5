// Package graphtest is an in-memory emulator of the parts of Microsoft Graph
// the mms Graph back end uses, faithful to Graph's documented behaviour:
// the identity platform's client-credentials token endpoint (secret or
// certificate assertion), users, calendar, calendarView with paging and
// series expansion, events with etags and If-Match, single-value extended
// properties, onlineMeetings/createOrGet, and Outlook's per-mailbox limits
// (4 concurrent requests, 10,000 per 10 minutes) answered with 429 and
// Retry-After. Faults are injected per mailbox: failures (FailNext), answers
// held after the work is done (SlowNext), random 5xx (Options.FailureRate),
// and the owner's own edits (EditEvent). Tests serve Handler with httptest.NewServer; `mms dev` serves
// it on a loopback port. Safe for concurrent use.
package graphtest

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Options configure the emulator; zero values take the defaults.
type Options struct {
	// TokenLifetime is the expires_in of issued tokens (default 1 hour).
	TokenLifetime time.Duration
	// MaxInFlightPerMailbox: a request arriving while this many are in
	// flight for the mailbox gets 429 (default 4).
	MaxInFlightPerMailbox int
	// RequestsPer10Min: the mailbox's budget per sliding 10 minutes
	// (default 10,000).
	RequestsPer10Min int
	// ConcurrencyRetryAfter is the Retry-After sent when the concurrency
	// limit is exceeded (default 1 s).
	ConcurrencyRetryAfter time.Duration
	// Latency is added to every Graph request while it counts as in flight.
	Latency time.Duration
	// FailureRate is the probability of a random 500/503 (no Retry-After)
	// on a Graph request; Seed seeds it.
	FailureRate float64
	Seed        uint64
	// MaxPageSize caps $top (default 1000, Graph's limit for calendarView).
	MaxPageSize int
	// BaseURL of the Graph endpoints in @odata.nextLink (default: from the
	// request's Host, plus /v1.0).
	BaseURL string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Strict refuses what Graph documents but tolerates in practice: every
	// request after the directory lookup (GET /users/{upn}) must name the
	// user by object id, as createOrGet requires; one naming the UPN gets
	// 400 and is counted in StrictViolations.
	Strict bool
}

// Server is the emulator.
type Server struct {
	opts Options
	mux  *http.ServeMux

	mu            sync.Mutex
	rng           *rand.Rand
	apps          map[string]*app
	tokens        map[string]*issuedToken
	tokenRequests int
	users         map[string]*user // by lower-case address and by id
	events        map[string]*storedEvent
	seq           int
	meetings      map[string]*OnlineMeeting
	notifications []Notification
	mailboxes     map[string]*mailboxState
	dropped       map[string]bool // user ids whose mailbox Exchange no longer has
	violations    []string
}

// New returns an empty emulator.
func New(opts Options) *Server {
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.MaxInFlightPerMailbox <= 0 {
		opts.MaxInFlightPerMailbox = 4
	}
	if opts.RequestsPer10Min <= 0 {
		opts.RequestsPer10Min = 10000
	}
	if opts.ConcurrencyRetryAfter <= 0 {
		opts.ConcurrencyRetryAfter = time.Second
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = 1000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:      opts,
		rng:       rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		apps:      map[string]*app{},
		tokens:    map[string]*issuedToken{},
		users:     map[string]*user{},
		events:    map[string]*storedEvent{},
		meetings:  map[string]*OnlineMeeting{},
		mailboxes: map[string]*mailboxState{},
		dropped:   map[string]bool{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.handleToken)
	mux.HandleFunc("GET /v1.0/users/{user}", s.graph(s.handleUser))
	mux.HandleFunc("GET /v1.0/users/{user}/calendar", s.graph(s.mailboxOnly(s.handleCalendar)))
	mux.HandleFunc("GET /v1.0/users/{user}/calendarView", s.graph(s.mailboxOnly(s.handleCalendarView)))
	mux.HandleFunc("GET /v1.0/users/{user}/events/{id}", s.graph(s.mailboxOnly(s.handleGetEvent)))
	mux.HandleFunc("PATCH /v1.0/users/{user}/events/{id}", s.graph(s.mailboxOnly(s.handlePatchEvent)))
	mux.HandleFunc("POST /v1.0/users/{user}/onlineMeetings/createOrGet", s.graph(s.byObjectID(s.handleCreateOrGet)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+r.URL.Path+"'.")
	})
	s.mux = mux
	return s
}

// ServeHTTP serves the emulator.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Handler returns the emulator as an http.Handler.
func (s *Server) Handler() http.Handler { return s }

func (s *Server) now() time.Time { return s.opts.Now() }

// graphHandler serves one Graph request for an authenticated caller.
type graphHandler func(w http.ResponseWriter, r *http.Request, c *caller)

// caller is the authenticated app and the user the path names.
type caller struct {
	tenant string
	user   *user  // nil when the path names no known user
	key    string // the mailbox the limits apply to
}

// graph authenticates, applies the mailbox's limits and failure injection,
// and runs h with its answer buffered, so that the request stops counting
// as in flight before the client can see the answer.
func (s *Server) graph(h graphHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tenant, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		name := r.PathValue("user")
		s.mu.Lock()
		u := s.lookupUser(tenant, name)
		key := strings.ToLower(name)
		if u != nil {
			key = u.key()
		}
		s.mu.Unlock()
		c := &caller{tenant: tenant, user: u, key: key}
		buf := &bufferedResponse{header: http.Header{}}
		done, hold := s.admit(buf, r, key)
		if done == nil { // throttled or failed by injection; buf holds the answer
			buf.copyTo(w)
			return
		}
		if s.opts.Latency > 0 {
			time.Sleep(s.opts.Latency)
		}
		if u == nil {
			if r.URL.Path == "/v1.0/users/"+name {
				writeError(buf, http.StatusNotFound, "Request_ResourceNotFound",
					"Resource '"+name+"' does not exist or one of its queried reference-property objects are not present.")
			} else {
				writeError(buf, http.StatusNotFound, "ErrorInvalidUser", "The requested user '"+name+"' is invalid.")
			}
		} else {
			h(buf, r, c)
		}
		if hold > 0 {
			time.Sleep(hold) // done, answered late; the client may be gone by then
		}
		done(buf.statusCode())
		buf.copyTo(w)
	}
}

// mailboxOnly answers for an on-premises mailbox as Exchange Online does.
func (s *Server) mailboxOnly(h graphHandler) graphHandler {
	return func(w http.ResponseWriter, r *http.Request, c *caller) {
		s.mu.Lock()
		dropped := s.dropped[c.user.ID]
		s.mu.Unlock()
		if dropped {
			writeError(w, http.StatusNotFound, "ErrorInvalidUser", "The requested user '"+r.PathValue("user")+"' is invalid.")
			return
		}
		if c.user.OnPremises {
			writeError(w, http.StatusNotFound, "MailboxNotEnabledForRESTAPI",
				"The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
			return
		}
		if !s.opts.Strict {
			h(w, r, c)
			return
		}
		s.byObjectID(h)(w, r, c)
	}
}

// byObjectID answers a request that names its user by anything but the
// object id: onlinemeeting-createorget.md documents /users/{userId} with
// "userId is the object ID of a user", and the strict mode holds every
// mailbox request to it.
func (s *Server) byObjectID(h graphHandler) graphHandler {
	return func(w http.ResponseWriter, r *http.Request, c *caller) {
		if name := r.PathValue("user"); name != c.user.ID {
			s.mu.Lock()
			s.violations = append(s.violations, r.Method+" "+r.URL.Path)
			s.mu.Unlock()
			writeError(w, http.StatusBadRequest, "BadRequest",
				"The user in the request path must be the object ID of a user, not '"+name+"'.")
			return
		}
		h(w, r, c)
	}
}

// StrictViolations lists the requests that named a user by anything but
// its object id where Graph requires it (createOrGet; every mailbox
// request in strict mode).
func (s *Server) StrictViolations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.violations...)
}

// bufferedResponse holds an answer until the request leaves the in-flight count.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) statusCode() int {
	if b.status == 0 {
		return http.StatusOK
	}
	return b.status
}

func (b *bufferedResponse) copyTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.WriteHeader(b.statusCode())
	_, _ = w.Write(b.body.Bytes())
}

// writeJSON writes a JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeError writes Graph's error envelope.
func writeError(w http.ResponseWriter, status int, code, message string) {
	id := uuid.NewString()
	w.Header().Set("request-id", id)
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": message,
		"innerError": map[string]string{"date": time.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": id, "client-request-id": id},
	}})
}

// baseURL is the Graph root for absolute links.
func (s *Server) baseURL(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return strings.TrimRight(s.opts.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/v1.0"
}

// GraphURL is the Graph base URL of an emulator served at root (for
// example an httptest.Server's URL).
func GraphURL(root string) string { return strings.TrimRight(root, "/") + "/v1.0" }

// TokenURL is the token endpoint of an Entra tenant on an emulator served
// at root.
func TokenURL(root, tenant string) string {
	return strings.TrimRight(root, "/") + "/" + tenant + "/oauth2/v2.0/token"
}
