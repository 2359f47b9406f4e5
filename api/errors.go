package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// Error is the body of every error response: a stable code for programs and
// a message for people.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func abort(c *gin.Context, status int, code, msg string) {
	c.AbortWithStatusJSON(status, gin.H{"error": Error{Code: code, Message: msg}})
}

func badRequest(c *gin.Context, msg string) {
	abort(c, http.StatusBadRequest, "invalid_request", msg)
}

// bindJSON decodes and validates a request body; on failure it has already
// answered 400 with the message.
func bindJSON(c *gin.Context, v interface{ validate() error }) bool {
	err := decodeJSON(c, v)
	if err == nil {
		err = v.validate()
	}
	if err != nil {
		badRequest(c, err.Error())
		return false
	}
	return true
}

// decodeJSON reads one JSON object into v, rejecting unknown fields and
// trailing data, with messages that name the offending field.
func decodeJSON(c *gin.Context, v any) error {
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("unexpected data after the JSON object")
	}
	return explainJSON(err)
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
		return fmt.Errorf("%s: must be %s, not %s", typeErr.Field, typeErr.Type, typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Errorf("body: malformed JSON at byte %d: %v", syntaxErr.Offset, err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("%s: unknown field", strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`))
	}
	return fmt.Errorf("body: %v", err)
}
