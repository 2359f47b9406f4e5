package activities

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
)

// skypeBackend is the sandbox with its meetings seen as Skype meetings, and
// createOrGet answering per meeting: with the audioConferencing Graph
// returns, or with none (no audio conferencing licence).
type skypeBackend struct {
	calendar.Backend
	mu      sync.Mutex
	created map[string]calendar.OnlineMeeting // by meeting ID
	noAudio string                            // the meeting whose Teams meeting has no dial-in
}

func (s *skypeBackend) ListMeetings(ctx context.Context, tenant, mailbox string, from, to time.Time, cursor string, n int) (calendar.Page, error) {
	p, err := s.Backend.ListMeetings(ctx, tenant, mailbox, from, to, cursor, n)
	for i := range p.Meetings {
		if om := p.Meetings[i].OnlineMeeting; om != nil {
			c := *om
			c.Provider = calendar.ProviderSkype
			p.Meetings[i].OnlineMeeting = &c
		}
	}
	if s.noAudio == "" && len(p.Meetings) > 0 {
		s.noAudio = p.Meetings[len(p.Meetings)-1].ID
	}
	return p, err
}

func (s *skypeBackend) EnsureTeamsMeeting(_ context.Context, _, _, itemID string) (calendar.OnlineMeeting, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	om := calendar.OnlineMeeting{Provider: calendar.ProviderTeams,
		JoinURL: "https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + strings.Trim(itemID, "/#") + "%40thread.v2/0"}
	if itemID != s.noAudio {
		// resources/audioconferencing.md: the meeting's own bridge.
		om.ConferenceID, om.TollNumber, om.TollFreeNumber = "71829304", "+1 425-555-0142", "+1 800-555-0188"
		om.DialInURL = "https://dialin.teams.microsoft.com/22f12fa0-499f-435b-bc69-b8de580ba330?id=71829304"
	}
	s.created[itemID] = om
	return om, nil
}

// TestConversionUsesCreateOrGetAudioConferencing: a meeting converted to
// Teams gets the dial-in of the Teams meeting createOrGet returned (its
// audioConferencing), not the user's profile bridge; a Teams meeting
// without audioConferencing gets a block with no dial-in section and the
// per-meeting note.
func TestConversionUsesCreateOrGetAudioConferencing(t *testing.T) {
	ctx := context.Background()
	db, user := seeded(t, 3)
	be := &skypeBackend{Backend: sandboxIn(t, db), created: map[string]calendar.OnlineMeeting{}}
	a := &Activities{DB: db, Calendar: be, PageSize: 10}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	v, err := env.ExecuteActivity(a.BeginRun, BeginRunInput{TenantID: "t", UserID: user, RunKey: "k", WorkflowID: "wf",
		Trigger: "test", SourceMeetingType: migration.SourceAll, TargetMeetingType: migration.TargetTeams})
	if err != nil {
		t.Fatal(err)
	}
	var plan RunPlan
	if err := v.Get(&plan); err != nil || plan.Blocked != "" {
		t.Fatalf("plan = %+v, %v", plan, err)
	}
	// A Skype user converted by hand: their profile still describes the
	// Skype bridge, which must not reach the new Teams meetings. (A Teams
	// profile's dial-in is the user's own, written on every Teams meeting:
	// TestConvertedMeetingsAreAFixedPoint.)
	plan.Profile.MeetingType = string(meetingblock.KindSfB)
	if v, err = env.ExecuteActivity(a.ProcessPage, PageInput{Plan: plan}); err != nil {
		t.Fatal(err)
	}
	var pr PageResult
	if err := v.Get(&pr); err != nil || pr.Updated != 3 || pr.Failed != 0 {
		t.Fatalf("page = %+v, %v", pr, err)
	}
	rec, err := db.MeetingResults(ctx, plan.MigrationID)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, r := range rec {
		reasons[r.MeetingID] = r.Reason
	}
	sb := be.Backend.(interface {
		Meetings(context.Context, string, string) ([]calendar.Meeting, error)
	})
	ms, err := sb.Meetings(ctx, "t", user)
	if err != nil {
		t.Fatal(err)
	}
	if len(be.created) != 3 {
		t.Fatalf("createOrGet called for %d meetings, want 3", len(be.created))
	}
	for _, m := range ms {
		om, ok := be.created[m.ID]
		if !ok {
			continue
		}
		format := meetingblock.FormatHTML
		if m.BodyType == calendar.BodyText {
			format = meetingblock.FormatText
		}
		blk, err := meetingblock.Find(m.Body, format)
		if err != nil {
			t.Fatalf("%s: %v", m.Subject, err)
		}
		if blk.Kind != meetingblock.KindTeams || blk.JoinURL != om.JoinURL {
			t.Errorf("%s: block %+v, want the Teams meeting %s", m.Subject, blk, om.JoinURL)
		}
		if m.ID == be.noAudio {
			if blk.ConferenceID != "" || len(blk.TollNumbers) != 0 || strings.Contains(m.Body, "dialin") {
				t.Errorf("%s: no audioConferencing, yet a dial-in section: %+v", m.Subject, blk)
			}
			if reasons[m.ID] != NoDialInNote {
				t.Errorf("%s: result reason %q, want %q", m.Subject, reasons[m.ID], NoDialInNote)
			}
			continue
		}
		if blk.ConferenceID != om.ConferenceID {
			t.Errorf("%s: conference ID %q, want createOrGet's %q", m.Subject, blk.ConferenceID, om.ConferenceID)
		}
		if len(blk.TollNumbers) == 0 || blk.TollNumbers[0] != "+14255550142" {
			t.Errorf("%s: toll numbers %v, want createOrGet's %s first", m.Subject, blk.TollNumbers, om.TollNumber)
		}
		if !strings.Contains(m.Body, om.DialInURL) && !strings.Contains(m.Body, strings.ReplaceAll(om.DialInURL, "&", "&amp;")) {
			t.Errorf("%s: the dial-in URL %s is not in the body", m.Subject, om.DialInURL)
		}
		if reasons[m.ID] == NoDialInNote {
			t.Errorf("%s: noted as without dial-in", m.Subject)
		}
	}
}
