package graphtest

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RequestRecord is one Graph request as the emulator saw it.
type RequestRecord struct {
	At     time.Time // arrival
	Method string
	Path   string
	Status int
	// RetryAfter is the Retry-After sent with a 429/503 (0: none).
	RetryAfter time.Duration
	// Reason of a throttled or failed answer: "concurrency", "budget",
	// "injected", "random"; "" otherwise.
	Reason string
	// Early: the request arrived before a Retry-After deadline announced
	// for its mailbox had passed.
	Early bool
	// Delay: the answer was held this long after the request was carried
	// out (SlowNext).
	Delay time.Duration
}

// mailboxState is one mailbox's limits and request log.
type mailboxState struct {
	inFlight    int
	maxInFlight int
	accepted    []time.Time // accepted requests within the window
	log         []RequestRecord
	inject      []injection
	slow        []time.Duration
	retryUntil  time.Time
	early       int
}

type injection struct {
	status     int
	retryAfter time.Duration
}

// FailNext makes the next n Graph requests to the mailbox fail with status
// (429, 500, 503...), with a Retry-After header when retryAfter > 0.
func (s *Server) FailNext(mailbox string, n, status int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mailbox(s.mailboxKey(mailbox))
	for range n {
		m.inject = append(m.inject, injection{status: status, retryAfter: retryAfter})
	}
}

// SlowNext makes the next n Graph requests to the mailbox that are not
// refused slow: each is carried out as usual (a PATCH is applied at once)
// but answered only delay later, counting as in flight meanwhile, as when
// Exchange is slow to acknowledge. A client that gives up first never
// learns what became of its request.
func (s *Server) SlowNext(mailbox string, n int, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mailbox(s.mailboxKey(mailbox))
	for range n {
		m.slow = append(m.slow, delay)
	}
}

// MaxInFlight is the most concurrent requests the mailbox saw (including
// any it refused).
func (s *Server) MaxInFlight(mailbox string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mailbox(s.mailboxKey(mailbox)).maxInFlight
}

// Requests returns the mailbox's request log, oldest first.
func (s *Server) Requests(mailbox string) []RequestRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RequestRecord(nil), s.mailbox(s.mailboxKey(mailbox)).log...)
}

// EarlyRequests counts requests that arrived at the mailbox before a
// Retry-After deadline the emulator had announced for it.
func (s *Server) EarlyRequests(mailbox string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mailbox(s.mailboxKey(mailbox)).early
}

// Throttled counts the mailbox's 429 answers by reason.
func (s *Server) Throttled(mailbox string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, r := range s.mailbox(s.mailboxKey(mailbox)).log {
		if r.Status == http.StatusTooManyRequests {
			out[r.Reason]++
		}
	}
	return out
}

// mailboxKey resolves an address or id to the mailbox key. s.mu held.
func (s *Server) mailboxKey(name string) string {
	if u := s.findUser(name); u != nil {
		return u.key()
	}
	return strings.ToLower(name)
}

func (s *Server) mailbox(key string) *mailboxState {
	m := s.mailboxes[key]
	if m == nil {
		m = &mailboxState{}
		s.mailboxes[key] = m
	}
	return m
}

// admit applies Outlook's limits to a request arriving for the mailbox. It
// returns the function to call with the final status and how long to hold
// the answer (SlowNext), or nil after writing a 429 or an injected failure
// to w.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, key string) (func(status int), time.Duration) {
	s.mu.Lock()
	now := s.now()
	m := s.mailbox(key)
	idx := len(m.log)
	rec := RequestRecord{At: now, Method: r.Method, Path: r.URL.Path}
	if now.Before(m.retryUntil) {
		rec.Early = true
		m.early++
	}
	m.inFlight++
	if m.inFlight > m.maxInFlight {
		m.maxInFlight = m.inFlight
	}
	cut := 0
	for cut < len(m.accepted) && !m.accepted[cut].After(now.Add(-10*time.Minute)) {
		cut++
	}
	m.accepted = m.accepted[cut:]

	status, code, msg, retry := 0, "", "", time.Duration(0)
	switch {
	case len(m.inject) > 0:
		inj := m.inject[0]
		m.inject = m.inject[1:]
		status, retry, rec.Reason = inj.status, inj.retryAfter, "injected"
	case m.inFlight > s.opts.MaxInFlightPerMailbox:
		status, retry, rec.Reason = http.StatusTooManyRequests, s.opts.ConcurrencyRetryAfter, "concurrency"
	case len(m.accepted) >= s.opts.RequestsPer10Min:
		status, rec.Reason = http.StatusTooManyRequests, "budget"
		retry = m.accepted[len(m.accepted)-s.opts.RequestsPer10Min].Add(10 * time.Minute).Sub(now)
	case s.opts.FailureRate > 0 && s.rng.Float64() < s.opts.FailureRate:
		status, rec.Reason = []int{http.StatusInternalServerError, http.StatusServiceUnavailable}[s.rng.IntN(2)], "random"
	}
	if status == 0 {
		if len(m.slow) > 0 {
			rec.Delay, m.slow = m.slow[0], m.slow[1:]
		}
		m.accepted = append(m.accepted, now)
		m.log = append(m.log, rec)
		s.mu.Unlock()
		return func(status int) {
			s.mu.Lock()
			defer s.mu.Unlock()
			m.inFlight--
			m.log[idx].Status = status
		}, rec.Delay
	}
	switch status {
	case http.StatusTooManyRequests:
		code, msg = "ApplicationThrottled", "Application is over its MailboxConcurrency limit."
		if rec.Reason == "budget" {
			msg = "Application is over its resource limit."
		}
	case http.StatusServiceUnavailable:
		code, msg = "ServiceUnavailable", "The service is temporarily unavailable."
	case http.StatusBadGateway:
		code, msg = "BadGateway", "The server received an invalid response from an upstream server."
	case http.StatusGatewayTimeout:
		code, msg = "GatewayTimeout", "The server did not receive a timely response from an upstream server."
	default:
		code, msg = "InternalServerError", "An internal server error occurred."
	}
	if retry > 0 {
		secs := int(math.Ceil(retry.Seconds()))
		retry = time.Duration(secs) * time.Second
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		if until := now.Add(retry); until.After(m.retryUntil) {
			m.retryUntil = until
		}
	}
	rec.Status, rec.RetryAfter = status, retry
	m.log = append(m.log, rec)
	m.inFlight--
	s.mu.Unlock()
	writeError(w, status, code, msg)
	return nil, 0
}
