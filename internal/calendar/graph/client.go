// Package graph is a calendar.Backend on Microsoft Graph (Exchange Online),
// a thin client on net/http: app-only OAuth2 client credentials (secret or
// certificate), calendarView paging, If-Match updates carrying an
// idempotency key in a single-value extended property, Teams meetings by
// onlineMeetings/createOrGet, and Outlook's per-mailbox limits enforced in
// the client (4 concurrent requests, 10,000 per 10 minutes, Retry-After).
package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openmms/mms/internal/calendar"
)

// Defaults of the Backend's options.
const (
	DefaultWaitBudget  = 2 * time.Minute
	DefaultMaxAttempts = 6
	DefaultBackoffBase = 500 * time.Millisecond
	DefaultBackoffMax  = 30 * time.Second
)

// maxResponse bounds a response body read into memory.
const maxResponse = 64 << 20

// Backend is the Microsoft Graph calendar back end. One Backend serves many
// mms tenants; it is safe for concurrent use.
type Backend struct {
	lookup      func(ctx context.Context, mmsTenantID string) (TenantConfig, error)
	http        *http.Client
	now         func() time.Time
	log         *slog.Logger
	waitBudget  time.Duration
	maxAttempts int
	backoffBase time.Duration
	backoffMax  time.Duration

	mu       sync.Mutex
	tenants  map[string]*tenant
	limiters map[string]*mailboxLimiter
	owners   map[string][]string // tenant + object ID -> the user's addresses

	reads readCache

	statsMu sync.Mutex
	stats   Stats
}

var _ calendar.Backend = (*Backend)(nil)

// tenant is one mms tenant's resolved configuration and token cache.
type tenant struct {
	id     string
	cfg    TenantConfig
	tokens *tokenCache
}

// Option configures a Backend.
type Option func(*Backend)

// WithHTTPClient sets the HTTP client (wrap its transport with otelhttp,
// proxies, TLS settings); its Timeout bounds each request.
func WithHTTPClient(c *http.Client) Option { return func(b *Backend) { b.http = c } }

// WithTransport sets the transport of the default HTTP client.
func WithTransport(rt http.RoundTripper) Option {
	return func(b *Backend) { b.http = &http.Client{Transport: rt, Timeout: 60 * time.Second} }
}

// WithClock sets the clock used for token expiry, the request window and
// Retry-After dates (tests). Waits still take real time.
func WithClock(now func() time.Time) Option { return func(b *Backend) { b.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(b *Backend) { b.log = l } }

// WithWaitBudget bounds how long one call waits on limits, Retry-After and
// backoff in total before it fails with ErrThrottled.
func WithWaitBudget(d time.Duration) Option { return func(b *Backend) { b.waitBudget = d } }

// WithRetry sets the attempts per request and the backoff (full jitter
// between 0 and min(max, base*2^attempt)). An answer with Retry-After is
// waited out within the wait budget and is not an attempt.
func WithRetry(attempts int, base, maxBackoff time.Duration) Option {
	return func(b *Backend) { b.maxAttempts, b.backoffBase, b.backoffMax = attempts, base, maxBackoff }
}

// New returns a Backend resolving each mms tenant's configuration with lookup.
func New(lookup func(ctx context.Context, mmsTenantID string) (TenantConfig, error), opts ...Option) *Backend {
	b := &Backend{
		lookup:      lookup,
		now:         time.Now,
		log:         slog.Default(),
		waitBudget:  DefaultWaitBudget,
		maxAttempts: DefaultMaxAttempts,
		backoffBase: DefaultBackoffBase,
		backoffMax:  DefaultBackoffMax,
		tenants:     map[string]*tenant{},
		limiters:    map[string]*mailboxLimiter{},
		owners:      map[string][]string{},
		stats:       Stats{RequestsByStatus: map[int]int64{}, MaxInFlight: map[string]int{}},
	}
	for _, o := range opts {
		o(b)
	}
	if b.http == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		b.http = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	}
	if b.maxAttempts < 1 {
		b.maxAttempts = 1
	}
	return b
}

// Forget drops a tenant's cached configuration and token (after the admin
// changed the app registration).
func (b *Backend) Forget(mmsTenantID string) {
	b.mu.Lock()
	delete(b.tenants, mmsTenantID)
	b.mu.Unlock()
}

func (b *Backend) tenant(ctx context.Context, id string) (*tenant, error) {
	b.mu.Lock()
	t := b.tenants[id]
	b.mu.Unlock()
	if t != nil {
		return t, nil
	}
	cfg, err := b.lookup(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("graph: configuration of tenant %s: %w", id, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("graph: tenant %s: %w", id, err)
	}
	cfg = cfg.withDefaults()
	t = &tenant{id: id, cfg: cfg, tokens: &tokenCache{cfg: cfg, http: b.http, now: b.now, onCall: b.countTokenRequest}}
	if cfg.CertificatePEM != "" {
		if t.tokens.cert, err = parseCertificate(cfg.CertificatePEM, cfg.PrivateKeyPEM); err != nil {
			return nil, fmt.Errorf("graph: tenant %s: %w", id, err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if cur := b.tenants[id]; cur != nil {
		return cur, nil
	}
	b.tenants[id] = t
	return t, nil
}

// limiter returns the mailbox's limiter, shared by all goroutines.
func (b *Backend) limiter(t *tenant, mailbox string) *mailboxLimiter {
	key := mailboxKey(t.id, mailbox)
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.limiters[key]
	if l == nil {
		if len(b.limiters) >= 1024 {
			b.sweepLimiters()
		}
		l = newMailboxLimiter(key, t.cfg.MaxInFlightPerMailbox, t.cfg.RequestsPer10Min)
		b.limiters[key] = l
	}
	return l
}

// sweepLimiters forgets mailboxes idle for longer than the window and
// neither blocked nor busy. b.mu is held.
func (b *Backend) sweepLimiters() {
	now := b.now()
	for k, l := range b.limiters {
		l.mu.Lock()
		idle := l.inFlight == 0 && now.Sub(l.lastUsed) > window && now.After(l.blockedUntil)
		if idle {
			b.recordMax(k, l.maxInFlight)
		}
		l.mu.Unlock()
		if idle {
			delete(b.limiters, k)
		}
	}
}

func mailboxKey(tenantID, mailbox string) string {
	return tenantID + "/" + strings.ToLower(mailbox)
}

// request is one Graph call.
type request struct {
	method string
	// path is relative to the tenant's BaseURL, or an absolute URL on it
	// (an @odata.nextLink).
	path    string
	query   url.Values
	header  http.Header
	body    any
	mailbox string // whose limits apply
	// idempotent requests are retried after network errors.
	idempotent bool
}

// Error is an error answer from Graph. It carries Graph's code and message,
// never the request's credentials.
type Error struct {
	Method     string
	Path       string
	StatusCode int
	Code       string
	Message    string
	RequestID  string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("graph: %s %s: %d", e.Method, e.Path, e.StatusCode)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request-id " + e.RequestID + ")"
	}
	return s
}

// Unwrap maps statuses to the calendar package's errors.
func (e *Error) Unwrap() error {
	switch e.StatusCode {
	case http.StatusNotFound:
		return calendar.ErrNotFound
	case http.StatusPreconditionFailed:
		return calendar.ErrConflict
	case http.StatusTooManyRequests:
		return ErrThrottled
	}
	return nil
}

// HasCode reports whether err is a Graph error with one of the codes.
func HasCode(err error, codes ...string) bool {
	var ge *Error
	if !errors.As(err, &ge) {
		return false
	}
	for _, c := range codes {
		if strings.EqualFold(ge.Code, c) {
			return true
		}
	}
	return false
}

// do runs a request under the mailbox's limits with retries and decodes a
// JSON answer into out (when not nil).
func (b *Backend) do(ctx context.Context, t *tenant, r request, out any) (http.Header, error) {
	ctx = b.withCallDeadline(ctx)
	target, err := b.resolve(t, r)
	if err != nil {
		return nil, err
	}
	var payload []byte
	if r.body != nil {
		if payload, err = encodeBody(r.body); err != nil {
			return nil, err
		}
	}
	lim := b.limiter(t, r.mailbox)
	refreshed := false
	rejected := ""
	var lastErr error
	for attempt := 0; attempt < b.maxAttempts; {
		release, err := b.acquire(ctx, lim)
		if err != nil {
			if lastErr != nil && errors.Is(err, ErrThrottled) {
				return nil, fmt.Errorf("%w (last answer: %w)", err, lastErr)
			}
			return nil, err
		}
		b.recordMaxInFlight(lim)
		// The token is taken after the wait, so a long wait cannot stale it.
		token, err := t.tokens.token(ctx, rejected != "", rejected)
		if err != nil {
			release()
			return nil, err
		}
		status, header, buf, err := b.send(ctx, r, target, payload, token)
		release()
		var body []byte
		if buf != nil {
			body = buf.Bytes()
			// Decoding copies what it keeps: the buffer serves the next answer.
			defer putBuffer(buf)
		}
		b.countRequest(status)
		attempt++
		if err != nil {
			if ctx.Err() != nil || !r.idempotent {
				return nil, err
			}
			lastErr = err
			if werr := b.backoff(ctx, attempt, lastErr); werr != nil {
				return nil, werr
			}
			continue
		}
		if status >= 200 && status < 300 {
			if out != nil && len(body) > 0 {
				if err := json.Unmarshal(body, out); err != nil {
					return header, fmt.Errorf("graph: %s %s: decode answer: %w", r.method, redactPath(target), err)
				}
			}
			return header, nil
		}
		gerr := parseError(r.method, target, status, header, body)
		lastErr = gerr
		switch {
		case status == http.StatusUnauthorized && !refreshed:
			// An expired or revoked token: fetch a new one once; not an attempt.
			refreshed, rejected = true, token
			attempt--
			continue
		case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
			if until, ok := retryAfter(header, b.now()); ok {
				lim.block(until)
				b.log.InfoContext(ctx, "graph: Retry-After", "mailbox", lim.key, "status", status,
					"seconds", until.Sub(b.now()).Seconds(), "code", gerr.Code)
				// Not an attempt: the server said when to come back, and the
				// wait budget bounds how long we keep doing so. (A request the
				// client gave up on may still hold a mailbox slot on the
				// server; its concurrency 429s must not use up the attempts.)
				attempt--
				continue // acquire waits until the block ends
			}
			if werr := b.backoff(ctx, attempt, gerr); werr != nil {
				return nil, werr
			}
		case status >= 500 && r.idempotent:
			// A non-idempotent request may have been applied: not repeated.
			if werr := b.backoff(ctx, attempt, gerr); werr != nil {
				return nil, werr
			}
		default:
			return header, gerr
		}
		rejected = ""
	}
	if errors.Is(lastErr, ErrThrottled) || HasCode(lastErr, "ApplicationThrottled", "TooManyRequests") {
		return nil, fmt.Errorf("graph: %d attempts: %w", b.maxAttempts, lastErr)
	}
	return nil, fmt.Errorf("graph: giving up after %d attempts: %w", b.maxAttempts, lastErr)
}

// backoff sleeps with full jitter before attempt+1, within the wait budget.
func (b *Backend) backoff(ctx context.Context, attempt int, cause error) error {
	if attempt >= b.maxAttempts {
		return nil // the loop ends and reports cause
	}
	ceiling := b.backoffBase << min(attempt-1, 20)
	if ceiling > b.backoffMax || ceiling <= 0 {
		ceiling = b.backoffMax
	}
	d := time.Duration(rand.Int64N(int64(ceiling) + 1))
	until := b.now().Add(d)
	if err := b.waitUntil(ctx, until, callDeadline(ctx), "backoff"); err != nil {
		if errors.Is(err, ErrThrottled) {
			return fmt.Errorf("%w: %w", err, cause)
		}
		return err
	}
	b.statsMu.Lock()
	b.stats.Retries++
	b.stats.BackoffWaits++
	b.statsMu.Unlock()
	return nil
}

// resolve builds the request URL, refusing absolute URLs off the base (a
// cursor must never send the token elsewhere).
func (b *Backend) resolve(t *tenant, r request) (string, error) {
	if strings.HasPrefix(r.path, "https://") || strings.HasPrefix(r.path, "http://") {
		if !strings.HasPrefix(r.path, t.cfg.BaseURL+"/") {
			return "", fmt.Errorf("graph: refusing a link outside %s", t.cfg.BaseURL)
		}
		return r.path, nil
	}
	u := t.cfg.BaseURL + r.path
	if len(r.query) > 0 {
		u += "?" + encodeQuery(r.query)
	}
	return u, nil
}

// encodeQuery encodes like url.Values.Encode but keeps '$' readable, as
// Graph's documentation writes OData options.
func encodeQuery(q url.Values) string {
	return strings.ReplaceAll(q.Encode(), "%24", "$")
}

// encodeBody encodes a request body as JSON without json.Marshal's HTML
// escaping: a meeting body's every '<', '>' and '&' would otherwise travel
// as six bytes (\u003c) for Graph to decode again.
func encodeBody(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Answers are read into pooled buffers: a listing of a page of meetings is
// megabytes, which io.ReadAll would grow (and drop) answer after answer.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooled bounds the buffers kept for reuse.
const maxPooled = 8 << 20

func putBuffer(b *bytes.Buffer) {
	if b.Cap() <= maxPooled {
		b.Reset()
		buffers.Put(b)
	}
}

// send sends one request and reads its answer into a pooled buffer, which
// the caller returns with putBuffer.
func (b *Backend) send(ctx context.Context, r request, target string, payload []byte, token string) (int, http.Header, *bytes.Buffer, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range r.header {
		req.Header[k] = slices.Clone(v)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			// url.Error repeats the URL; keep the path, drop the query.
			return 0, nil, nil, fmt.Errorf("graph: %s %s: %w", r.method, redactPath(target), ue.Err)
		}
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	buf := buffers.Get().(*bytes.Buffer)
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxResponse)); err != nil {
		putBuffer(buf)
		return 0, nil, nil, fmt.Errorf("graph: %s %s: read answer: %w", r.method, redactPath(target), err)
	}
	return resp.StatusCode, resp.Header, buf, nil
}

// redactPath keeps a URL's path for error messages.
func redactPath(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Path
	}
	return "(url)"
}

func parseError(method, target string, status int, header http.Header, body []byte) *Error {
	e := &Error{Method: method, Path: redactPath(target), StatusCode: status,
		RequestID: header.Get("request-id")}
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil {
		e.Code, e.Message = env.Error.Code, env.Error.Message
	}
	if e.Code == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// retryAfter reads a Retry-After header: delay seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) (time.Time, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return time.Time{}, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return now.Add(time.Duration(s * float64(time.Second))), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return t, true
	}
	return time.Time{}, false
}
