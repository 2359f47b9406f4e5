package api

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// Defaults of the HTTP edge (issue 18, finding 6). A client that declared
// Content-Length: 100 and sent one byte held its connection for minutes; a
// client may hold as many connections as it likes. Both are bounded here.
const (
	// DefaultBodyTimeout bounds reading one request body: 1 MiB on a slow
	// link (1 Mbit/s) takes about 8 s, so 30 s leaves room and still frees
	// a connection that stalls on purpose.
	DefaultBodyTimeout = 30 * time.Second
	// DefaultPreviewBodyTimeout is longer: a preview body may be
	// MaxPreviewBytes (see preview.go), a directory import
	// directory.MaxBytes; both get it.
	DefaultPreviewBodyTimeout = 2 * time.Minute
	// DefaultMaxRequestsPerClient is how many requests one remote IP may
	// have in flight at once. The probe's 32 concurrent clients from one
	// host were legitimate load, so the default leaves twice that.
	DefaultMaxRequestsPerClient = 64
)

// bodyDeadline sets the connection's read deadline for the rest of this
// request, so a body that stalls is cut off and the connection freed. It
// runs before authentication: an unauthenticated client's unread body is
// otherwise drained by net/http after the 401, with no deadline at all.
// net/http resets the deadline for the next request on the connection.
func bodyDeadline(d, preview time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		d := d
		if c.Request.URL.Path == "/v1/preview" || strings.HasSuffix(c.Request.URL.Path, "/users:import") {
			d = preview
		}
		if d > 0 {
			// An error means the writer cannot set deadlines (a test
			// recorder); there is no connection to protect then.
			_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now().Add(d))
		}
		c.Next()
	}
}

// clientLimiter bounds the requests in flight per remote IP. Per IP rather
// than per token: the limit must hold before authentication, against
// clients that have no token.
type clientLimiter struct {
	max      int
	mu       sync.Mutex
	inFlight map[string]int
}

func newClientLimiter(max int) *clientLimiter {
	return &clientLimiter{max: max, inFlight: map[string]int{}}
}

func (l *clientLimiter) handle(c *gin.Context) {
	if l == nil || l.max <= 0 {
		c.Next()
		return
	}
	ip := remoteIP(c.Request.RemoteAddr)
	l.mu.Lock()
	if l.inFlight[ip] >= l.max {
		l.mu.Unlock()
		tooMany(c, "too many concurrent requests from "+ip+" (at most "+strconv.Itoa(l.max)+")")
		return
	}
	l.inFlight[ip]++
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		// Delete at zero so the map holds only clients with requests in
		// flight, not every address ever seen.
		if l.inFlight[ip]--; l.inFlight[ip] <= 0 {
			delete(l.inFlight, ip)
		}
		l.mu.Unlock()
	}()
	c.Next()
}

// remoteIP is the peer's address without its port. X-Forwarded-For is not
// trusted: any client can set it, and so escape its limit.
func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return strings.TrimSpace(addr)
}

// tooMany answers 429; one second is a short wait that spreads retries
// without stalling a well-behaved client for long.
func tooMany(c *gin.Context, msg string) {
	c.Header("Retry-After", "1")
	abort(c, http.StatusTooManyRequests, "too_many_requests", msg)
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
