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
	// Audio conferencing of the meeting; all empty when the organizer has
	// no audio conferencing licence (Graph then returns none).
	ConferenceID string
	TollNumber   string
	DialInURL    string
	Created      time.Time
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
			JoinMeetingID: digits(13), Passcode: digits(6), Created: now,
		}
		if !c.user.NoAudioConferencing {
			// Each Teams meeting has its own conference ID on the tenant's
			// bridge (onlinemeeting-createorget.md, audioconferencing.md).
			m.ConferenceID, m.TollNumber = digits(9), "+1 206-485-3005"
			m.DialInURL = "https://dialin.teams.microsoft.com/" + uuid.NewString() + "?id=" + m.ConferenceID
		}
		s.meetings[key] = m
	}
	var audio any // null without an audio conferencing licence
	if m.ConferenceID != "" {
		audio = map[string]any{"conferenceId": m.ConferenceID, "tollNumber": m.TollNumber, "tollFreeNumber": nil,
			"tollFreeNumbers": []string{}, "dialinUrl": m.DialInURL}
	}
	// The documented example's shape: 7-digit fractions with Z here.
	const odataTime = "2006-01-02T15:04:05.0000000Z"
	out := map[string]any{
		"@odata.context": s.baseURL(r) + "/$metadata#onlineMeetings/$entity",
		"id":             m.ID, "externalId": m.ExternalID, "subject": m.Subject,
		"creationDateTime": m.Created.UTC().Format(odataTime),
		"startDateTime":    m.Start.UTC().Format(odataTime),
		"endDateTime":      m.End.UTC().Format(odataTime),
		"joinWebUrl":       m.JoinWebURL,
		"joinMeetingIdSettings": map[string]any{"isPasscodeRequired": true, "joinMeetingId": m.JoinMeetingID,
			"passcode": m.Passcode},
		"audioConferencing": audio,
		"participants": map[string]any{"organizer": map[string]any{"upn": c.user.UPN, "role": "presenter",
			"identity": map[string]any{"user": map[string]any{"id": c.user.ID}}}},
	}
	s.mu.Unlock()
	writeJSON(w, status, out)
}
