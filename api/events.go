package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/migration"
)

// MaxEventsPerRequest bounds a batch.
const MaxEventsPerRequest = 1000

// EventIn is one change event as posted: a rules.Event plus an optional
// client ID that makes retries safe. It is the service's event under the
// API's name.
type EventIn intake.Event

// postEvents takes one event or an array of them. The whole request is
// validated first: one bad event rejects it all, and nothing changes.
func (s *Server) postEvents(c *gin.Context) {
	events, err := decodeEvents(c)
	if err != nil {
		badRequest(c, err.Error())
		return
	}
	switch c.Query("preview") {
	case "", "false":
	case "true":
		// The impact preview: decided and counted, nothing recorded or started.
		impact, err := s.Intake.Preview(c.Request.Context(), c.Param("tenant"), events)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, impact)
		return
	default:
		badRequest(c, "preview: true or false, not "+strconvQuote(c.Query("preview")))
		return
	}
	results, err := s.Intake.PostEvents(c.Request.Context(), c.Param("tenant"), token(c).Name, events)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"results": results})
}

// decodeEvents reads one event object or an array of them; the service
// validates each, naming its index in a batch.
func decodeEvents(c *gin.Context) ([]intake.Event, error) {
	var raw json.RawMessage
	if err := decodeJSON(c, &raw); err != nil {
		return nil, err
	}
	var events []EventIn
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := strictUnmarshal(trimmed, &events); err != nil {
			return nil, err
		}
		if len(events) == 0 || len(events) > MaxEventsPerRequest {
			return nil, fmt.Errorf("body: between 1 and %d events, not %d", MaxEventsPerRequest, len(events))
		}
	} else {
		var one EventIn
		if err := strictUnmarshal(trimmed, &one); err != nil {
			return nil, err
		}
		events = []EventIn{one}
	}
	out := make([]intake.Event, len(events))
	for i, e := range events {
		out[i] = intake.Event(e)
	}
	return out, nil
}

func strictUnmarshal(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return explainJSON(dec.Decode(v))
}

func (s *Server) listEvents(c *gin.Context) {
	limit, err := intParam(c, "limit", 100, 1, 1000)
	if err != nil {
		badRequest(c, err.Error())
		return
	}
	user := c.Query("user")
	if user != "" {
		if user, err = migration.ParseUserID(user); err != nil {
			badRequest(c, "user: "+err.Error())
			return
		}
	}
	evs, err := s.DB.Events(c.Request.Context(), c.Param("tenant"), user, limit)
	if err != nil {
		s.internal(c, "list events", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"events": evs})
}

func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }
