// Package intake is where requests to migrate enter the service: manual
// starts and dry runs, cancels, retries of failed meetings, change events and
// profiles set directly. Each method owns the whole sequence: decide,
// compare-and-set the user's profile (retried while other requests change it),
// open the Pending record, hand the trigger to the user's workflow with
// signal-with-start, and mark the record Failed when Temporal cannot take it.
//
// Methods take plain values (the requester is a name, not an HTTP request) so
// the HTTP API, the CLI or a test can call them alike; refusals come back as
// *Error, whose Kind (ErrNotFound, ErrConflict, ErrInvalid, ErrUnavailable)
// a caller maps to its own answers without reading messages.
package intake

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/telemetry"
)

// Service takes requests to migrate. It is safe for concurrent use.
type Service struct {
	db          *store.DB
	temporal    client.Client
	logger      *slog.Logger
	instruments *telemetry.Instruments
	// syncFanOutLimit and fanOutBatch: SyncFanOutLimit and the fan-out's
	// batch size (0: workflows.DefaultFanOutBatch); tests make them small.
	syncFanOutLimit, fanOutBatch int
	// calendar, horizon and impactBudget serve impact previews (WithCalendar).
	calendar     calendar.Backend
	horizon      time.Duration
	impactBudget time.Duration
}

// New returns a service on the store and the Temporal client. instruments
// count state transitions (nil: none); a nil logger discards.
func New(db *store.DB, temporal client.Client, logger *slog.Logger, instruments *telemetry.Instruments) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{db: db, temporal: temporal, logger: logger, instruments: instruments, syncFanOutLimit: SyncFanOutLimit}
}

// The kinds of *Error; test with errors.Is.
var (
	// ErrInvalid: an input is malformed; nothing was read or changed.
	ErrInvalid = errors.New("invalid")
	// ErrNotFound: the tenant, user or migration does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the user's migration is not in a state that allows the
	// request (Code says which); nothing changed.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the request could not be recorded or handed to
	// Temporal. A Pending record opened for it has been marked Failed; the
	// request may be retried.
	ErrUnavailable = errors.New("unavailable")
	// ErrInternal: the store failed while reading what the request needs;
	// Subject names the step, Err has the cause (for logs, not for callers).
	ErrInternal = errors.New("internal")
)

// Conflict codes: why an ErrConflict refused the request.
const (
	CodeNotRunning    = "not_running"    // cancel: nothing pending or in progress
	CodeInProgress    = "in_progress"    // retry: the latest migration has not ended
	CodeNothingFailed = "nothing_failed" // retry: no meeting failed in the latest migration
)

// Error is a refusal or failure of a request.
type Error struct {
	Kind error // ErrInvalid, ErrNotFound, ErrConflict, ErrUnavailable or ErrInternal
	// Subject is what the error is about: the field for ErrInvalid (as the
	// caller named it: "user", "events[2].type"), the entity for ErrNotFound
	// ("tenant", "user", "migration"), "temporal" or "store" for
	// ErrUnavailable; the step that failed ("user lookup") for ErrInternal.
	Subject string
	Code    string // for ErrConflict: one of the Code constants
	Message string // for people; begins with the field for ErrInvalid
	Err     error  // the cause, if any
}

func (e *Error) Error() string { return e.Message }

// Is makes errors.Is(err, ErrNotFound) and the like work.
func (e *Error) Is(target error) bool { return target == e.Kind }

func (e *Error) Unwrap() error { return e.Err }

// invalid names the field first, as every message of the API does.
func invalid(field, format string, args ...any) *Error {
	return &Error{Kind: ErrInvalid, Subject: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// invalidErr wraps a validation error whose message already names the field.
func invalidErr(field string, err error) *Error {
	return &Error{Kind: ErrInvalid, Subject: field, Message: err.Error(), Err: err}
}

func notFound(entity, format string, args ...any) *Error {
	return &Error{Kind: ErrNotFound, Subject: entity, Message: fmt.Sprintf(format, args...)}
}

func conflict(code, format string, args ...any) *Error {
	return &Error{Kind: ErrConflict, Subject: "migration", Code: code, Message: fmt.Sprintf(format, args...)}
}

func unavailable(subject, msg string, err error) *Error {
	return &Error{Kind: ErrUnavailable, Subject: subject, Message: msg, Err: err}
}

// internal keeps the step's name: it is all a caller may show of a store
// failure.
func internal(step string, err error) *Error {
	return &Error{Kind: ErrInternal, Subject: step, Message: step + " failed", Err: err}
}

func quote(s string) string { return `"` + s + `"` }

// canonicalUser checks a user ID against the one grammar (migration.ParseUserID)
// and returns its canonical form; every entry point that takes a user calls
// it first, so a malformed ID is a 4xx naming the field and never reaches
// the store or Temporal (whose header check would answer "unavailable").
func canonicalUser(field, id string) (string, error) {
	canon, err := migration.ParseUserID(id)
	if err != nil {
		return "", invalid(field, "%v", err)
	}
	return canon, nil
}
