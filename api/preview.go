package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
)

// MaxPreviewBytes bounds a preview request: meeting bodies can be several MB.
const MaxPreviewBytes = 16 << 20

// PreviewRequest is the body of POST /v1/preview.
type PreviewRequest struct {
	Body    string                `json:"body"`
	Format  meetingblock.Format   `json:"format"`
	Profile *meetingblock.Profile `json:"profile"`
	Target  migration.Target      `json:"target"`
	// Locale, when set, overrides the profile's locale: preview the block
	// in another language without editing the profile.
	Locale string `json:"locale,omitempty"`
}

func (r *PreviewRequest) validate() error {
	switch {
	case r.Body == "":
		return errors.New("body: required")
	case r.Profile == nil:
		return errors.New("profile: required")
	}
	switch r.Format {
	case "":
		r.Format = meetingblock.FormatHTML
	case meetingblock.FormatHTML, meetingblock.FormatText, meetingblock.FormatICal:
	default:
		return fmt.Errorf("format: must be html, text or ical, not %q", r.Format)
	}
	switch r.Target {
	case "":
		r.Target = migration.TargetCurrent
	case migration.TargetCurrent, migration.TargetTeams:
	default:
		return fmt.Errorf("target: must be Current or Teams, not %q", r.Target)
	}
	if r.Locale != "" {
		if _, err := meetingblock.ParseLocale(r.Locale); err != nil {
			return fmt.Errorf("locale: %v", err)
		}
		r.Profile.Locale = r.Locale
	}
	if err := r.Profile.Validate(); err != nil {
		return fmt.Errorf("profile.%v", err)
	}
	return nil
}

// preview runs the block engine on a body without touching any meeting.
func (s *Server) preview(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxPreviewBytes)
	var req PreviewRequest
	if !bindJSON(c, &req) {
		return
	}
	c.JSON(http.StatusOK, meetingblock.Preview(req.Body, req.Format, *req.Profile, req.Target))
}
