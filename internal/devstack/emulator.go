package devstack

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/graph/graphtest"
	"github.com/openmms/mms/internal/calendar/router"
	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/store"
)

// Calendar back ends of the dev stack.
const (
	CalendarSandbox       = "sandbox"
	CalendarGraphEmulator = "graph-emulator"
)

// emulatorApp is the app registration the dev stack's Graph tenants use.
const emulatorApp, emulatorSecret = "mms-dev", "mms-dev-secret"

// startEmulator serves the Graph emulator on a loopback port and mirrors
// every sandbox mailbox of the tenants into it: the same demo, reached over
// Graph's HTTP API with its tokens, paging, etags and limits. The emulator
// keeps its state in memory, so each start begins from the sandbox's data.
func (s *Stack) startEmulator(ctx context.Context, cfg Config, tenants []string) (router.Config, error) {
	ln, err := net.Listen("tcp", cfg.GraphEmulatorAddr)
	if err != nil {
		return router.Config{}, fmt.Errorf("graph emulator address %s: %w", cfg.GraphEmulatorAddr, unwrapSyscall(err))
	}
	root := "http://" + ln.Addr().String()
	s.Emulator = graphtest.New(graphtest.Options{Latency: cfg.GraphLatency, BaseURL: graphtest.GraphURL(root), Strict: cfg.GraphStrict})
	s.EmulatorURL = root
	s.emuHTTP = &http.Server{Handler: s.Emulator, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.emuHTTP.Serve(ln) }()

	out := router.Config{Default: router.Sandbox, Tenants: map[string]router.Tenant{}}
	for _, tenant := range tenants {
		azure := tenant + ".onmicrosoft.com"
		s.Emulator.AddApp(azure, emulatorApp, emulatorSecret)
		if err := mirror(ctx, s.DB, s.Sandbox, s.Emulator, tenant, azure); err != nil {
			return out, fmt.Errorf("graph emulator: %w", err)
		}
		out.Tenants[tenant] = router.Tenant{Backend: router.Graph, Graph: &router.GraphTenant{
			AzureTenantID: azure, ClientID: emulatorApp, ClientSecret: emulatorSecret,
			BaseURL: graphtest.GraphURL(root), TokenURL: graphtest.TokenURL(root, azure)}}
	}
	return out, nil
}

// mirror copies a tenant's sandbox mailboxes and their items into the
// emulator; exceptions become exceptions of their mirrored series.
func mirror(ctx context.Context, db *store.DB, sb *sandbox.Backend, emu *graphtest.Server, tenant, azure string) error {
	users, err := db.Users(ctx, tenant)
	if err != nil {
		return err
	}
	for _, u := range users {
		if err := mirrorMailbox(ctx, sb, emu, tenant, azure, u.ID); err != nil {
			return err
		}
	}
	return nil
}

// mirrorMailbox copies one user's sandbox mailbox, if any, into the emulator.
func mirrorMailbox(ctx context.Context, sb *sandbox.Backend, emu *graphtest.Server, tenant, azure, user string) error {
	mb, err := sb.Mailbox(ctx, tenant, user)
	if err != nil {
		return nil // in the directory without a mailbox: so it stays
	}
	emu.AddUser(azure, mb.Address, mb.DisplayName, !mb.Online)
	meetings, err := sb.Meetings(ctx, tenant, mb.Address)
	if err != nil {
		return err
	}
	masters := map[string]string{}          // sandbox id -> emulator id
	series := map[string]calendar.Meeting{} // sandbox id -> master
	for _, m := range meetings {
		if m.Kind == calendar.KindException {
			continue
		}
		id, err := emu.AddEvent(mb.Address, emulatorEvent(m))
		if err != nil {
			return err
		}
		masters[m.ID], series[m.ID] = id, m
	}
	for _, m := range meetings {
		master, ok := series[m.SeriesMasterID]
		if m.Kind != calendar.KindException || !ok {
			continue
		}
		ex := emulatorEvent(m)
		if _, err := emu.AddException(masters[m.SeriesMasterID], originalStart(master, m.Start), func(e *graphtest.Event) {
			e.Subject, e.Start, e.End, e.Body, e.BodyType = ex.Subject, ex.Start, ex.End, ex.Body, ex.BodyType
		}); err != nil {
			return err
		}
	}
	return nil
}

func emulatorEvent(m calendar.Meeting) graphtest.Event {
	e := graphtest.Event{Subject: m.Subject, Organizer: m.Organizer, Start: m.Start, End: m.End, Body: m.Body,
		BodyType: m.BodyType, Recurrence: recurrence(m)}
	for _, a := range m.Attendees {
		e.Attendees = append(e.Attendees, graphtest.Attendee{Address: a.Address, Name: a.Name})
	}
	if om := m.OnlineMeeting; om != nil {
		e.IsOnlineMeeting, e.Provider, e.JoinURL, e.ConferenceID = true, om.Provider, om.JoinURL, om.ConferenceID
		if om.Provider == calendar.ProviderThirdParty {
			e.Provider = "unknown"
		}
	}
	return e
}

var weekdays = map[string]time.Weekday{"SU": time.Sunday, "MO": time.Monday, "TU": time.Tuesday,
	"WE": time.Wednesday, "TH": time.Thursday, "FR": time.Friday, "SA": time.Saturday}

// recurrence reads the sandbox's RRULE subset (FREQ, INTERVAL, BYDAY,
// COUNT) with the series end; nil for a single item.
func recurrence(m calendar.Meeting) *graphtest.Recurrence {
	if m.Kind != calendar.KindSeriesMaster || m.Recurrence == "" {
		return nil
	}
	r := &graphtest.Recurrence{Type: "weekly", Interval: 1, Until: m.SeriesEnd}
	for part := range strings.SplitSeq(m.Recurrence, ";") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "FREQ":
			r.Type = strings.ToLower(v)
		case "INTERVAL":
			r.Interval, _ = strconv.Atoi(v)
		case "COUNT":
			r.Count, _ = strconv.Atoi(v)
		case "BYDAY":
			for d := range strings.SplitSeq(v, ",") {
				r.DaysOfWeek = append(r.DaysOfWeek, weekdays[d])
			}
		}
	}
	if r.Type == "weekly" && len(r.DaysOfWeek) == 0 {
		r.DaysOfWeek = []time.Weekday{m.Start.Weekday()}
	}
	return r
}

// originalStart is the occurrence of the series an exception replaces: the
// last one starting on or before the exception's day (a moved meeting stays
// in its week), at the series' time of day.
func originalStart(master calendar.Meeting, exStart time.Time) time.Time {
	r := recurrence(master)
	y, m, d := exStart.UTC().Date()
	end := time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
	last := master.Start
	for day := master.Start; day.Before(end); day = day.AddDate(0, 0, 1) {
		if r == nil || r.Type != "weekly" || containsDay(r.DaysOfWeek, day.Weekday()) {
			last = day
		}
	}
	return last
}

func containsDay(days []time.Weekday, d time.Weekday) bool {
	for _, x := range days {
		if x == d {
			return true
		}
	}
	return false
}
