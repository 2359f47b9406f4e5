package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/openmms/mms/internal/intake"
)

// Error is the body of every error response: a stable code for programs and
// a message for people.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Count is how many errors there are when there are several; Message
	// lists at most MaxListedErrors of them (issue 18: 100,000 bad phone
	// numbers in 600 KB got a 10.4 MB answer).
	Count int `json:"count,omitempty"`
}

// MaxListedErrors is how many errors one answer lists.
const MaxListedErrors = 20

func abort(c *gin.Context, status int, code, msg string) {
	c.AbortWithStatusJSON(status, gin.H{"error": Error{Code: code, Message: msg}})
}

// badRequest answers 400. Validation joins its errors one a line
// (errors.Join, here and in the intake service, whose messages arrive as
// strings), so the lines are the errors: beyond MaxListedErrors they are
// counted, not listed.
func badRequest(c *gin.Context, msg string) {
	abortList(c, http.StatusBadRequest, "invalid_request", msg)
}

// abortList answers an error whose message may list several errors, one a
// line, listing at most MaxListedErrors and counting them all.
func abortList(c *gin.Context, status int, code, msg string) {
	e := Error{Code: code, Message: msg}
	if n := strings.Count(msg, "\n") + 1; n > 1 {
		e.Count = n
		if n > MaxListedErrors {
			cut := 0
			for range MaxListedErrors {
				cut += strings.IndexByte(msg[cut:], '\n') + 1
			}
			e.Message = fmt.Sprintf("%s(%d more errors not listed; %d in all)", msg[:cut], n-MaxListedErrors, n)
		}
	}
	c.AbortWithStatusJSON(status, gin.H{"error": e})
}

// bind decodes a request body whose values the service checks; on failure
// it has already answered 400 with the message.
func bind(c *gin.Context, v any) bool {
	if err := decodeJSON(c, v); err != nil {
		badRequest(c, err.Error())
		return false
	}
	return true
}

// fail answers an error of the intake service: its kind picks the status,
// its message is shown as it is, except that a store failure shows only the
// step that failed (the cause goes to the log).
func (s *Server) fail(c *gin.Context, err error) {
	var e *intake.Error
	if !errors.As(err, &e) {
		s.internal(c, "request", err)
		return
	}
	switch e.Kind {
	case intake.ErrInvalid:
		badRequest(c, e.Message)
	case intake.ErrNotFound:
		abort(c, http.StatusNotFound, "not_found", e.Message)
	case intake.ErrConflict:
		abortList(c, http.StatusConflict, e.Code, e.Message)
	case intake.ErrTooLarge:
		abort(c, http.StatusRequestEntityTooLarge, "too_large", e.Message)
	case intake.ErrUnavailable:
		abort(c, http.StatusServiceUnavailable, "unavailable", e.Message)
	default:
		s.internal(c, e.Subject, e.Err)
	}
}

// decodeJSON reads one JSON object into v, rejecting unknown fields and
// trailing data, with messages that name the offending field.
func decodeJSON(c *gin.Context, v any) error {
	buf, err := readBody(c, MaxBodyBytes)
	if err != nil {
		return explainJSON(err)
	}
	return decodeBytes(buf, v)
}

// jsonKind names what a Go type accepts in JSON terms: a message said
// "must be api.StartRequest, not array", a Go type name that means nothing
// to a client (issue 18, finding 7). Scalars keep their short names
// ("bool", "string", "int"), which clients already match on.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Bool:
		return "bool"
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "int"
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	return "another JSON value"
}

// jsonValue names the JSON value a decoder found ("array", "object",
// "number 1.5", ...).
func jsonValue(v string) string {
	switch v {
	case "array":
		return "an array"
	case "object":
		return "an object"
	}
	return v
}

// explainJSON turns a decoding error into a message that names the field.
func explainJSON(err error) error {
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var maxErr *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return errors.New("body: a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("body: malformed JSON: unexpected end of input")
	case errors.As(err, &maxErr):
		return fmt.Errorf("body: larger than %d bytes", maxErr.Limit)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return fmt.Errorf("%s: must be %s, not %s", field, jsonKind(typeErr.Type), jsonValue(typeErr.Value))
	case errors.As(err, &syntaxErr):
		return fmt.Errorf("body: malformed JSON at byte %d: %v", syntaxErr.Offset, err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("%s: unknown field", strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`))
	}
	return fmt.Errorf("body: %v", err)
}
