package graphtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// OnlineMeeting is a Teams meeting created by createOrGet.
type OnlineMeeting struct {
	ID            string
	ExternalID    string
	Organizer     string
	Subject       string
	Start, End    time.Time
	JoinWebURL    string
	JoinMeetingID string // 13 digits
	Passcode      string
	ConferenceID  string
	Created       time.Time
}

// OnlineMeetings returns the meetings created so far.
func (s *Server) OnlineMeetings() []OnlineMeeting {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]OnlineMeeting, 0, len(s.meetings))
	for _, m := range s.meetings {
		out = append(out, *m)
	}
	return out
}

// handleCreateOrGet is POST /users/{id}/onlineMeetings/createOrGet: the
// meeting with this externalId for this organizer, created on first call.
func (s *Server) handleCreateOrGet(w http.ResponseWriter, r *http.Request, c *caller) {
	var req struct {
		ExternalID    string `json:"externalId"`
		Subject       string `json:"subject"`
		StartDateTime string `json:"startDateTime"`
		EndDateTime   string `json:"endDateTime"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "Cannot read the request body.")
		return
	}
	if req.ExternalID == "" {
		writeError(w, http.StatusBadRequest, "BadRequest", "externalId is required.")
		return
	}
	if c.user.OnPremises {
		writeError(w, http.StatusNotFound, "NotFound", "The user's mailbox is not hosted in Exchange Online.")
		return
	}
	key := c.user.key() + "|" + req.ExternalID
	s.mu.Lock()
	m := s.meetings[key]
	status := http.StatusOK
	if m == nil {
		status = http.StatusCreated
		now := s.now()
		start, ok := parseGraphTime(req.StartDateTime)
		if !ok {
			start = now
		}
		end, ok := parseGraphTime(req.EndDateTime)
		if !ok {
			end = start.Add(time.Hour)
		}
		digits := func(n int) string {
			var b strings.Builder
			for range n {
				b.WriteByte(byte('0' + s.rng.IntN(10)))
			}
			return b.String()
		}
		thread := strings.ReplaceAll(uuid.NewString(), "-", "")
		m = &OnlineMeeting{
			ID:         "MSo" + strings.ReplaceAll(uuid.NewString(), "-", ""),
			ExternalID: req.ExternalID, Organizer: c.user.Address, Subject: req.Subject, Start: start, End: end,
			JoinWebURL: "https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + thread + "%40thread.v2/0?context=" +
				url.QueryEscape(`{"Tid":"`+c.tenant+`","Oid":"`+c.user.ID+`"}`),
			JoinMeetingID: digits(13), Passcode: digits(6), ConferenceID: digits(9), Created: now,
		}
		s.meetings[key] = m
	}
	out := map[string]any{
		"id": m.ID, "externalId": m.ExternalID, "subject": m.Subject,
		"creationDateTime": m.Created.UTC().Format(time.RFC3339Nano),
		"startDateTime":    m.Start.UTC().Format(time.RFC3339Nano),
		"endDateTime":      m.End.UTC().Format(time.RFC3339Nano),
		"joinWebUrl":       m.JoinWebURL,
		"joinMeetingIdSettings": map[string]any{"isPasscodeRequired": true, "joinMeetingId": m.JoinMeetingID,
			"passcode": m.Passcode},
		"audioConferencing": map[string]any{"conferenceId": m.ConferenceID, "tollNumber": "+12065550100",
			"dialinUrl": "https://dialin.teams.microsoft.com/local-numbers"},
		"participants": map[string]any{"organizer": map[string]any{"upn": c.user.Address, "role": "presenter",
			"identity": map[string]any{"user": map[string]any{"id": c.user.ID}}}},
	}
	s.mu.Unlock()
	writeJSON(w, status, out)
}
