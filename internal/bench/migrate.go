package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/devstack"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/workflows"
)

// throughput: N organizers x M meetings migrated at once, from the first
// trigger to the last record Succeeded.
func (r *runner) throughput(ctx context.Context) error {
	st, err := r.sandbox(ctx)
	if err != nil {
		return err
	}
	r.latency.SetDelay(0)
	n, m := r.o.Organizers, r.o.Meetings
	var wall, mps, wps, cpu, rss []float64
	for run := range r.o.ThroughputRuns {
		tenant := fmt.Sprintf("bench-tp-%d", r.next())
		r.progress("throughput run %d: seeding %d organizers x %d meetings", run+1, n, m)
		seedStart := time.Now()
		users, err := sandbox.SeedBulk(ctx, st.DB, sandbox.BulkOptions{Tenant: tenant, Users: n, Meetings: m}, time.Now())
		if err != nil {
			return err
		}
		r.progress("seeded in %s; migrating", time.Since(seedStart).Round(time.Millisecond))
		resetPeakRSS()
		cpu0, start := cpuSeconds(), time.Now()
		if err := r.trigger(ctx, st, tenant, users, r.o.TriggerClients); err != nil {
			return err
		}
		if err := waitAll(ctx, st.DB, tenant, n, 250*time.Millisecond, 30*time.Minute); err != nil {
			return err
		}
		took := time.Since(start).Seconds()
		wall, cpu, rss = append(wall, took), append(cpu, cpuSeconds()-cpu0), append(rss, peakRSSMiB())
		mps, wps = append(mps, float64(n*m)/took), append(wps, float64(n)/took)
		if err := checkMigrated(ctx, st.DB, tenant, n, m); err != nil {
			return err
		}
	}
	p := fmt.Sprintf("throughput_%dx%d", n, m)
	if n == 1000 && m == 100 {
		r.addTarget(p+"_wall", "s", "<= 120 s", func(v float64) bool { return v <= 120 }, wall...)
	} else {
		r.add(p+"_wall", "s", wall...)
	}
	r.add(p+"_meetings_per_s", "meetings/s", mps...)
	r.add(p+"_workflows_per_s", "workflows/s", wps...)
	r.add(p+"_cpu", "s", cpu...)
	r.add(p+"_cpu_per_wall", "cores", ratios(cpu, wall)...)
	r.add(p+"_peak_rss", "MiB", rss...)
	return nil
}

func ratios(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] / b[i]
	}
	return out
}

// migrateOne triggers one user's migration and waits for its record to be
// final; it returns the wall time.
func (r *runner) migrateOne(ctx context.Context, st *devstack.Stack, tenant, user string) (time.Duration, store.StatusRecord, error) {
	start := time.Now()
	if err := r.trigger(ctx, st, tenant, []string{user}, 1); err != nil {
		return 0, store.StatusRecord{}, err
	}
	for {
		rec, err := st.DB.LatestStatusRecord(ctx, tenant, user)
		if err == nil && (rec.State == migration.StateSucceeded || rec.State == migration.StateFailed) {
			took := time.Since(start)
			if rec.State == migration.StateFailed {
				return took, rec, fmt.Errorf("%s: Failed: %s", user, rec.LastMessage)
			}
			return took, rec, nil
		}
		if time.Since(start) > 30*time.Minute {
			return 0, rec, fmt.Errorf("%s: not final after 30 minutes", user)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// historyLength counts the events of a workflow's latest run.
func historyLength(ctx context.Context, st *devstack.Stack, wfID string) (int, error) {
	it := st.Client.GetWorkflowHistory(ctx, wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for it.HasNext() {
		if _, err := it.Next(); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// scaling: one organizer with each size in turn.
func (r *runner) scaling(ctx context.Context) error {
	st, err := r.sandbox(ctx)
	if err != nil {
		return err
	}
	r.latency.SetDelay(0)
	perMeeting := map[int]float64{}
	for _, size := range r.o.ScalingSizes {
		runs := r.o.Runs
		if size >= 10000 {
			runs = min(runs, 1) // not cheap: one run
		}
		var secs, mps, hist []float64
		for run := range runs {
			tenant := fmt.Sprintf("bench-sc-%d", r.next())
			users, err := sandbox.SeedBulk(ctx, st.DB, sandbox.BulkOptions{Tenant: tenant, Users: 1, Meetings: size}, time.Now())
			if err != nil {
				return err
			}
			// One organizer's 10,000 meetings notify more people than
			// Exchange Online lets a mailbox reach in a day, which mms
			// budgets by default: the run would wait for tomorrow. The
			// scaling scenario measures the run, so its tenant lifts that.
			if _, err := st.DB.UpdateSettings(ctx, tenant, func(s *migration.Settings) {
				s.OrganizerRecipientsPerDay = 10_000_000
			}); err != nil {
				return err
			}
			r.progress("scaling: %d meetings, run %d", size, run+1)
			took, _, err := r.migrateOne(ctx, st, tenant, users[0])
			if err != nil {
				return err
			}
			if err := checkMigrated(ctx, st.DB, tenant, 1, size); err != nil {
				return err
			}
			n, err := historyLength(ctx, st, workflows.WorkflowID(tenant, users[0]))
			if err != nil {
				return err
			}
			secs, mps, hist = append(secs, took.Seconds()), append(mps, float64(size)/took.Seconds()), append(hist, float64(n))
		}
		p := fmt.Sprintf("scaling_1x%d", size)
		if size == 10000 {
			r.addTarget(p+"_wall", "s", "<= 20 s", func(v float64) bool { return v <= 20 }, secs...)
		} else {
			r.add(p+"_wall", "s", secs...)
		}
		r.add(p+"_meetings_per_s", "meetings/s", mps...)
		r.add(p+"_history_events", "events", hist...)
		perMeeting[size] = median(secs) / float64(size)
	}
	// Linear growth: the time per meeting of the largest size next to the
	// next smaller one (1.0: exactly linear; above: superlinear).
	sizes := r.o.ScalingSizes
	if len(sizes) >= 2 {
		a, b := sizes[len(sizes)-2], sizes[len(sizes)-1]
		r.add(fmt.Sprintf("scaling_per_meeting_%d_vs_%d", b, a), "x", perMeeting[b]/perMeeting[a])
	}
	return nil
}

// overhead: the same updates through the service (Temporal, activities,
// store) and by a plain loop over the same back end, each call costing
// OverheadLatency; both update Concurrency meetings at a time.
func (r *runner) overhead(ctx context.Context) error {
	st, err := r.sandbox(ctx)
	if err != nil {
		return err
	}
	r.latency.SetDelay(r.o.OverheadLatency)
	defer r.latency.SetDelay(0)
	m := r.o.OverheadMeetings
	conc := r.o.Concurrency
	if conc <= 0 {
		conc = 4 // the activities' default
	}
	pageSize := r.o.PageSize
	if pageSize <= 0 {
		pageSize = 50 // the activities' default
	}
	var orch, plain, ratio []float64
	for run := range r.o.Runs {
		tenant := fmt.Sprintf("bench-oh-%d", r.next())
		users, err := sandbox.SeedBulk(ctx, st.DB, sandbox.BulkOptions{Tenant: tenant, Users: 2, Meetings: m}, time.Now())
		if err != nil {
			return err
		}
		r.progress("overhead run %d: %d meetings at %s per call", run+1, m, r.o.OverheadLatency)
		took, _, err := r.migrateOne(ctx, st, tenant, users[0])
		if err != nil {
			return err
		}
		if err := checkMigrated(ctx, st.DB, tenant, 1, m); err != nil {
			return err
		}
		start := time.Now()
		updated, err := plainLoop(ctx, st.DB, r.latency, tenant, users[1], pageSize, conc)
		if err != nil {
			return err
		}
		if updated != m {
			return fmt.Errorf("plain loop updated %d of %d meetings", updated, m)
		}
		p := time.Since(start)
		orch, plain = append(orch, float64(m)/took.Seconds()), append(plain, float64(m)/p.Seconds())
		ratio = append(ratio, p.Seconds()/took.Seconds())
	}
	ms := r.o.OverheadLatency.Milliseconds()
	r.add(fmt.Sprintf("overhead_orchestrated_%dms", ms), "meetings/s", orch...)
	r.add(fmt.Sprintf("overhead_plain_loop_%dms", ms), "meetings/s", plain...)
	if r.o.OverheadLatency == 10*time.Millisecond {
		r.addTarget(fmt.Sprintf("overhead_ratio_%dms", ms), "x", ">= 0.5", func(v float64) bool { return v >= 0.5 }, ratio...)
	} else {
		r.add(fmt.Sprintf("overhead_ratio_%dms", ms), "x", ratio...)
	}
	return nil
}

// plainLoop migrates a mailbox without Temporal or the store's records:
// read a page, replace each meeting's block, update it (conc at a time),
// next page. It returns how many meetings it updated.
func plainLoop(ctx context.Context, db *store.DB, b calendar.Backend, tenant, user string, pageSize, conc int) (int, error) {
	u, err := db.User(ctx, tenant, user)
	if err != nil {
		return 0, err
	}
	var profile meetingblock.Profile
	if err := json.Unmarshal(u.Profile, &profile); err != nil {
		return 0, err
	}
	from, to := time.Now().UTC(), time.Now().UTC().AddDate(2, 0, 0)
	updated, cursor := 0, ""
	for {
		page, err := b.ListMeetings(ctx, tenant, user, from, to, cursor, pageSize)
		if err != nil {
			return updated, err
		}
		var mu sync.Mutex
		var firstErr error
		sem := make(chan struct{}, conc)
		var wg sync.WaitGroup
		for _, m := range page.Meetings {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				format := meetingblock.FormatHTML
				if m.BodyType == calendar.BodyText {
					format = meetingblock.FormatText
				}
				res := meetingblock.Replace(m.Body, format, profile, migration.TargetCurrent)
				var err error
				if res.Outcome == meetingblock.Replaced {
					_, err = b.UpdateMeeting(ctx, tenant, calendar.Update{Mailbox: user, MeetingID: m.ID, ETag: m.ETag,
						Body: res.Body, IdempotencyKey: "plain/" + m.ID})
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil && firstErr == nil {
					firstErr = err
				} else if err == nil && res.Outcome == meetingblock.Replaced {
					updated++
				}
			})
		}
		wg.Wait()
		if firstErr != nil {
			return updated, firstErr
		}
		if page.NextCursor == "" {
			return updated, nil
		}
		cursor = page.NextCursor
	}
}

// graph: against the Graph emulator at GraphLatency per call with Graph's
// per-mailbox limits, each case next to the floor the limits allow.
func (r *runner) graph(ctx context.Context) error {
	pageSize := r.o.PageSize
	if pageSize <= 0 {
		pageSize = 50
	}
	lat := r.o.GraphLatency
	for _, gc := range r.o.GraphCases {
		// Every update is one PATCH, at most 4 in flight per mailbox, and
		// the listing is one calendarView call per page, the pages one after
		// another (the last says there is no next): the floor of a mailbox,
		// and of all of them, since the limits are per mailbox.
		pages := math.Ceil(float64(gc.Meetings)/float64(pageSize)) + 1
		floor := (math.Ceil(float64(gc.Meetings)/4) + pages) * lat.Seconds()
		var secs, ratio, mps []float64
		for run := range r.o.Runs {
			r.progress("graph %dx%d at %s, run %d", gc.Mailboxes, gc.Meetings, lat, run+1)
			took, err := r.graphRun(ctx, gc, pageSize)
			if err != nil {
				return err
			}
			secs, ratio = append(secs, took.Seconds()), append(ratio, took.Seconds()/floor)
			mps = append(mps, float64(gc.Mailboxes*gc.Meetings)/took.Seconds())
		}
		p := fmt.Sprintf("graph_%dx%d_%dms", gc.Mailboxes, gc.Meetings, lat.Milliseconds())
		r.add(p+"_wall", "s", secs...)
		r.add(p+"_floor", "s", floor)
		r.add(p+"_meetings_per_s", "meetings/s", mps...)
		r.addTarget(p+"_x_floor", "x", "<= 1.15", func(v float64) bool { return v <= 1.15 }, ratio...)
	}
	return nil
}

// graphRun seeds the mailboxes, starts a stack whose tenant is on the
// emulator (it mirrors them at start), and migrates them all at once.
func (r *runner) graphRun(ctx context.Context, gc GraphCase, pageSize int) (time.Duration, error) {
	cfg, err := r.config("graph")
	if err != nil {
		return 0, err
	}
	cfg.Calendar, cfg.GraphLatency, cfg.Service.PageSize = devstack.CalendarGraphEmulator, r.o.GraphLatency, pageSize
	const tenant = "bench-graph"
	db, err := store.Open(ctx, cfg.DataDir+"/mms.db")
	if err != nil {
		return 0, err
	}
	users, err := sandbox.SeedBulk(ctx, db, sandbox.BulkOptions{Tenant: tenant, Users: gc.Mailboxes, Meetings: gc.Meetings}, time.Now())
	db.Close()
	if err != nil {
		return 0, err
	}
	st, err := devstack.Start(ctx, cfg)
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(cfg.DataDir)
	defer st.Stop(context.Background())
	start := time.Now()
	if err := r.trigger(ctx, st, tenant, users, r.o.TriggerClients); err != nil {
		return 0, err
	}
	if err := waitAll(ctx, st.DB, tenant, gc.Mailboxes, 20*time.Millisecond, 30*time.Minute); err != nil {
		return 0, err
	}
	took := time.Since(start)
	if err := checkMigrated(ctx, st.DB, tenant, gc.Mailboxes, gc.Meetings); err != nil {
		return took, err
	}
	for _, u := range users {
		if n := st.Emulator.MaxInFlight(u); n > 4 {
			return took, fmt.Errorf("%d requests in flight for mailbox %s: Graph allows 4", n, u)
		}
	}
	return took, nil
}
