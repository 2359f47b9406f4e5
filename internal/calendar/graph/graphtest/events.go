package graphtest

import (
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// instance is one item of a calendar view: a single event, an exception,
// or an occurrence of a series master.
type instance struct {
	se         *storedEvent
	id         string
	kind       string
	start, end time.Time
}

const occurrencePrefix = "AAMkOcc"

func occurrenceID(masterID string, start time.Time) string {
	return occurrencePrefix + base64.RawURLEncoding.EncodeToString([]byte(masterID+"|"+start.UTC().Format(time.RFC3339)))
}

func parseOccurrenceID(id string) (string, time.Time, bool) {
	rest, ok := strings.CutPrefix(id, occurrencePrefix)
	if !ok {
		return "", time.Time{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return "", time.Time{}, false
	}
	master, at, ok := strings.Cut(string(raw), "|")
	t, err := time.Parse(time.RFC3339, at)
	return master, t, ok && err == nil
}

// eachStart calls yield with the series' occurrence starts, in order, that
// begin before limit, until yield returns false.
func eachStart(e Event, limit time.Time, yield func(time.Time) bool) {
	r := e.Recurrence
	interval := max(r.Interval, 1)
	n := 0
	emit := func(t time.Time) bool {
		if r.Count > 0 && n >= r.Count {
			return false
		}
		if !r.Until.IsZero() && t.Truncate(24*time.Hour).After(r.Until.Truncate(24*time.Hour)) {
			return false
		}
		if !t.Before(limit) {
			return false
		}
		n++
		return yield(t)
	}
	first := e.Start
	switch r.Type {
	case "daily":
		for t := first; emit(t); t = t.AddDate(0, 0, interval) {
		}
	case "weekly":
		days := slices.Clone(r.DaysOfWeek)
		if len(days) == 0 {
			days = []time.Weekday{first.Weekday()}
		}
		slices.Sort(days)
		week := first.AddDate(0, 0, -int(first.Weekday())) // Sunday of the first week, same time of day
		for w := 0; ; w += interval {
			for _, d := range days {
				t := week.AddDate(0, 0, w*7+int(d))
				if t.Before(first) {
					continue
				}
				if !emit(t) {
					return
				}
			}
		}
	}
}

// isOccurrence: the series has an occurrence starting at t. s.mu held.
func (s *Server) isOccurrence(m *storedEvent, t time.Time) bool {
	found := false
	eachStart(m.ev, t.Add(time.Second), func(x time.Time) bool {
		if x.Equal(t) {
			found = true
		}
		return !found
	})
	return found
}

func (s *Server) exceptionAt(m *storedEvent, t time.Time) *storedEvent {
	for _, e := range s.events {
		if e.masterID == m.id && e.originalStart.Equal(t) {
			return e
		}
	}
	return nil
}

// view lists the mailbox's instances overlapping [from, to), by start. s.mu held.
func (s *Server) view(mailbox string, from, to time.Time) []instance {
	var out []instance
	overlaps := func(st, en time.Time) bool { return st.Before(to) && en.After(from) }
	for _, e := range s.events {
		if e.mailbox != mailbox {
			continue
		}
		switch e.kind {
		case "singleInstance", "exception":
			if overlaps(e.ev.Start, e.ev.End) {
				out = append(out, instance{se: e, id: e.id, kind: e.kind, start: e.ev.Start, end: e.ev.End})
			}
		case "seriesMaster":
			replaced := map[int64]bool{}
			for _, x := range s.events {
				if x.masterID == e.id {
					replaced[x.originalStart.Unix()] = true
				}
			}
			d := e.ev.End.Sub(e.ev.Start)
			eachStart(e.ev, to, func(t time.Time) bool {
				if !replaced[t.Unix()] && overlaps(t, t.Add(d)) {
					out = append(out, instance{se: e, id: occurrenceID(e.id, t), kind: "occurrence", start: t, end: t.Add(d)})
				}
				return true
			})
		}
	}
	slices.SortFunc(out, func(a, b instance) int {
		if c := a.start.Compare(b.start); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return out
}

// find resolves an event or occurrence id in the mailbox. s.mu held.
func (s *Server) find(mailbox, id string) (instance, bool) {
	if e := s.events[id]; e != nil && e.mailbox == mailbox {
		return instance{se: e, id: e.id, kind: e.kind, start: e.ev.Start, end: e.ev.End}, true
	}
	if mid, t, ok := parseOccurrenceID(id); ok {
		m := s.events[mid]
		if m != nil && m.mailbox == mailbox && m.kind == "seriesMaster" && s.isOccurrence(m, t) && s.exceptionAt(m, t) == nil {
			return instance{se: m, id: id, kind: "occurrence", start: t, end: t.Add(m.ev.End.Sub(m.ev.Start))}, true
		}
	}
	return instance{}, false
}

func parseGraphTime(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// handleCalendarView is GET /users/{id}/calendarView.
func (s *Server) handleCalendarView(w http.ResponseWriter, r *http.Request, c *caller) {
	q := r.URL.Query()
	from, ok1 := parseGraphTime(q.Get("startDateTime"))
	to, ok2 := parseGraphTime(q.Get("endDateTime"))
	if !ok1 || !ok2 {
		writeError(w, http.StatusBadRequest, "ErrorInvalidParameter",
			"This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.")
		return
	}
	top, skip := 10, 0
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "BadRequest", "Invalid $top value.")
			return
		}
		top = min(n, s.opts.MaxPageSize)
	}
	if v := q.Get("$skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "BadRequest", "Invalid $skip value.")
			return
		}
		skip = n
	}
	p := readOptions(r)
	s.mu.Lock()
	all := s.view(c.user.key(), from, to)
	page := all[min(skip, len(all)):min(skip+top, len(all))]
	items := make([]map[string]any, 0, len(page))
	for _, in := range page {
		items = append(items, s.render(c.user, in, p))
	}
	s.mu.Unlock()
	resp := map[string]any{
		"@odata.context": s.baseURL(r) + "/$metadata#users('" + url.PathEscape(r.PathValue("user")) + "')/calendarView",
		"value":          items,
	}
	if skip+top < len(all) {
		q.Set("$skip", strconv.Itoa(skip+top))
		q.Set("$top", strconv.Itoa(top))
		resp["@odata.nextLink"] = s.baseURL(r) + strings.TrimPrefix(r.URL.Path, "/v1.0") + "?" + q.Encode()
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleGetEvent is GET /users/{id}/events/{id}.
func (s *Server) handleGetEvent(w http.ResponseWriter, r *http.Request, c *caller) {
	p := readOptions(r)
	s.mu.Lock()
	in, ok := s.find(c.user.key(), r.PathValue("id"))
	var out map[string]any
	if ok {
		out = s.render(c.user, in, p)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// readOnly are event properties a PATCH may not set.
var readOnly = map[string]bool{"id": true, "@odata.etag": true, "changekey": true, "type": true, "seriesmasterid": true,
	"isorganizer": true, "onlinemeeting": true, "createddatetime": true, "lastmodifieddatetime": true, "icaluid": true,
	"organizer": false}

// handlePatchEvent is PATCH /users/{id}/events/{id} with If-Match.
func (s *Server) handlePatchEvent(w http.ResponseWriter, r *http.Request, c *caller) {
	var patch map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&patch); err != nil {
		writeError(w, http.StatusBadRequest, "RequestBodyRead", "Cannot read the request body: "+err.Error())
		return
	}
	var body *struct {
		ContentType string `json:"contentType"`
		Content     string `json:"content"`
	}
	var props []struct {
		ID    string `json:"id"`
		Value string `json:"value"`
	}
	var subject *string
	for k, v := range patch {
		var err error
		switch strings.ToLower(k) {
		case "body":
			err = json.Unmarshal(v, &body)
		case "singlevalueextendedproperties":
			err = json.Unmarshal(v, &props)
		case "subject":
			err = json.Unmarshal(v, &subject)
		default:
			if readOnly[strings.ToLower(k)] {
				writeError(w, http.StatusBadRequest, "ErrorInvalidPropertyForOperation",
					"The property '"+k+"' is read-only and cannot be set.")
				return
			}
			writeError(w, http.StatusBadRequest, "ErrorInvalidRequest", "The emulator does not update '"+k+"'.")
			return
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "RequestBodyRead", "Invalid value for '"+k+"'.")
			return
		}
	}
	if body != nil && !strings.EqualFold(body.ContentType, "html") && !strings.EqualFold(body.ContentType, "text") {
		writeError(w, http.StatusBadRequest, "RequestBodyRead", "Invalid body contentType.")
		return
	}
	p := readOptions(r)
	s.mu.Lock()
	in, ok := s.find(c.user.key(), r.PathValue("id"))
	if !ok {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
		return
	}
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && m != in.se.etag() {
		s.mu.Unlock()
		writeError(w, http.StatusPreconditionFailed, "ErrorIrresolvableConflict",
			"The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.")
		return
	}
	e := in.se
	if in.kind == "occurrence" { // patching an occurrence makes it an exception
		e = s.materialize(in.se, in.start)
		in = instance{se: e, id: e.id, kind: e.kind, start: e.ev.Start, end: e.ev.End}
	}
	if body != nil {
		e.ev.Body, e.ev.BodyType = body.Content, strings.ToLower(body.ContentType)
	}
	if subject != nil {
		e.ev.Subject = *subject
	}
	for _, pr := range props {
		e.props[propKey(pr.ID)] = extProp{id: pr.ID, value: pr.Value}
	}
	now := s.now()
	e.bump(now)
	e.writes++
	if c.user.owns(e.ev.Organizer) {
		// Graph sends the organizer's change to every attendee.
		for _, a := range e.ev.Attendees {
			if c.user.owns(a.Address) {
				continue
			}
			s.notifications = append(s.notifications, Notification{EventID: e.id, Mailbox: c.user.Address,
				From: e.ev.Organizer, To: a.Address, Subject: e.ev.Subject, At: now})
		}
	}
	p.sel = nil
	out := s.render(c.user, in, p)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// readOpts are a read's $select, $expand and Prefer options.
type readOpts struct {
	sel       map[string]bool // nil: all
	expand    bool
	propIDs   []string // nil with expand: every property
	wantHTML  bool
	selectRaw string
}

var filterID = regexp.MustCompile(`(?i)id\s+eq\s+'([^']*)'`)

func readOptions(r *http.Request) readOpts {
	q := r.URL.Query()
	p := readOpts{wantHTML: true, selectRaw: q.Get("$select")}
	if v := strings.TrimSpace(q.Get("$select")); v != "" {
		p.sel = map[string]bool{}
		for _, f := range strings.Split(v, ",") {
			p.sel[strings.ToLower(strings.TrimSpace(f))] = true
		}
	}
	if v := q.Get("$expand"); strings.HasPrefix(strings.ToLower(v), "singlevalueextendedproperties") {
		p.expand = true
		for _, m := range filterID.FindAllStringSubmatch(v, -1) {
			p.propIDs = append(p.propIDs, m[1])
		}
	}
	for _, h := range r.Header.Values("Prefer") {
		for _, part := range strings.Split(h, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			if strings.EqualFold(k, "outlook.body-content-type") {
				p.wantHTML = !strings.EqualFold(strings.Trim(v, `"`), "text")
			}
		}
	}
	return p
}

func graphTime(t time.Time) map[string]string {
	return map[string]string{"dateTime": t.UTC().Format("2006-01-02T15:04:05.0000000"), "timeZone": "UTC"}
}

func emailAddress(name, address string) map[string]any {
	return map[string]any{"emailAddress": map[string]string{"name": name, "address": address}}
}

// render is the Graph representation of an instance. s.mu held.
func (s *Server) render(u *user, in instance, p readOpts) map[string]any {
	e := in.se
	ev := e.ev
	bodyType, content := ev.BodyType, ev.Body
	switch {
	case p.wantHTML && bodyType == "text":
		bodyType, content = "html", textToHTML(content)
	case !p.wantHTML && bodyType == "html":
		bodyType, content = "text", htmlToText(content)
	}
	attendees := make([]map[string]any, 0, len(ev.Attendees))
	for _, a := range ev.Attendees {
		typ := a.Type
		if typ == "" {
			typ = "required"
		}
		m := emailAddress(a.Name, a.Address)
		m["type"] = typ
		m["status"] = map[string]string{"response": "none", "time": "0001-01-01T00:00:00Z"}
		attendees = append(attendees, m)
	}
	var master any
	if e.kind == "exception" || in.kind == "occurrence" {
		master = e.masterID
		if in.kind == "occurrence" {
			master = e.id
		}
	}
	var recurrence any
	if in.kind == "seriesMaster" && ev.Recurrence != nil {
		recurrence = renderRecurrence(ev)
	}
	provider := "unknown"
	var online any
	if ev.IsOnlineMeeting {
		if ev.Provider != "" {
			provider = ev.Provider
		}
		om := map[string]any{"joinUrl": ev.JoinURL}
		if ev.ConferenceID != "" {
			om["conferenceId"] = ev.ConferenceID
		}
		online = om
	}
	etag := e.etag()
	full := map[string]any{
		"@odata.etag":           etag,
		"id":                    in.id,
		"createdDateTime":       e.created.UTC().Format(time.RFC3339Nano),
		"lastModifiedDateTime":  e.modified.UTC().Format(time.RFC3339Nano),
		"changeKey":             strings.TrimSuffix(strings.TrimPrefix(etag, `W/"`), `"`),
		"subject":               ev.Subject,
		"body":                  map[string]string{"contentType": bodyType, "content": content},
		"importance":            "normal",
		"sensitivity":           "normal",
		"isAllDay":              false,
		"isCancelled":           false,
		"isOrganizer":           u.owns(ev.Organizer),
		"responseRequested":     true,
		"showAs":                "busy",
		"type":                  in.kind,
		"seriesMasterId":        master,
		"start":                 graphTime(in.start),
		"end":                   graphTime(in.end),
		"recurrence":            recurrence,
		"attendees":             attendees,
		"organizer":             emailAddress(ev.OrganizerName, ev.Organizer),
		"isOnlineMeeting":       ev.IsOnlineMeeting,
		"onlineMeetingProvider": provider,
		"onlineMeeting":         online,
		"onlineMeetingUrl":      nil,
		"location":              map[string]any{"displayName": ""},
	}
	// The preview strips the whole body of its markup: only when asked
	// for (mms never does). It was most of the emulator's CPU per request,
	// which shares the machine with the service in mms bench.
	if p.sel == nil || p.sel["bodypreview"] {
		full["bodyPreview"] = preview(htmlToText(ev.Body))
	}
	out := full
	if p.sel != nil {
		out = selectFields(full, p.selectRaw)
	}
	if p.expand {
		var props []map[string]string
		for _, pr := range e.props {
			if p.propIDs == nil || slices.ContainsFunc(p.propIDs, func(id string) bool { return propKey(id) == propKey(pr.id) }) {
				props = append(props, map[string]string{"id": pr.id, "value": pr.value})
			}
		}
		slices.SortFunc(props, func(a, b map[string]string) int { return strings.Compare(a["id"], b["id"]) })
		if len(props) > 0 {
			out["singleValueExtendedProperties"] = props
		}
	}
	return out
}

var weekdays = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

func renderRecurrence(ev Event) map[string]any {
	r := ev.Recurrence
	pattern := map[string]any{"type": r.Type, "interval": max(r.Interval, 1), "month": 0, "dayOfMonth": 0,
		"firstDayOfWeek": "sunday", "index": "first"}
	if r.Type == "weekly" {
		days := r.DaysOfWeek
		if len(days) == 0 {
			days = []time.Weekday{ev.Start.Weekday()}
		}
		var names []string
		for _, d := range days {
			names = append(names, weekdays[d])
		}
		pattern["daysOfWeek"] = names
	}
	rng := map[string]any{"type": "noEnd", "startDate": ev.Start.UTC().Format("2006-01-02"), "endDate": "0001-01-01",
		"recurrenceTimeZone": "UTC", "numberOfOccurrences": 0}
	switch {
	case r.Count > 0:
		rng["type"], rng["numberOfOccurrences"] = "numbered", r.Count
	case !r.Until.IsZero():
		rng["type"], rng["endDate"] = "endDate", r.Until.UTC().Format("2006-01-02")
	}
	return map[string]any{"pattern": pattern, "range": rng}
}

// textToHTML wraps a plain-text body the way Exchange serves it as HTML.
func textToHTML(t string) string {
	esc := strings.ReplaceAll(html.EscapeString(t), "\r\n", "\n")
	esc = strings.ReplaceAll(esc, "\n", "<br>\r\n")
	return "<html>\r\n<head>\r\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\r\n</head>\r\n<body>\r\n" +
		"<div class=\"PlainText\">" + esc + "</div>\r\n</body>\r\n</html>\r\n"
}

var tags = regexp.MustCompile(`(?s)<[^>]*>`)

// htmlToText is a minimal conversion for text reads and previews.
func htmlToText(h string) string {
	h = strings.NewReplacer("<br>", "\n", "<br/>", "\n", "<br />", "\n", "</p>", "\n", "</div>", "\n").Replace(h)
	return strings.TrimSpace(html.UnescapeString(tags.ReplaceAllString(h, "")))
}

func preview(t string) string {
	t = strings.Join(strings.Fields(t), " ")
	if r := []rune(t); len(r) > 255 {
		return string(r[:255])
	}
	return t
}

// propKey identifies an extended property: the type and property set are
// case-insensitive, the string Name is case-sensitive, as Graph documents.
func propKey(id string) string {
	head, name, ok := strings.Cut(id, " Name ")
	if !ok {
		return strings.ToLower(id)
	}
	return strings.ToLower(head) + " Name " + name
}
