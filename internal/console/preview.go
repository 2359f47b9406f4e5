package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/rules"
	"github.com/openmms/mms/internal/store"
)

// The preview form's kinds of change: composed from a few fields, or the
// events body of POST /v1/tenants/{tenant}/events pasted as it is.
const (
	previewBridge       = "bridge"
	previewConferenceID = "conferenceId"
	previewJSON         = "json"
)

// previewForm is the impact preview form as submitted.
type previewForm struct {
	Kind                           string
	BridgeID, OldNumber, NewNumber string
	User, ConferenceID             string
	Events                         string
}

// previewView is the preview page: the form, and after a submission the
// impact or the refusal (its message names the field first).
type previewView struct {
	Form   previewForm
	May    bool // the token may post events, so may preview them (the API's rule)
	Impact *intake.Impact
	Error  string
	Field  string
}

// events turns the form into the events the service previews.
func (f previewForm) events() ([]intake.Event, error) {
	switch f.Kind {
	case previewBridge:
		return []intake.Event{{Event: rules.Event{Type: rules.BridgeNumberChanged, BridgeID: f.BridgeID,
			OldNumber: f.OldNumber, NewNumber: f.NewNumber}}}, nil
	case previewConferenceID:
		return []intake.Event{{Event: rules.Event{Type: rules.ConferenceIDChanged, User: f.User, ConferenceID: f.ConferenceID}}}, nil
	case previewJSON:
		return decodeEvents(f.Events)
	default:
		return nil, &formError{"kind", "one of bridge, conferenceId or json, not " + quote(f.Kind)}
	}
}

// decodeEvents reads one event or an array of them, as the API's events
// body; an unknown field is refused, naming it.
func decodeEvents(raw string) ([]intake.Event, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, &formError{"events", "required: one event object or an array of them"}
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	var events []intake.Event
	var err error
	if strings.HasPrefix(raw, "[") {
		err = dec.Decode(&events)
	} else {
		var e intake.Event
		if err = dec.Decode(&e); err == nil {
			events = []intake.Event{e}
		}
	}
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		return nil, &formError{"events", "not an event or an array of events: " + err.Error()}
	}
	if len(events) == 0 {
		return nil, &formError{"events", "the array is empty"}
	}
	return events, nil
}

func readPreviewForm(r *http.Request) previewForm {
	v := r.PostForm
	return previewForm{Kind: v.Get("kind"), BridgeID: strings.TrimSpace(v.Get("bridgeId")),
		OldNumber: strings.TrimSpace(v.Get("oldNumber")), NewNumber: strings.TrimSpace(v.Get("newNumber")),
		User: strings.TrimSpace(v.Get("user")), ConferenceID: strings.TrimSpace(v.Get("conferenceId")),
		Events: v.Get("events")}
}

// previewPage shows the impact preview form.
func (c *Console) previewPage(w http.ResponseWriter, r *http.Request, s *sess) {
	c.render(w, r, s, http.StatusOK, "preview", "Impact preview",
		previewView{Form: previewForm{Kind: previewBridge}, May: s.May(store.PermPostEvents)})
}

// preview asks the service what the change would do, as POST
// events?preview=true does: nothing is recorded or started. A refusal
// shows the form again with the message naming the field.
func (c *Console) preview(w http.ResponseWriter, r *http.Request, s *sess) {
	v := previewView{Form: readPreviewForm(r), May: true}
	events, err := v.Form.events()
	if err == nil {
		var impact intake.Impact
		if impact, err = c.intake.Preview(r.Context(), s.Tenant.ID, events); err == nil {
			v.Impact = &impact
			c.render(w, r, s, http.StatusOK, "preview", "Impact preview", v)
			return
		}
	}
	var fe *formError
	var ie *intake.Error
	status := http.StatusBadRequest
	switch {
	case errors.As(err, &fe):
		v.Error = fe.Error()
	case errors.As(err, &ie) && (errors.Is(ie, intake.ErrInvalid) || errors.Is(ie, intake.ErrNotFound)):
		v.Error = ie.Message
		if errors.Is(ie, intake.ErrNotFound) {
			status = http.StatusNotFound
		}
	default:
		c.intakeFailed(w, r, s, err)
		return
	}
	v.Field, _, _ = strings.Cut(v.Error, ":")
	c.render(w, r, s, status, "preview", "Impact preview", v)
}

// postEvents lets only tokens that may post events through: a preview is
// the events route's (the API's role table).
func (c *Console) postEvents(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, s *sess) {
		if !s.May(store.PermPostEvents) {
			c.fail(w, r, s, http.StatusForbidden, "forbidden: a token with role "+quote(s.Tok.Role)+" may not post or preview change events")
			return
		}
		h(w, r, s)
	}
}
