package console

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openmms/mms/api"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// tenants lists the tenants a token bound to none may open.
func (c *Console) tenants(w http.ResponseWriter, r *http.Request, s *sess) {
	if s.Tok.TenantID != "" {
		http.Redirect(w, r, tenantPath(s.Tok.TenantID, "/"), http.StatusSeeOther)
		return
	}
	all, err := c.db.Tenants(r.Context())
	if err != nil {
		c.internal(w, r, s, "list tenants", err)
		return
	}
	c.render(w, r, s, http.StatusOK, "tenants", "Tenants", all)
}

// summaryView is the -SummaryOnly table: users by state (rows) and by
// their latest migration's type (columns).
type summaryView struct {
	Types  []migration.Type
	Rows   []summaryRow
	Totals []int
	Total  int
}

type summaryRow struct {
	State  migration.State
	Counts []int
	Total  int
}

func (c *Console) summary(w http.ResponseWriter, r *http.Request, s *sess) {
	byType, err := c.db.SummaryByType(r.Context(), s.Tenant.ID, store.Filter{})
	if err != nil {
		c.internal(w, r, s, "summary", err)
		return
	}
	v := summaryView{Types: migration.Types, Totals: make([]int, len(migration.Types))}
	for _, st := range migration.States {
		row := summaryRow{State: st}
		for i, typ := range migration.Types {
			n := byType[typ][st]
			row.Counts = append(row.Counts, n)
			row.Total += n
			v.Totals[i] += n
		}
		v.Total += row.Total
		v.Rows = append(v.Rows, row)
	}
	c.render(w, r, s, http.StatusOK, "summary", "Summary", v)
}

// listFilter is the migrations listing's form, as submitted.
type listFilter struct {
	State, Type, User, Start, End string
	DryRun                        bool
}

// parseFilter reads the listing's form; a bad value is a 400 naming the
// field, as the API's.
func parseFilter(q url.Values) (listFilter, store.Filter, error) {
	lf := listFilter{State: q.Get("state"), Type: q.Get("type"), User: strings.TrimSpace(q.Get("user")),
		Start: q.Get("start"), End: q.Get("end"), DryRun: q.Get("dryRun") == "true"}
	f := store.Filter{State: migration.State(lf.State), MigrationType: migration.Type(lf.Type), DryRun: lf.DryRun}
	if f.State != "" && !slices.Contains(migration.States, f.State) {
		return lf, f, fmt.Errorf("state: must be one of %v, not %q", migration.States, f.State)
	}
	if f.MigrationType != "" && !slices.Contains(migration.Types, f.MigrationType) {
		return lf, f, fmt.Errorf("type: must be one of %v, not %q", migration.Types, f.MigrationType)
	}
	if lf.User != "" {
		canon, err := migration.ParseUserID(lf.User)
		if err != nil {
			return lf, f, fmt.Errorf("user: %v", err)
		}
		f.UserID = canon
	}
	for _, p := range []struct {
		name, raw string
		dst       *time.Time
	}{{"start", lf.Start, &f.Start}, {"end", lf.End, &f.End}} {
		if p.raw == "" {
			continue
		}
		t, err := parseTime(p.raw)
		if err != nil {
			return lf, f, fmt.Errorf("%s: must be a UTC time such as 2026-11-23T08:00, not %q", p.name, p.raw)
		}
		*p.dst = t
	}
	if !f.Start.IsZero() && !f.End.IsZero() && !f.Start.Before(f.End) {
		return lf, f, errors.New("start: must be before end")
	}
	if raw := q.Get("offset"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 || n > 1<<30 {
			return lf, f, fmt.Errorf("offset: must be an integer between 0 and %d, not %q", 1<<30, raw)
		}
		f.Offset = n
	}
	return lf, f, nil
}

// parseTime reads what a datetime-local input sends (taken as UTC, as the
// form says) or an RFC 3339 time.
func parseTime(raw string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.Parse(layout, raw); err == nil && !t.IsZero() {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("bad time")
}

type listView struct {
	Filter  listFilter
	Records []store.StatusRecord
	Total   int
	From    int
	// Prev and Next are the query strings of the neighbouring pages ("" if none).
	Prev, Next string
	CSV        string
}

func (c *Console) migrations(w http.ResponseWriter, r *http.Request, s *sess) {
	lf, f, err := parseFilter(r.URL.Query())
	if err != nil {
		c.fail(w, r, s, http.StatusBadRequest, err.Error())
		return
	}
	if r.URL.Query().Get("format") == "csv" {
		c.csv(w, r, s, f)
		return
	}
	v, err := c.list(r, s, f)
	if err != nil {
		c.internal(w, r, s, "list migrations", err)
		return
	}
	v.Filter = lf
	c.render(w, r, s, http.StatusOK, "migrations", "Migrations", v)
}

// list reads one page of records and the links to its neighbours.
func (c *Console) list(r *http.Request, s *sess, f store.Filter) (listView, error) {
	f.Limit = PageSize
	recs, err := c.db.StatusRecords(r.Context(), s.Tenant.ID, f)
	if err != nil {
		return listView{}, err
	}
	total, err := c.db.CountStatusRecords(r.Context(), s.Tenant.ID, f)
	if err != nil {
		return listView{}, err
	}
	v := listView{Records: recs, Total: total, From: f.Offset + 1}
	q := r.URL.Query()
	q.Del("format")
	at := func(offset int) string {
		q.Set("offset", strconv.Itoa(offset))
		return "?" + q.Encode()
	}
	if f.Offset > 0 {
		v.Prev = at(max(0, f.Offset-PageSize))
	}
	if f.Offset+len(recs) < total {
		v.Next = at(f.Offset + len(recs))
	}
	q.Del("offset")
	q.Set("format", "csv")
	v.CSV = "?" + q.Encode()
	return v, nil
}

// csv downloads every record the filter selects (not only one page), with
// the cmdlet's columns as the API's CSV has them, each cell neutralised
// against spreadsheet formulas (api.SafeCSVRow). It streams page by page.
func (c *Console) csv(w http.ResponseWriter, r *http.Request, s *sess, f store.Filter) {
	// Pages of 5,000: few offset walks, a few MB at a time.
	f.Limit, f.Offset = 5000, 0
	first, err := c.db.StatusRecords(r.Context(), s.Tenant.ID, f)
	if err != nil {
		c.internal(w, r, s, "list migrations", err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+s.Tenant.ID+`-migrations.csv"`)
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	// The API's columns; DryRun last when dry runs are listed, so a dry run
	// cannot pass for a real migration.
	head := []string{"UserId", "State", "MigrationType", "TotalMeeting", "SucceededMeeting", "FailedMeeting",
		"SkippedMeeting", "InvitesUpdate", "RetryCount", "LastMessage", "CorrelationId", "CreateDate", "ModifiedDate",
		"UserPrincipalName"}
	if f.DryRun {
		head = append(head, "DryRun")
	}
	_ = cw.Write(head)
	for recs := first; len(recs) > 0; {
		for _, m := range recs {
			row := []string{m.UserID, string(m.State), string(m.MigrationType),
				strconv.Itoa(m.TotalMeeting), strconv.Itoa(m.SucceededMeeting), strconv.Itoa(m.FailedMeeting),
				strconv.Itoa(m.SkippedMeeting), strconv.Itoa(m.InvitesUpdate), strconv.Itoa(m.RetryCount), m.LastMessage,
				m.CorrelationID, m.CreateDate.Format(time.RFC3339), m.ModifiedDate.Format(time.RFC3339), m.UserPrincipalName}
			if f.DryRun {
				row = append(row, strconv.FormatBool(m.DryRun))
			}
			_ = cw.Write(api.SafeCSVRow(row))
		}
		if len(recs) < f.Limit {
			break
		}
		f.Offset += len(recs)
		if recs, err = c.db.StatusRecords(r.Context(), s.Tenant.ID, f); err != nil {
			// The status line is sent: the truncation shows as a last line.
			c.logger.Error("console csv", "error", err)
			_ = cw.Write([]string{"# truncated: list migrations failed"})
			break
		}
	}
	cw.Flush()
}

// failed lists the Failed records, newest first, with their last message
// and a retry-failed button for tokens that may operate.
func (c *Console) failed(w http.ResponseWriter, r *http.Request, s *sess) {
	q := r.URL.Query()
	q.Set("state", string(migration.StateFailed))
	_, f, err := parseFilter(url.Values{"state": {q.Get("state")}, "offset": {q.Get("offset")}})
	if err != nil {
		c.fail(w, r, s, http.StatusBadRequest, err.Error())
		return
	}
	v, err := c.list(r, s, f)
	if err != nil {
		c.internal(w, r, s, "list failed migrations", err)
		return
	}
	c.render(w, r, s, http.StatusOK, "failed", "Failed users", v)
}

// EventLimit bounds the event log's page: the newest events.
const EventLimit = 200

type eventsView struct {
	User   string
	Events []store.Event
	Limit  int
}

func (c *Console) events(w http.ResponseWriter, r *http.Request, s *sess) {
	v := eventsView{User: strings.TrimSpace(r.URL.Query().Get("user")), Limit: EventLimit}
	user := v.User
	if user != "" {
		canon, err := migration.ParseUserID(user)
		if err != nil {
			c.fail(w, r, s, http.StatusBadRequest, "user: "+err.Error())
			return
		}
		user = canon
	}
	var err error
	if v.Events, err = c.db.Events(r.Context(), s.Tenant.ID, user, EventLimit); err != nil {
		c.internal(w, r, s, "list events", err)
		return
	}
	c.render(w, r, s, http.StatusOK, "events", "Event log", v)
}

// findUser sends the "open a user" form to the user's page.
func (c *Console) findUser(w http.ResponseWriter, r *http.Request, s *sess) {
	canon, err := migration.ParseUserID(strings.TrimSpace(r.URL.Query().Get("user")))
	if err != nil {
		c.fail(w, r, s, http.StatusBadRequest, "user: "+err.Error())
		return
	}
	http.Redirect(w, r, tenantPath(s.Tenant.ID, "/users/"+pathEscape(canon)), http.StatusSeeOther)
}
