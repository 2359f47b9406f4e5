package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// Flood control (issue 21; docs/WORKFLOWS.md, "Flood control").
//
// The budgets are counters in the service database, one row per budget
// and period, reserved with a compare-and-set by the activity about to
// send: every worker of every process shares them, whatever it runs. No
// activity sleeps: one that meets a closed window or a spent budget stops
// its batch, records what it did and answers how long to wait; the
// workflow waits on a timer and calls again.

// errDeferred stops a batch before a meeting whose update would cross a
// budget or fall outside the window.
var errDeferred = errors.New("deferred by flood control")

// Counter names in store.Claim.
const (
	counterNotifications = "notifications"
	counterMeetings      = "meetings:"
	counterRecipients    = "recipients:"
)

// guardFraction: the last 1/20 of a budget hour (3 minutes) reserves nothing.
const guardFraction = 20

func (a *Activities) floodHour() time.Duration {
	if a.FloodHour > 0 {
		return a.FloodHour
	}
	return time.Hour
}

// hourOf is the start of t's budget hour.
func (a *Activities) hourOf(t time.Time) time.Time { return t.Truncate(a.floodHour()) }

// dayOf is the start of t's budget day, midnight in loc.
func (a *Activities) dayOf(t time.Time, loc *time.Location) time.Time {
	_, off := t.In(loc).Zone()
	shift := time.Duration(off) * time.Second
	return t.Add(shift).Truncate(24 * a.floodHour()).Add(-shift)
}

// floodGate admits a batch's updates one by one; once it refuses one, the
// batch stops and the gate says how long to wait and why.
type floodGate struct {
	a    *Activities
	p    RunPlan
	f    migration.FloodControl
	mu   sync.Mutex
	held map[string]bool // meetings whose budget is reserved (a conflict re-reads and tries again)
	wait time.Duration
	msg  string
}

// newFloodGate is nil (admits everything) for a dry run and for runs
// begun without flood control.
func (a *Activities) newFloodGate(p RunPlan) *floodGate {
	if p.DryRun || p.Flood == nil || !p.Flood.Limited() {
		return nil
	}
	return &floodGate{a: a, p: p, f: *p.Flood, held: map[string]bool{}}
}

func (g *floodGate) stopped() bool {
	if g == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.msg != ""
}

// deferral is how long to wait and why, once stopped.
func (g *floodGate) deferral() (time.Duration, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.wait, g.msg
}

type floodLimit struct {
	claim  store.Claim
	resume time.Time
	msg    string
}

// admit reserves what updating m sends. errDeferred: the batch stops here;
// a Skip: the meeting alone needs more than a whole period allows.
func (g *floodGate) admit(ctx context.Context, m calendar.Meeting) (migration.Skip, error) {
	if g == nil {
		return migration.Skip{}, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held[m.ID] {
		return migration.Skip{}, nil
	}
	if g.msg != "" {
		return migration.Skip{}, errDeferred
	}
	now := g.a.now()
	if w := g.f.Window; w != nil {
		if open, next := w.Open(now); !open {
			g.wait, g.msg = next.Sub(now), w.WaitingMessage(next)
			return migration.Skip{}, errDeferred
		}
	}
	loc := g.f.Location()
	// One notification per attendee: the organizer sends, the others get it.
	n := int64(m.Participants() - 1)
	hour, day := g.a.hourOf(now), g.a.dayOf(now, loc)
	nextHour, nextDay := hour.Add(g.a.floodHour()), day.Add(24*g.a.floodHour())
	// An update is sent a moment after its reservation: none is reserved
	// in the last minutes of a budget's period, so that none reserved in
	// one period is sent in the next, on top of that one's budget.
	guard := g.a.floodHour() / guardFraction
	if (g.f.NotificationBudgetPerHour > 0 || g.f.OrganizerMeetingsPerHour > 0) && nextHour.Sub(now) < guard {
		g.wait, g.msg = nextHour.Sub(now), "notification budget: resumes at "+nextHour.In(loc).Format("15:04")
		return migration.Skip{}, errDeferred
	}
	if g.f.OrganizerRecipientsPerDay > 0 && nextDay.Sub(now) < guard {
		g.wait, g.msg = nextDay.Sub(now), fmt.Sprintf("organizer's daily recipient limit (%d, Exchange Online's): resumes %s %s",
			g.f.OrganizerRecipientsPerDay, nextDay.In(loc).Format("Mon 15:04"), loc)
		return migration.Skip{}, errDeferred
	}
	var limits []floodLimit
	if b := int64(g.f.NotificationBudgetPerHour); b > 0 {
		if n > b {
			return migration.OverBudget(int(n), fmt.Sprintf("notification budget of %d per hour", b)), nil
		}
		limits = append(limits, floodLimit{store.Claim{Counter: counterNotifications, Period: hour.UnixMilli(), Limit: b, Amount: n},
			nextHour, "notification budget: resumes at " + nextHour.In(loc).Format("15:04")})
	}
	if c := int64(g.f.OrganizerMeetingsPerHour); c > 0 {
		limits = append(limits, floodLimit{store.Claim{Counter: counterMeetings + g.p.UserID, Period: hour.UnixMilli(), Limit: c, Amount: 1},
			nextHour, fmt.Sprintf("organizer's cap of %d meetings per hour: resumes at %s", c, nextHour.In(loc).Format("15:04"))})
	}
	if r := int64(g.f.OrganizerRecipientsPerDay); r > 0 {
		if n > r {
			return migration.OverBudget(int(n), fmt.Sprintf("organizer's daily recipient limit of %d", r)), nil
		}
		limits = append(limits, floodLimit{store.Claim{Counter: counterRecipients + g.p.UserID, Period: day.UnixMilli(), Limit: r, Amount: n},
			nextDay, fmt.Sprintf("organizer's daily recipient limit (%d, Exchange Online's): resumes %s %s", r,
				nextDay.In(loc).Format("Mon 15:04"), loc)})
	}
	claims := make([]store.Claim, len(limits))
	for i, l := range limits {
		claims[i] = l.claim
	}
	refused, err := g.a.DB.Reserve(ctx, g.p.TenantID, claims)
	if err != nil {
		return migration.Skip{}, err
	}
	if refused >= 0 {
		g.wait, g.msg = limits[refused].resume.Sub(now), limits[refused].msg
		return migration.Skip{}, errDeferred
	}
	g.held[m.ID] = true
	return migration.Skip{}, nil
}

type gateKey struct{}

func withGate(ctx context.Context, g *floodGate) context.Context {
	if g == nil {
		return ctx
	}
	return context.WithValue(ctx, gateKey{}, g)
}

func gateOf(ctx context.Context) *floodGate {
	g, _ := ctx.Value(gateKey{}).(*floodGate)
	return g
}

// deferred fills a batch's result when its gate stopped it: the same page
// again after the wait, without the meetings done.
func (g *floodGate) deferred(res *PageResult, cursor string, done []string, results []store.MeetingResult) {
	if !g.stopped() {
		return
	}
	res.Deferred, res.NextCursor = true, cursor
	wait, msg := g.deferral()
	res.Wait, res.WaitMessage = max(wait, time.Millisecond), msg
	res.Done = append([]string(nil), done...)
	for _, r := range results {
		res.Done = append(res.Done, r.MeetingID)
	}
}

// AdmitInput asks whether a run may begin now.
type AdmitInput struct {
	TenantID string `json:"tenantId"`
	UserID   string `json:"userId"`
}

// Admission is AdmitRun's answer: Wait 0 means go.
type Admission struct {
	Wait    time.Duration `json:"wait,omitempty"`
	Message string        `json:"message,omitempty"`
}

// AdmitRun says whether a run may begin: not while the tenant's window is
// closed or one of its budgets is spent for the period, so the user's
// record stays Pending and says why (its LastMessage). It reserves
// nothing: the updates reserve their own budget as they are sent.
func (a *Activities) AdmitRun(ctx context.Context, in AdmitInput) (Admission, error) {
	tenant, err := a.DB.Tenant(ctx, in.TenantID)
	if errors.Is(err, store.ErrNotFound) {
		return Admission{}, nil // BeginRun refuses the run with the reason
	} else if err != nil {
		return Admission{}, err
	}
	f := tenant.Settings.FloodControl()
	now, loc := a.now(), f.Location()
	hour, day := a.hourOf(now), a.dayOf(now, loc)
	var adm Admission
	check := func(counter string, period time.Time, limit int, resume time.Time, msg string) error {
		if limit <= 0 || adm.Message != "" {
			return nil
		}
		used, err := a.DB.Used(ctx, in.TenantID, counter, period.UnixMilli())
		if err == nil && used >= int64(limit) {
			adm = Admission{Wait: resume.Sub(now), Message: msg}
		}
		return err
	}
	if w := f.Window; w != nil {
		if open, next := w.Open(now); !open {
			adm = Admission{Wait: next.Sub(now), Message: w.WaitingMessage(next)}
		}
	}
	nextHour, nextDay := hour.Add(a.floodHour()), day.Add(24*a.floodHour())
	if err := errors.Join(
		check(counterNotifications, hour, f.NotificationBudgetPerHour, nextHour,
			"notification budget: resumes at "+nextHour.In(loc).Format("15:04")),
		check(counterMeetings+in.UserID, hour, f.OrganizerMeetingsPerHour, nextHour,
			fmt.Sprintf("organizer's cap of %d meetings per hour: resumes at %s", f.OrganizerMeetingsPerHour, nextHour.In(loc).Format("15:04"))),
		check(counterRecipients+in.UserID, day, f.OrganizerRecipientsPerDay, nextDay,
			fmt.Sprintf("organizer's daily recipient limit (%d, Exchange Online's): resumes %s %s", f.OrganizerRecipientsPerDay,
				nextDay.In(loc).Format("Mon 15:04"), loc)),
	); err != nil {
		return Admission{}, err
	}
	if adm.Message == "" {
		return adm, nil
	}
	adm.Wait = max(adm.Wait, time.Millisecond)
	// The Pending record says why it waits; a user with no record yet
	// (a direct signal not recorded) gets it when BeginRun opens one.
	if rec, err := a.DB.RunRecord(ctx, in.TenantID, in.UserID, ""); err == nil {
		if err := a.DB.NoteRun(ctx, rec.CorrelationID, adm.Message, 0); err != nil {
			return Admission{}, err
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return Admission{}, err
	}
	return adm, nil
}
