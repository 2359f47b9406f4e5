package activities

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/sync/errgroup"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
	"github.com/openmms/mms/internal/telemetry"
)

// PageInput asks for one page of the organizer's meetings to be migrated.
type PageInput struct {
	Plan   RunPlan `json:"plan"`
	Cursor string  `json:"cursor"`
	// Skip lists the page's meetings done before flood control deferred
	// the rest of it (PageResult.Done).
	Skip []string `json:"skip,omitempty"`
}

// PageResult is what one page did; NextCursor "" means the last page.
type PageResult struct {
	NextCursor string `json:"nextCursor"`
	Updated    int    `json:"updated"`
	UpToDate   int    `json:"upToDate"`
	Skipped    int    `json:"skipped"`
	Failed     int    `json:"failed"`
	Invites    int    `json:"invites"`
	// Deferred: flood control stopped the batch (a closed window, a spent
	// budget). The workflow waits Wait, says WaitMessage on the record and
	// asks again for the same page (NextCursor is the page's own cursor)
	// without the meetings in Done, or for the meetings not in Done.
	Deferred    bool          `json:"deferred,omitempty"`
	Wait        time.Duration `json:"wait,omitempty"`
	WaitMessage string        `json:"waitMessage,omitempty"`
	Done        []string      `json:"done,omitempty"`
}

// progress is heartbeated as meetings finish, so a retried attempt resumes
// after the meetings it finished instead of starting the page again. Next
// counts the page's leading meetings that are done; meetings finished out
// of order beyond them are redone by a retry (updates are idempotent).
type progress struct {
	Next    int                   `json:"next"`
	Results []store.MeetingResult `json:"results"`
}

// tracker collects a page's outcomes from concurrent updates and
// heartbeats the progress; the back end's wait hook beats through it too.
type tracker struct {
	ctx   context.Context // the activity's
	mu    sync.Mutex
	prog  progress
	ahead map[int]store.MeetingResult // done, beyond prog.Next
}

// newTracker resumes from the progress an earlier attempt heartbeated.
func newTracker(ctx context.Context) *tracker {
	t := &tracker{ctx: ctx, ahead: map[int]store.MeetingResult{}}
	if activity.HasHeartbeatDetails(ctx) && activity.GetHeartbeatDetails(ctx, &t.prog) != nil {
		t.prog = progress{}
	}
	return t
}

// fit drops heartbeated progress that cannot belong to a batch of n
// meetings: the batch is redone, updates are idempotent.
func (t *tracker) fit(n int) {
	if t.prog.Next > n || len(t.prog.Results) != t.prog.Next {
		t.prog = progress{}
	}
}

func (t *tracker) done(i int, r store.MeetingResult) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ahead[i] = r
	for {
		r, ok := t.ahead[t.prog.Next]
		if !ok {
			break
		}
		delete(t.ahead, t.prog.Next)
		t.prog.Results = append(t.prog.Results, r)
		t.prog.Next++
	}
	activity.RecordHeartbeat(t.ctx, t.prog)
}

func (t *tracker) beat() {
	t.mu.Lock()
	defer t.mu.Unlock()
	activity.RecordHeartbeat(t.ctx, t.prog)
}

// all is every outcome so far, those beyond the prefix included.
func (t *tracker) all() []store.MeetingResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := slices.Clone(t.prog.Results)
	for _, i := range slices.Sorted(maps.Keys(t.ahead)) {
		out = append(out, t.ahead[i])
	}
	return out
}

// DryRunTeamsJoinURL stands in a dry run's diff for the Teams meeting a
// conversion would create.
const DryRunTeamsJoinURL = "https://teams.microsoft.com/meet/0000000000000?p=DRYRUN"

// conflictAttempts bounds re-reads when the organizer keeps editing a meeting.
const conflictAttempts = 3

// Defaults of Activities.PageSize and Activities.Concurrency: Graph serves 4
// requests at once per mailbox, and a page is a whole number of those.
const (
	DefaultPageSize    = 50
	DefaultConcurrency = 4
)

// ProcessPage lists one page of the mailbox, decides each meeting, replaces
// and updates the selected ones (Concurrency at a time), and records every
// outcome.
func (a *Activities) ProcessPage(ctx context.Context, in PageInput) (PageResult, error) {
	pageSize := a.PageSize
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	p := in.Plan
	ctx = observe(ctx, p.TenantID, p.UserID, p.MigrationID)
	t := newTracker(ctx)
	// A back end waiting out a rate limit or a slow answer keeps the
	// activity alive (and the progress of an earlier attempt with it).
	ctx = calendar.ContextWithWaitHook(ctx, t.beat)
	page, err := a.Calendar.ListMeetings(ctx, p.TenantID, p.Mailbox, p.From, p.To, in.Cursor, pageSize)
	var perm *calendar.PermanentError
	if errors.As(err, &perm) {
		// The workflow stops the run with this message instead of retrying.
		return PageResult{}, temporal.NewNonRetryableApplicationError(perm.Message, "Permanent", err)
	} else if err != nil {
		return PageResult{}, fmt.Errorf("list meetings of %s: %w", p.Mailbox, err)
	}
	meetings := page.Meetings
	if len(in.Skip) > 0 {
		meetings = slices.DeleteFunc(slices.Clone(meetings), func(m calendar.Meeting) bool { return slices.Contains(in.Skip, m.ID) })
	}
	gate := a.newFloodGate(p)
	ctx = withGate(ctx, gate)
	t.fit(len(meetings))
	if err := a.migrateAll(ctx, p, meetings, t); err != nil {
		if ctx.Err() != nil {
			// Cancelled (the run's deadline): keep the outcomes of the
			// meetings already done, so the record counts every update.
			done := t.all()
			if _, rerr := a.DB.RecordResults(context.WithoutCancel(ctx), p.MigrationID, done); rerr != nil {
				return PageResult{}, errors.Join(err, rerr)
			}
			a.recordOutcomes(context.WithoutCancel(ctx), done)
		}
		return PageResult{}, err // transient: the activity is retried from the heartbeat
	}
	results := t.all()
	if _, err := a.DB.RecordResults(ctx, p.MigrationID, results); err != nil {
		return PageResult{}, err
	}
	a.recordOutcomes(ctx, results)
	res := tally(results, page.NextCursor)
	gate.deferred(&res, in.Cursor, in.Skip, results)
	return res, nil
}

// migrateAll migrates the meetings not yet done, Concurrency at a time; the
// first error stops the others.
//
// A series' exception waits for its master when both are on the page: a
// master's notification carries the series' exceptions as stored, so an
// exception written first would reach its attendees a second time inside
// the master's (issue 17). Masters are therefore started before their
// exceptions whatever the listing's order, and an exception starts its
// work only once its master's finished; every other meeting runs as it
// comes. Outcomes are still recorded by position, so the heartbeated
// prefix (progress.Next) means what it always meant.
func (a *Activities) migrateAll(ctx context.Context, p RunPlan, meetings []calendar.Meeting, t *tracker) error {
	n := a.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	order, masterOf := seriesOrder(meetings, t.prog.Next)
	finished := make([]chan struct{}, len(meetings))
	for _, j := range masterOf {
		if finished[j] == nil {
			finished[j] = make(chan struct{})
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(n)
	gate := gateOf(ctx)
	for _, i := range order {
		if gctx.Err() != nil || gate.stopped() {
			break
		}
		g.Go(func() error {
			if j, ok := masterOf[i]; ok {
				// Its master was started earlier and holds a slot of its
				// own, so this wait always ends.
				select {
				case <-finished[j]:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			if gate.stopped() {
				// Flood control deferred the rest of the page (its master
				// included, for an exception): done by a later call.
				if done := finished[i]; done != nil {
					close(done)
				}
				return nil
			}
			r, err := a.migrateMeeting(gctx, p, meetings[i])
			if errors.Is(err, errDeferred) {
				if done := finished[i]; done != nil {
					close(done) // its exceptions see the gate stopped
				}
				return nil
			}
			if err != nil {
				return err
			}
			t.done(i, r)
			if done := finished[i]; done != nil {
				// Only a master that finished releases its exceptions: when
				// it fails, they wait for gctx, which the failure cancels,
				// and the retried attempt starts the master first again.
				close(done)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// seriesOrder returns the positions from..len(meetings)-1 in the order to
// start them: the page's order, except that an exception whose master is
// also to be done here comes right after that master. masterOf maps such
// an exception's position to its master's.
func seriesOrder(meetings []calendar.Meeting, from int) (order []int, masterOf map[int]int) {
	master := map[string]int{} // a master's ID -> its position, among those to do
	for i := from; i < len(meetings); i++ {
		if meetings[i].Kind == calendar.KindSeriesMaster {
			master[meetings[i].ID] = i
		}
	}
	masterOf = map[int]int{}
	waiting := map[int][]int{} // master position -> its exceptions, in page order
	for i := from; i < len(meetings); i++ {
		if id := meetings[i].SeriesMasterID; id != "" {
			if j, ok := master[id]; ok && j != i {
				masterOf[i] = j
				waiting[j] = append(waiting[j], i)
			}
		}
	}
	for i := from; i < len(meetings); i++ {
		if _, ok := masterOf[i]; ok {
			continue // started after its master
		}
		order = append(order, i)
		order = append(order, waiting[i]...)
	}
	return order, masterOf
}

// tally counts a batch's outcomes.
func tally(results []store.MeetingResult, next string) PageResult {
	out := PageResult{NextCursor: next}
	for _, r := range results {
		switch r.Outcome {
		case migration.OutcomeUpdated, migration.OutcomeWouldUpdate:
			out.Updated++
		case migration.OutcomeUpToDate:
			out.UpToDate++
		case migration.OutcomeSkipped:
			out.Skipped++
		case migration.OutcomeFailed:
			out.Failed++
		}
		if r.InvitesSent > 0 {
			out.Invites++
		}
	}
	return out
}

// migrateMeeting returns the meeting's outcome, or an error worth a retry.
func (a *Activities) migrateMeeting(ctx context.Context, p RunPlan, m calendar.Meeting) (res store.MeetingResult, err error) {
	ctx, span := a.Instruments.StartSpan(ctx, "mms.migrate_meeting", attribute.String(telemetry.AttrMeetingID, m.ID))
	defer func() {
		if err != nil {
			span.SetStatus(codes.Error, "meeting not migrated")
		} else {
			span.SetAttributes(attribute.String(telemetry.AttrOutcome, string(res.Outcome)),
				attribute.String(telemetry.AttrReason, res.ReasonCode.Category()))
		}
		span.End()
	}()
	return a.decideAndMigrate(ctx, p, m)
}

func (a *Activities) decideAndMigrate(ctx context.Context, p RunPlan, m calendar.Meeting) (store.MeetingResult, error) {
	res := store.MeetingResult{MeetingID: m.ID, Subject: m.Subject, Start: m.Start}
	if skip := SkipReason(p, m); skip.Reason != migration.ReasonNone {
		return withReason(res, migration.OutcomeSkipped, skip), nil
	}
	if m.Unreadable != "" {
		// Read at a wrong instant it would be dropped as past or moved:
		// a failure with its reason, for the administrator to see.
		return withReason(res, migration.OutcomeFailed, migration.Unsupported(errors.New(m.Unreadable))), nil
	}
	for attempt := 1; ; attempt++ {
		r, err := a.replaceAndUpdate(ctx, p, m)
		if err == nil {
			return r, nil
		}
		switch {
		case errors.Is(err, calendar.ErrConflict) && attempt < conflictAttempts:
			// The organizer edited the meeting since we read it: re-read and
			// re-apply, so their edit outside the block survives.
			if m, err = a.Calendar.GetMeeting(ctx, p.TenantID, p.Mailbox, m.ID); err != nil {
				if errors.Is(err, calendar.ErrNotFound) {
					return withReason(res, migration.OutcomeSkipped, migration.Deleted()), nil
				}
				return res, err
			}
		case errors.Is(err, calendar.ErrConflict):
			return withReason(res, migration.OutcomeFailed, migration.Conflict(attempt, err)), nil
		case errors.Is(err, calendar.ErrNotFound):
			return withReason(res, migration.OutcomeSkipped, migration.Deleted()), nil
		case errors.Is(err, calendar.ErrUnsupported):
			return withReason(res, migration.OutcomeSkipped, migration.Unsupported(err)), nil
		default:
			return res, err
		}
	}
}

func (a *Activities) replaceAndUpdate(ctx context.Context, p RunPlan, m calendar.Meeting) (store.MeetingResult, error) {
	res := store.MeetingResult{MeetingID: m.ID, Subject: m.Subject, Start: m.Start}
	profile := userProfile(p.Profile)
	profile.DefaultLocale = p.DefaultLanguage
	target := migration.TargetCurrent
	var online *calendar.OnlineMeeting
	noDialIn := false
	if p.TargetMeetingType == migration.TargetTeams {
		target = migration.TargetTeams
		if m.OnlineMeeting.Provider != calendar.ProviderTeams && p.DryRun {
			// A dry run creates nothing: the diff shows where the new
			// meeting's link will go.
			profile.MeetingType, profile.JoinURL = string(meetingblock.KindTeams), DryRunTeamsJoinURL
		} else if m.OnlineMeeting.Provider != calendar.ProviderTeams {
			// A Skype meeting becomes a Teams meeting of its own, obtained
			// idempotently so a retry does not create a second one.
			om, err := a.Calendar.EnsureTeamsMeeting(ctx, p.TenantID, p.Mailbox, m.ID)
			if err != nil {
				return res, fmt.Errorf("teams meeting for %s: %w", m.ID, err)
			}
			profile.JoinURL = om.JoinURL
			if profile.MeetingType != string(meetingblock.KindTeams) {
				// A Skype profile's bridge does not serve the new Teams
				// meeting: callers dial what its audioConferencing says.
				// (A Teams profile's dial-in is the user's own, the same
				// for every Teams meeting, which later runs then write.)
				profile.MeetingType = string(meetingblock.KindTeams)
				profile.ConferenceID, profile.TollNumber, profile.DialInURL = om.ConferenceID, om.TollNumber, om.DialInURL
				profile.TollFreeNumbers = nil
				if om.TollFreeNumber != "" {
					profile.TollFreeNumbers = []string{om.TollFreeNumber}
				}
				if om.ConferenceID == "" || (om.TollNumber == "" && om.TollFreeNumber == "") {
					profile.ConferenceID, profile.TollNumber, profile.TollFreeNumbers, profile.DialInURL = "", "", nil, ""
					noDialIn = true
				}
			}
			online = &om
		}
	}
	format := meetingblock.FormatHTML
	if m.BodyType == calendar.BodyText {
		format = meetingblock.FormatText
	}
	key := p.MigrationID + "/" + m.ID
	r := meetingblock.Replace(m.Body, format, profile, target)
	switch r.Outcome {
	case meetingblock.UpToDate:
		if m.UpdateKey != key || p.DryRun {
			res.Outcome = migration.OutcomeUpToDate
			return res, nil
		}
		// This run already updated it (an attempt died before recording
		// it): the back end replays that update's result, writing nothing.
		r.Body = m.Body
	case meetingblock.NotReplaced:
		skip := migration.BlockNotReplaced(r.Reason)
		if r.Old.ThirdParty {
			// The block is an ACP's, and the profile may not replace it.
			skip.Reason = migration.ReasonThirdParty
			if p.KeepsThirdParty {
				skip = migration.ThirdPartyKept()
			}
		}
		return withReason(res, migration.OutcomeSkipped, skip), nil
	}
	// The language the new block is written in, and why (the profile's
	// locale, the old block's, the tenant default or en-US).
	res.Language, res.LanguageReason = r.Language, r.LanguageReason
	if p.DryRun {
		res.Outcome, res.Diff = migration.OutcomeWouldUpdate, meetingblock.UnifiedDiff(m.Body, r.Body)
		return res, nil
	}
	if m.UpdateKey != key { // a replayed update sends nothing again
		if skip, err := gateOf(ctx).admit(ctx, m); err != nil {
			return res, err
		} else if skip.Reason != migration.ReasonNone {
			return withReason(res, migration.OutcomeFailed, skip), nil
		}
	}
	u, err := a.Calendar.UpdateMeeting(ctx, p.TenantID, calendar.Update{Mailbox: p.Mailbox, MeetingID: m.ID,
		ETag: m.ETag, Body: r.Body, OnlineMeeting: online, IdempotencyKey: key})
	if err != nil {
		return res, err
	}
	res.Outcome, res.InvitesSent = migration.OutcomeUpdated, u.InvitesSent
	if noDialIn {
		res.Reason = NoDialInNote
	}
	return res, nil
}

// userProfile is the part of the organizer's profile that belongs to the
// user and so to all their meetings. A Teams meeting's join link, meeting
// ID, passcode and options link are its own: a Teams joinUrl the directory
// holds (an upgrade or move event may carry one) would otherwise be stamped
// on every meeting, collapsing distinct meetings onto one link. Only a
// conversion brings a new Teams meeting, with the back end's coordinates.
// A Skype profile's meeting URL is the user's (one per Skype user), kept.
func userProfile(p meetingblock.Profile) meetingblock.Profile {
	if p.MeetingType == string(meetingblock.KindTeams) {
		p.JoinURL, p.MeetingID, p.Passcode, p.MeetingOptionsURL = "", "", "", ""
	}
	return p
}

// NoDialInNote is the result of a meeting converted to a Teams meeting that
// has no audio conferencing (the organizer has no licence for it): its
// block has no dial-in section.
const NoDialInNote = "converted without dial-in: the Teams meeting has no audio conferencing"

// withReason sets a meeting's outcome with its typed reason and message.
func withReason(res store.MeetingResult, o migration.Outcome, s migration.Skip) store.MeetingResult {
	res.Outcome, res.Reason, res.ReasonCode = o, s.Message, s.Reason
	return res
}

// SkipReason says why a meeting is not migrated; its Reason is
// migration.ReasonNone when it is.
func SkipReason(p RunPlan, m calendar.Meeting) migration.Skip {
	switch {
	case !m.IsOrganizer:
		return migration.NotOrganizer(m.Organizer)
	case m.Kind != calendar.KindSeriesMaster && m.Unreadable == "" && m.Start.Before(p.From):
		// An unreadable start is no instant: such a meeting fails with its
		// reason instead of vanishing as past.
		return migration.Past(m.Start)
	case m.OnlineMeeting == nil:
		return migration.NotOnline()
	case m.OnlineMeeting.Provider == calendar.ProviderThirdParty:
		return migration.ThirdPartyProvider()
	case p.ParticipantLimit > 0 && m.Participants() > p.ParticipantLimit:
		return migration.ParticipantLimit(m.Participants(), p.ParticipantLimit)
	case !sourceSelected(p.SourceMeetingType, m.OnlineMeeting.Provider):
		return migration.SourceNotChosen(p.SourceMeetingType)
	}
	return migration.Skip{}
}

func sourceSelected(source migration.Source, provider string) bool {
	switch source {
	case migration.SourceSfB:
		return provider == calendar.ProviderSkype
	case migration.SourceTeams:
		return provider == calendar.ProviderTeams
	}
	return true
}
