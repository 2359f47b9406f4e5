package api

import (
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

func (s *Server) listTenants(c *gin.Context) {
	all, err := s.DB.Tenants(c.Request.Context())
	if err != nil {
		s.internal(c, "list tenants", err)
		return
	}
	visible := []store.Tenant{}
	for _, t := range all {
		if tok := token(c); tok.TenantID == "" || tok.TenantID == t.ID {
			visible = append(visible, t)
		}
	}
	c.JSON(http.StatusOK, gin.H{"tenants": visible})
}

func (s *Server) listUsers(c *gin.Context) {
	users, err := s.DB.Users(c.Request.Context(), c.Param("tenant"))
	if err != nil {
		s.internal(c, "list users", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"users": users})
}

// StartRequest is the body of POST /v1/tenants/{tenant}/migrations, the
// equivalent of Start-CsExMeetingMigration; the service checks it
// (intake.Request).
type StartRequest struct {
	User              string           `json:"user"`
	SourceMeetingType migration.Source `json:"sourceMeetingType"`
	TargetMeetingType migration.Target `json:"targetMeetingType"`
	// QuietPeriodSeconds delays the run; a manual start runs at once by default.
	QuietPeriodSeconds *int `json:"quietPeriodSeconds"`
	// DryRun computes each meeting's outcome and diff, changing nothing.
	DryRun bool `json:"dryRun"`
}

// startMigration records a Pending migration for the user and hands the
// trigger to the user's workflow (signal-with-start: one execution per user),
// or starts a dry run of its own.
func (s *Server) startMigration(c *gin.Context) {
	var req StartRequest
	if !bind(c, &req) {
		return
	}
	tenant := c.Param("tenant")
	start := s.Intake.Start
	if req.DryRun {
		start = s.Intake.DryRun
	}
	rec, err := start(c.Request.Context(), tenant, token(c).Name, intake.Request{User: req.User,
		Source: req.SourceMeetingType, Target: req.TargetMeetingType, QuietPeriodSeconds: req.QuietPeriodSeconds})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Location", "/v1/tenants/"+url.PathEscape(tenant)+"/migrations/"+url.PathEscape(rec.UserID)+
		"?correlationId="+rec.CorrelationID)
	c.JSON(http.StatusAccepted, rec)
}

// filter reads the listing's query parameters (user, state, type, start,
// end, dryRun, limit, offset or cursor).
func filter(c *gin.Context) (store.Filter, error) {
	f := store.Filter{UserID: c.Query("user"), State: migration.State(c.Query("state")),
		MigrationType: migration.Type(c.Query("type"))}
	if f.UserID != "" {
		canon, err := migration.ParseUserID(f.UserID)
		if err != nil {
			return f, fmt.Errorf("user: %v", err)
		}
		f.UserID = canon
	}
	if f.State != "" && !slices.Contains(migration.States, f.State) {
		return f, fmt.Errorf("state: must be one of %v, not %q", migration.States, f.State)
	}
	if f.MigrationType != "" && !slices.Contains(migration.Types, f.MigrationType) {
		return f, fmt.Errorf("type: must be one of %v, not %q", migration.Types, f.MigrationType)
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"start", &f.Start}, {"end", &f.End}} {
		if raw := c.Query(p.name); raw != "" {
			t, err := time.Parse(time.RFC3339, raw)
			if err != nil {
				return f, fmt.Errorf("%s: must be an RFC 3339 time such as 2026-11-23T08:00:00Z, not %q", p.name, raw)
			}
			// The zero time is how the filter says "no bound", so
			// end=0001-01-01T00:00:00Z was taken as no end at all (issue
			// 18, finding 7): refused rather than silently widened.
			if t.IsZero() {
				return f, fmt.Errorf("%s: %s is the zero time, which would mean no bound; leave %s out for none", p.name, raw, p.name)
			}
			*p.dst = t
		}
	}
	if !f.Start.IsZero() && !f.End.IsZero() && !f.Start.Before(f.End) {
		return f, errors.New("start: must be before end")
	}
	switch raw := c.Query("dryRun"); raw {
	case "", "false":
	case "true":
		f.DryRun = true
	default:
		return f, fmt.Errorf("dryRun: must be true or false, not %q", raw)
	}
	var err error
	if f.Limit, err = intParam(c, "limit", 100, 1, 1000); err != nil {
		return f, err
	}
	if f.Offset, err = intParam(c, "offset", 0, 0, 1<<30); err != nil {
		return f, err
	}
	if raw := c.Query("cursor"); raw != "" {
		if f.Offset, err = decodeCursor(raw); err != nil {
			return f, errors.New("cursor: not a cursor this service returned as next")
		}
	}
	return f, nil
}

// The next cursor is opaque to clients: today the offset of the next page
// (paging by offset over newest-first records, as limit/offset always did).
const cursorPrefix = "o1:"

func encodeCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.Itoa(offset)))
}

func decodeCursor(raw string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || !strings.HasPrefix(string(b), cursorPrefix) {
		return 0, errors.New("bad cursor")
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), cursorPrefix))
	if err != nil || n < 0 {
		return 0, errors.New("bad cursor")
	}
	return n, nil
}

func (s *Server) listMigrations(c *gin.Context) {
	f, err := filter(c)
	if err != nil {
		badRequest(c, err.Error())
		return
	}
	format := c.DefaultQuery("format", "json")
	if format != "json" && format != "csv" {
		badRequest(c, fmt.Sprintf("format: must be json or csv, not %q", format))
		return
	}
	recs, err := s.DB.StatusRecords(c.Request.Context(), c.Param("tenant"), f)
	if err != nil {
		s.internal(c, "list migrations", err)
		return
	}
	total, err := s.DB.CountStatusRecords(c.Request.Context(), c.Param("tenant"), f)
	if err != nil {
		s.internal(c, "count migrations", err)
		return
	}
	next := ""
	if f.Offset+len(recs) < total {
		next = encodeCursor(f.Offset + len(recs))
	}
	if format == "csv" {
		// The paging travels in headers; the body stays the cmdlet's table.
		c.Header("X-Total-Count", strconv.Itoa(total))
		if next != "" {
			c.Header("X-Next-Cursor", next)
		}
		writeCSV(c, recs, f.DryRun)
		return
	}
	c.JSON(http.StatusOK, MigrationList{Migrations: recs, Total: total, Next: next})
}

// summary answers like Get-CsMeetingMigrationStatus -SummaryOnly: each
// state with its user count, zeros included.
func (s *Server) summary(c *gin.Context) {
	f, err := filter(c)
	if err != nil {
		badRequest(c, err.Error())
		return
	}
	counts, err := s.DB.Summary(c.Request.Context(), c.Param("tenant"), f)
	if err != nil {
		s.internal(c, "summary", err)
		return
	}
	type row struct {
		State     migration.State `json:"state"`
		UserCount int             `json:"userCount"`
	}
	rows := make([]row, 0, len(migration.States))
	for _, st := range migration.States {
		rows = append(rows, row{st, counts[st]})
	}
	c.JSON(http.StatusOK, gin.H{"summary": rows})
}

// MigrationList is a page of status records: Total counts every record
// the filter selects, Next (when more follow) is the cursor of the next page.
type MigrationList struct {
	Migrations []store.StatusRecord `json:"migrations"`
	Total      int                  `json:"total"`
	Next       string               `json:"next,omitempty"`
}

// writeCSV writes records with the cmdlet's column names; new columns go
// last so readers by position keep working. DryRun is there when dry runs
// are listed, so a dry run cannot pass for a real migration.
func writeCSV(c *gin.Context, recs []store.StatusRecord, dryRun bool) {
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	head := []string{"UserId", "State", "MigrationType", "TotalMeeting", "SucceededMeeting", "FailedMeeting",
		"SkippedMeeting", "InvitesUpdate", "RetryCount", "LastMessage", "CorrelationId", "CreateDate", "ModifiedDate",
		"UserPrincipalName"}
	if dryRun {
		head = append(head, "DryRun")
	}
	_ = w.Write(head)
	for _, m := range recs {
		row := []string{m.UserID, string(m.State), string(m.MigrationType), strconv.Itoa(m.TotalMeeting), strconv.Itoa(m.SucceededMeeting),
			strconv.Itoa(m.FailedMeeting), strconv.Itoa(m.SkippedMeeting), strconv.Itoa(m.InvitesUpdate),
			strconv.Itoa(m.RetryCount), m.LastMessage, m.CorrelationID, m.CreateDate.Format(time.RFC3339),
			m.ModifiedDate.Format(time.RFC3339), m.UserPrincipalName}
		if dryRun {
			row = append(row, strconv.FormatBool(m.DryRun))
		}
		_ = w.Write(SafeCSVRow(row))
	}
	w.Flush()
}

// MigrationDetail is a user's latest record with its per-meeting results.
type MigrationDetail struct {
	store.StatusRecord
	Meetings []store.MeetingResult `json:"meetings"`
}

func (s *Server) getMigration(c *gin.Context) {
	tenant, user := c.Param("tenant"), c.Param("user")
	var rec store.StatusRecord
	var err error
	if id := c.Query("correlationId"); id != "" {
		// One record, a dry run's say; it must be this tenant's and user's.
		if rec, err = s.DB.StatusRecord(c.Request.Context(), id); err == nil && (rec.TenantID != tenant || rec.UserID != user) {
			err = store.ErrNotFound
		}
		if errors.Is(err, store.ErrNotFound) {
			abort(c, http.StatusNotFound, "not_found", "no migration "+quote(id)+" for user "+quote(user))
			return
		}
	} else {
		rec, err = s.DB.LatestStatusRecord(c.Request.Context(), tenant, user)
	}
	if errors.Is(err, store.ErrNotFound) {
		if _, uerr := s.DB.User(c.Request.Context(), tenant, user); errors.Is(uerr, store.ErrNotFound) {
			abort(c, http.StatusNotFound, "not_found", "user "+quote(user)+" not found in tenant "+quote(tenant))
			return
		}
		abort(c, http.StatusNotFound, "not_found", "no migration for user "+quote(user)+" yet")
		return
	} else if err != nil {
		s.internal(c, "get migration", err)
		return
	}
	meetings := []store.MeetingResult{}
	switch c.DefaultQuery("meetings", "true") {
	case "true":
		if meetings, err = s.DB.MeetingResults(c.Request.Context(), rec.CorrelationID); err != nil {
			s.internal(c, "meeting results", err)
			return
		}
	case "false": // the record alone, for a client polling progress
	default:
		badRequest(c, fmt.Sprintf("meetings: must be true or false, not %q", c.Query("meetings")))
		return
	}
	c.JSON(http.StatusOK, MigrationDetail{StatusRecord: rec, Meetings: meetings})
}

func (s *Server) internal(c *gin.Context, what string, err error) {
	s.Logger.Error(what, "error", err)
	abort(c, http.StatusInternalServerError, "internal", what+" failed")
}

func intParam(c *gin.Context, name string, def, lo, hi int) (int, error) {
	raw := c.Query(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s: must be an integer between %d and %d, not %q", name, lo, hi, raw)
	}
	return n, nil
}

// CancelRequest is the optional body of POST .../migrations/{user}/cancel;
// the service checks it (intake.Service.Cancel).
type CancelRequest struct {
	Reason string `json:"reason"`
}

// cancelMigration asks the user's workflow to stop: a run stops after its
// current page, a waiting one before it starts; the record ends Failed,
// "cancelled by <token name>".
func (s *Server) cancelMigration(c *gin.Context) {
	var req CancelRequest
	if c.Request.ContentLength != 0 && !bind(c, &req) {
		return
	}
	user := c.Param("user")
	if err := s.Intake.Cancel(c.Request.Context(), c.Param("tenant"), user, token(c).Name, req.Reason); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"status": "cancel requested", "user": user})
}

// retryFailed re-runs only the meetings that failed in the user's latest
// migration, under a new record.
func (s *Server) retryFailed(c *gin.Context) {
	rec, err := s.Intake.RetryFailed(c.Request.Context(), c.Param("tenant"), c.Param("user"), token(c).Name)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, rec)
}
