package faulttest

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openmms/mms/internal/calendar/graph/graphtest"
)

// ownerEdit is what an organizer changed in one of their meetings.
type ownerEdit struct {
	subject string // the new subject
	note    string // a line added to the body, outside the block
}

// edit changes the meeting as its organizer would in Outlook: a new subject
// and a line at the top of the body, saved without sending an update.
func (c *cluster) edit(id string, n int) (ownerEdit, error) {
	e := ownerEdit{note: fmt.Sprintf("Moved to room 4.%02d, bring the Q%d figures (edit %d)", n%40, n%4+1, n)}
	err := c.emu.EditEvent(id, func(ev *graphtest.Event) {
		ev.Subject += " (room 4." + fmt.Sprintf("%02d", n%40) + ")"
		e.subject = ev.Subject
		if ev.BodyType == "text" {
			ev.Body = e.note + "\n\n" + ev.Body
			return
		}
		at := 0 // after <body ...> when there is one
		if i := strings.Index(strings.ToLower(ev.Body), "<body"); i >= 0 {
			if j := strings.Index(ev.Body[i:], ">"); j >= 0 {
				at = i + j + 1
			}
		}
		ev.Body = ev.Body[:at] + "<p>" + e.note + "</p>" + ev.Body[at:]
	})
	return e, err
}

// TestOrganizersEditDuringMigration: while their migrations run, the four
// organizers keep editing their own meetings (subject and a line of the body
// outside the block), mostly the ones mms has listed and is about to update:
// its PATCH, made with the etag it listed, meets 412 Precondition Failed,
// and it must re-read the meeting and replace the block again, keeping the
// organizer's edit. A fifth of the edits hit meetings anywhere else.
func TestOrganizersEditDuringMigration(t *testing.T) {
	c := newCluster(t, size)
	c.startAll()
	c.waitWrites(c.total()/20, 2*time.Minute)
	edits := map[string]ownerEdit{}
	rng := rand.New(rand.NewPCG(7, 11))
	perUser := map[string]int{}
	for n := 0; c.writes() < c.total()*9/10 && n < 100*len(c.selected); n++ {
		u := c.selected[n%len(c.selected)]
		evs := c.emu.Events(u) // by start: the order mms lists and updates them in
		var open []graphtest.EventState
		for _, e := range evs {
			if _, done := edits[e.ID]; !done && e.Writes == 0 {
				open = append(open, e)
			}
		}
		if len(open) == 0 {
			continue
		}
		k := 4 + rng.IntN(8) // beyond the four in flight, within the page listed
		if rng.IntN(5) == 0 {
			k = rng.IntN(len(evs)) // anywhere, written or not
			if _, done := edits[evs[k].ID]; done {
				continue
			}
			open = evs
		}
		k = min(k, len(open)-1)
		e, err := c.edit(open[k].ID, n)
		if err != nil {
			t.Fatal(err)
		}
		edits[open[k].ID] = e
		perUser[u]++
		time.Sleep(40 * time.Millisecond)
	}
	t.Logf("%d meetings edited by their organizers %v, %d/%d written by then", len(edits), perUser, c.writes(), c.total())
	f := c.verify(len(edits))
	kept := 0
	for id, e := range edits {
		st, _ := c.emu.Event(id)
		if st.Subject != e.subject || !strings.Contains(st.Body, e.note) {
			t.Errorf("%s: the organizer's edit is lost: subject %q (want %q), note in body: %v", id, st.Subject, e.subject,
				strings.Contains(st.Body, e.note))
			continue
		}
		kept++
	}
	conflicts := 0
	for _, u := range c.selected {
		for _, r := range c.emu.Requests(u) {
			if r.Status == http.StatusPreconditionFailed {
				conflicts++
			}
		}
	}
	retried, _ := c.retriedActivities()
	t.Logf("FIGURES conflicts edits=%d kept=%d 412s=%d retried-activities=%d meetings=%d duplicates=%d duration=%s",
		len(edits), kept, conflicts, len(retried), f.Meetings, f.Duplicates, f.Duration.Round(100*time.Millisecond))
	if conflicts == 0 {
		t.Error("no PATCH met 412: the edits never raced an update, nothing tested")
	}
	if len(edits) < 50 {
		t.Errorf("only %d edits landed before the migration was 90%% done", len(edits))
	}
	for _, r := range retried {
		t.Errorf("a conflict is handled inside the page, yet %s", r)
	}
}

// TestGraphSlow: mid-migration, each organizer's mailbox answers its next
// four requests late, though Graph carries them out at once: two after
// 55 s, longer than the page activity's 30 s heartbeat timeout however the
// SDK batches heartbeats (it sends at most every 24 s, so the timeout comes
// 30-54 s after the last progress), and two after 75 s, longer than the
// client's 60 s request timeout, so the client never learns that its write
// was made and sends it again (If-Match then answers 412 and the re-read
// shows the run's key). No page may be declared dead and run a second time
// beside itself, and nothing may be written or notified twice.
func TestGraphSlow(t *testing.T) {
	c := newCluster(t, size)
	c.abandons = true
	c.startAll()
	c.waitWrites(c.total()/4, 2*time.Minute)
	for _, u := range c.selected {
		c.emu.SlowNext(u, 2, 55*time.Second)
		c.emu.SlowNext(u, 2, 75*time.Second)
	}
	t.Logf("slow answers from %d/%d meetings written", c.writes(), c.total())
	f := c.verify(4 * len(c.selected))
	slow, late412 := map[time.Duration]int{}, 0
	for _, u := range c.selected {
		var lost []string // paths of requests answered after the client's timeout
		for _, r := range c.emu.Requests(u) {
			if r.Delay > 0 {
				slow[r.Delay]++
				if r.Delay > 60*time.Second {
					lost = append(lost, r.Path)
				}
				continue
			}
			for _, p := range lost {
				if r.Path == p && r.Status == http.StatusPreconditionFailed {
					late412++
				}
			}
		}
	}
	retried, activities := c.retriedActivities()
	t.Logf("FIGURES slow answers=%v resent-writes-412=%d activities=%d retried=%d meetings=%d duplicates=%d duration=%s",
		slow, late412, activities, len(retried), f.Meetings, f.Duplicates, f.Duration.Round(100*time.Millisecond))
	if slow[55*time.Second] != 2*len(c.selected) || slow[75*time.Second] != 2*len(c.selected) {
		t.Errorf("slow answers %v, want %d of each", slow, 2*len(c.selected))
	}
	if late412 == 0 {
		t.Error("no write whose answer the client gave up on was sent again: the lost-answer path was not exercised")
	}
	for _, r := range retried {
		t.Errorf("a slow back end must not time out an attempt, yet %s", r)
	}
}
