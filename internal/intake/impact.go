package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/openmms/mms/activities"
	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/rules"
	"github.com/openmms/mms/internal/store"
)

// DefaultImpactBudget is how long an impact preview may spend counting the
// affected users' meetings in the back end: long enough to list a few
// hundred mailboxes of a sandbox or CalDAV server, short enough for a form.
// Users not counted in time are estimated from those counted, and the
// figures are marked as estimates.
const DefaultImpactBudget = 10 * time.Second

// impactPageSize is the listing page of a preview's count.
const impactPageSize = 200

// ImpactSummary is the tenant-wide line that comes first.
type ImpactSummary struct {
	Text          string `json:"text"`
	Users         int    `json:"users"`         // users the events concern
	Migrations    int    `json:"migrations"`    // of them, users whose meetings would be migrated
	Meetings      int    `json:"meetings"`      // future meetings they organize that a run would update
	Notifications int    `json:"notifications"` // attendee notifications those updates send
	Estimate      bool   `json:"estimate"`      // some figures are extrapolated: the time budget ran out
}

// UserImpact is one user's part of a preview.
type UserImpact struct {
	User          string `json:"user"`
	Migrate       bool   `json:"migrate"`
	Reason        string `json:"reason"`
	Meetings      int    `json:"meetings"`
	Notifications int    `json:"notifications"`
	Estimate      bool   `json:"estimate"`
}

// Impact is what a batch of events would do, decided and counted without
// recording or starting anything.
type Impact struct {
	Summary ImpactSummary `json:"summary"`
	Users   []UserImpact  `json:"users"`
}

// WithCalendar lets impact previews count meetings in the back end, up to
// horizon ahead (as runs do; 0: two years), within budget (0: the default).
func (s *Service) WithCalendar(b calendar.Backend, horizon, budget time.Duration) *Service {
	s.calendar, s.horizon, s.impactBudget = b, horizon, budget
	return s
}

// Preview decides the events as PostEvents would, including a bridge's
// fan-out, and counts the meetings and notifications the migrations would
// make; it records and starts nothing. The same bad input is refused the
// same way, and a bridge no user is on is refused naming bridgeId.
func (s *Service) Preview(ctx context.Context, tenantID string, events []Event) (Impact, error) {
	events, err := s.checkEvents(ctx, tenantID, events)
	if err != nil {
		return Impact{}, err
	}
	tenant, err := s.tenant(ctx, tenantID)
	if err != nil {
		return Impact{}, err
	}
	profiles := map[string]meetingblock.Profile{} // as the batch leaves them
	byUser := map[string]*UserImpact{}
	var order []string
	kinds := map[string]bool{}
	for i, e := range events {
		targets := []string{e.User}
		if e.User == "" {
			if e.BridgeID == "" {
				continue // tenant-wide: concerns nobody's meetings
			}
			if targets, err = s.bridgeUsers(ctx, tenantID, e.BridgeID); err != nil {
				return Impact{}, internal("bridge users", err)
			}
			if len(targets) == 0 {
				field := at(i, len(events), "bridgeId")
				return Impact{}, invalid(field, "no user of tenant %q is on bridge %q", tenantID, e.BridgeID)
			}
			kinds["bridge change"] = true
		} else {
			kinds[string(e.Type)] = true
		}
		for _, user := range targets {
			old, ok := profiles[user]
			if !ok {
				u, err := s.db.User(ctx, tenantID, user)
				if err != nil {
					return Impact{}, internal("user lookup", err)
				}
				if json.Unmarshal(u.Profile, &old) != nil {
					old = meetingblock.Profile{}
				}
			}
			d := rules.Decide(e.Event, old, tenant.Settings)
			if p, err := rules.Apply(old, e.Event, tenant.Settings); err != nil {
				d.Trigger, d.Reason = false, "ignored: "+err.Error()
			} else {
				profiles[user] = p
			}
			ui := byUser[user]
			if ui == nil {
				ui = &UserImpact{User: user}
				byUser[user] = ui
				order = append(order, user)
			}
			if d.Trigger || ui.Reason == "" {
				ui.Reason = d.Reason
			}
			ui.Migrate = ui.Migrate || d.Trigger
		}
	}
	out := Impact{Users: make([]UserImpact, 0, len(order))}
	for _, u := range order {
		out.Users = append(out.Users, *byUser[u])
	}
	s.count(ctx, tenant, &out)
	out.Summary.Text = summaryText(kinds, out.Summary, s.calendar != nil)
	return out, nil
}

// count fills the migrating users' meetings and notifications from the back
// end within the time budget, then extrapolates the users it did not reach.
func (s *Service) count(ctx context.Context, tenant store.Tenant, imp *Impact) {
	sum := &imp.Summary
	sum.Users = len(imp.Users)
	budget := s.impactBudget
	if budget <= 0 {
		budget = DefaultImpactBudget
	}
	deadline := time.Now().Add(budget)
	cctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var counted, meetings, notes int
	var uncounted []int
	for i := range imp.Users {
		u := &imp.Users[i]
		if !u.Migrate {
			continue
		}
		sum.Migrations++
		if s.calendar == nil || cctx.Err() != nil {
			uncounted = append(uncounted, i)
			continue
		}
		complete := s.countUser(cctx, tenant, u)
		if !complete {
			u.Estimate = true
			if cctx.Err() != nil {
				uncounted = append(uncounted, i) // extrapolated below, with the others
				continue
			}
		}
		counted++
		meetings += u.Meetings
		notes += u.Notifications
	}
	for _, i := range uncounted {
		u := &imp.Users[i]
		u.Estimate = true
		if counted > 0 {
			u.Meetings, u.Notifications = (meetings+counted/2)/counted, (notes+counted/2)/counted
		}
	}
	for _, u := range imp.Users {
		sum.Meetings += u.Meetings
		sum.Notifications += u.Notifications
		sum.Estimate = sum.Estimate || u.Estimate
	}
}

// countUser lists the user's future meetings as a run would and counts the
// ones it would update and the notifications they send; false when the
// listing did not finish (the figures are then what it saw).
func (s *Service) countUser(ctx context.Context, tenant store.Tenant, u *UserImpact) bool {
	mb, err := s.calendar.Mailbox(ctx, tenant.ID, u.User)
	if err != nil {
		u.Reason += fmt.Sprintf(" (meetings not counted: %v)", err)
		return errors.Is(err, calendar.ErrNotFound)
	}
	horizon := s.horizon
	if horizon <= 0 {
		horizon = 2 * 365 * 24 * time.Hour
	}
	now := time.Now().UTC()
	plan := activities.RunPlan{From: now, ParticipantLimit: tenant.Settings.ParticipantLimit, SourceMeetingType: migration.SourceAll}
	cursor := ""
	for {
		page, err := s.calendar.ListMeetings(ctx, tenant.ID, mb.Key(), now, now.Add(horizon), cursor, impactPageSize)
		if err != nil {
			return false
		}
		for _, m := range page.Meetings {
			if activities.SkipReason(plan, m).Reason == migration.ReasonNone {
				u.Meetings++
				u.Notifications += m.Participants() - 1
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			return true
		}
	}
}

// summaryText is the line an admin reads first: "bridge change: 1,240
// users, 18,400 meetings, about 96,000 update mails".
// Without a back end to count in, it says so instead of showing zeros.
func summaryText(kinds map[string]bool, s ImpactSummary, counted bool) string {
	var names []string
	if kinds["bridge change"] {
		names = append(names, "bridge change")
	}
	for k := range kinds {
		if k != "bridge change" {
			names = append(names, k)
		}
	}
	if len(names) > 1 {
		names = []string{fmt.Sprintf("%d changes", len(kinds))}
	}
	if len(names) == 0 {
		names = []string{"no user's change"}
	}
	if !counted {
		return fmt.Sprintf("%s: %s users, %s to migrate; meetings not counted (no calendar back end)", names[0],
			thousands(s.Users), thousands(s.Migrations))
	}
	about := ""
	if s.Estimate {
		about = "about "
	}
	return fmt.Sprintf("%s: %s users, %s%s meetings, %s%s update mails", names[0], thousands(s.Users),
		about, thousands(s.Meetings), about, thousands(s.Notifications))
}

// thousands writes n with comma separators, as the summary's example does.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
