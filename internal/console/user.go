package console

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// RefreshSeconds is how often a running migration's page reloads itself.
const RefreshSeconds = 2

// userView is one user's migration: the record (the latest real one, or
// the run asked for), its progress, its meetings, and the user's runs.
type userView struct {
	User   string
	Record *store.StatusRecord
	// Percent and ETA: the run's progress, when the back end counted its
	// meetings (ExpectedMeeting > 0); ETA is empty until a rate is known.
	Percent  int
	ETA      string
	Running  bool
	Meetings []meetingView
	Runs     []store.StatusRecord
}

type meetingView struct {
	store.MeetingResult
	Diff []diffRow
}

// user shows a user's migration. ?run=<correlation ID> shows one run (a
// dry run's, say), which must be this tenant's and this user's.
func (c *Console) user(w http.ResponseWriter, r *http.Request, s *sess) {
	user, err := migration.ParseUserID(r.PathValue("user"))
	if err != nil {
		c.fail(w, r, s, http.StatusBadRequest, "user: "+err.Error())
		return
	}
	ctx := r.Context()
	if _, err := c.db.User(ctx, s.Tenant.ID, user); errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, s, http.StatusNotFound, "user "+quote(user)+" not found in tenant "+quote(s.Tenant.ID))
		return
	} else if err != nil {
		c.internal(w, r, s, "user lookup", err)
		return
	}
	v := userView{User: user}
	var rec store.StatusRecord
	if id := r.URL.Query().Get("run"); id != "" {
		rec, err = c.db.StatusRecord(ctx, id)
		if err == nil && (rec.TenantID != s.Tenant.ID || rec.UserID != user) {
			err = store.ErrNotFound
		}
		if errors.Is(err, store.ErrNotFound) {
			c.fail(w, r, s, http.StatusNotFound, "run: no migration "+quote(id)+" for user "+quote(user))
			return
		}
	} else {
		rec, err = c.db.LatestStatusRecord(ctx, s.Tenant.ID, user)
	}
	switch {
	case errors.Is(err, store.ErrNotFound): // no migration yet: the page offers to start one
	case err != nil:
		c.internal(w, r, s, "get migration", err)
		return
	default:
		v.Record = &rec
		v.Running = rec.State == migration.StatePending || rec.State == migration.StateInProgress
		v.Percent, v.ETA = progress(rec, c.now())
		results, err := c.db.MeetingResults(ctx, rec.CorrelationID)
		if err != nil {
			c.internal(w, r, s, "meeting results", err)
			return
		}
		for _, m := range results {
			v.Meetings = append(v.Meetings, meetingView{MeetingResult: m, Diff: sideBySide(m.Diff)})
		}
	}
	if v.Runs, err = c.db.StatusRecords(ctx, s.Tenant.ID, store.Filter{UserID: user, DryRun: true, Limit: 20}); err != nil {
		c.internal(w, r, s, "list runs", err)
		return
	}
	var opts []func(*page)
	if v.Running {
		opts = append(opts, func(p *page) { p.Refresh = RefreshSeconds })
	}
	c.render(w, r, s, http.StatusOK, "user", user, v, opts...)
}

// progress is the share of the counted meetings that have an outcome, and
// the time left at the rate so far. The rate is measured from the record's
// creation, which for a run that waited a quiet period includes the wait:
// the ETA is then pessimistic, never optimistic.
func progress(rec store.StatusRecord, now time.Time) (int, string) {
	if rec.ExpectedMeeting <= 0 {
		return 0, ""
	}
	done := min(rec.ProcessedMeeting, rec.ExpectedMeeting)
	pct := done * 100 / rec.ExpectedMeeting
	if rec.State != migration.StateInProgress || done == 0 || done == rec.ExpectedMeeting {
		return pct, ""
	}
	elapsed := now.Sub(rec.CreateDate)
	if elapsed <= 0 {
		return pct, ""
	}
	left := time.Duration(float64(elapsed) * float64(rec.ExpectedMeeting-done) / float64(done))
	return pct, "about " + left.Round(time.Second).String()
}

// start starts a migration or, with mode=dryrun, a dry run; the service
// checks the form's values.
func (c *Console) start(w http.ResponseWriter, r *http.Request, s *sess) {
	f := r.PostForm
	req := intake.Request{User: r.PathValue("user"), Source: migration.Source(f.Get("sourceMeetingType")),
		Target: migration.Target(f.Get("targetMeetingType"))}
	if raw := f.Get("quietPeriodSeconds"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			c.fail(w, r, s, http.StatusBadRequest, "quietPeriodSeconds: must be an integer, not "+quote(raw))
			return
		}
		req.QuietPeriodSeconds = &n
	}
	run := c.intake.Start
	dry := f.Get("mode") == "dryrun"
	if dry {
		run = c.intake.DryRun
	}
	rec, err := run(r.Context(), s.Tenant.ID, s.Tok.Name, req)
	if err != nil {
		c.intakeFailed(w, r, s, err)
		return
	}
	to := tenantPath(s.Tenant.ID, "/users/"+pathEscape(rec.UserID))
	if dry {
		to += "?run=" + rec.CorrelationID
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (c *Console) cancel(w http.ResponseWriter, r *http.Request, s *sess) {
	user := r.PathValue("user")
	if err := c.intake.Cancel(r.Context(), s.Tenant.ID, user, s.Tok.Name, r.PostForm.Get("reason")); err != nil {
		c.intakeFailed(w, r, s, err)
		return
	}
	canon, _ := migration.ParseUserID(user) // Cancel accepted it
	http.Redirect(w, r, tenantPath(s.Tenant.ID, "/users/"+pathEscape(canon)), http.StatusSeeOther)
}

func (c *Console) retryFailed(w http.ResponseWriter, r *http.Request, s *sess) {
	rec, err := c.intake.RetryFailed(r.Context(), s.Tenant.ID, r.PathValue("user"), s.Tok.Name)
	if err != nil {
		c.intakeFailed(w, r, s, err)
		return
	}
	http.Redirect(w, r, tenantPath(s.Tenant.ID, "/users/"+pathEscape(rec.UserID)), http.StatusSeeOther)
}
