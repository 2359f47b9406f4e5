package graph_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openmms/mms/internal/cputime"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/graph/graphtest"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
)

// BenchmarkMigratePage is what the worker does to a mailbox, per Graph
// request: list a page (calendarView), replace each meeting's block
// (meetingblock, the engine) and PATCH it, 4 requests in flight as the
// per-mailbox limit allows, against the graphtest emulator over real HTTP
// on loopback. Each iteration migrates the page again to a new conference
// ID, so every meeting is patched. The figures per request include the
// emulator's own CPU (it runs in this process): docs/PERFORMANCE.md has the
// profile that splits them.
func BenchmarkMigratePage(b *testing.B) {
	const meetings = 48
	e := newEnv(b, graphtest.Options{})
	p := meetingblock.Profile{MeetingType: "Teams", ConferenceID: "903184275", TollNumber: "+1 206-555-0142",
		TollFreeNumbers: []string{"+1 888-555-0199"}, Provider: "Microsoft", Locale: "en-US",
		JoinURL: "https://teams.microsoft.com/l/meetup-join/19%3ameeting_N2Q1%40thread.v2/0?context=%7b%22Tid%22%3a%2272f988bf%22%7d"}
	block, err := meetingblock.Render(p, meetingblock.KindTeams, meetingblock.FormatHTML)
	if err != nil {
		b.Fatal(err)
	}
	p.JoinURL = "" // later runs keep the meeting's own link
	// A 10 KB body: Word-style agenda around the block, as Outlook writes it.
	para := `<p class="MsoNormal"><span style="font-family:Aptos">Point 7: revue du budget – 予算の確認 <a href="https://contoso.sharepoint.com/sites/x/Doc.docx">Doc.docx</a>, see §4 &amp; annex.</span><o:p></o:p></p>` + "\r\n"
	agenda := strings.Repeat(para, (10<<10-len(block))/len(para)/2)
	body := "<html><head><meta charset=\"utf-8\"></head><body>" + agenda + block + agenda + "</body></html>"
	for i := range meetings {
		e.add(alice, graphtest.Event{Start: day0.Add(time.Duration(i) * time.Hour), Body: body})
	}
	ctx := context.Background()
	// The worker addresses the mailbox by the object ID Mailbox resolves.
	mb, err := e.b.Mailbox(ctx, "t1", alice)
	if err != nil {
		b.Fatal(err)
	}
	from, to := day0.Add(-time.Hour), day0.Add(30*24*time.Hour)
	run := func(i int) {
		p.ConferenceID = fmt.Sprintf("%09d", 100000000+i)
		page, err := e.b.ListMeetings(ctx, "t1", mb.ID, from, to, "", meetings)
		if err != nil || len(page.Meetings) != meetings || page.NextCursor != "" {
			b.Fatalf("listing: %d meetings, next %q, %v", len(page.Meetings), page.NextCursor, err)
		}
		sem := make(chan struct{}, 4)
		var wg sync.WaitGroup
		for _, m := range page.Meetings {
			res := meetingblock.Replace(m.Body, meetingblock.FormatHTML, p, migration.TargetCurrent)
			if res.Outcome != meetingblock.Replaced {
				b.Fatalf("%s: %s %s", m.ID, res.Outcome, res.Reason)
			}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				_, err := e.b.UpdateMeeting(ctx, "t1", calendar.Update{Mailbox: mb.ID, MeetingID: m.ID, ETag: m.ETag,
					Body: res.Body, IdempotencyKey: fmt.Sprintf("run%d-%s", i, m.ID)})
				if err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
	}
	run(0) // the token, the mailbox lookup, connections: once per worker, not per page
	before := e.b.Stats()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := cputime.Process()
	b.ResetTimer()
	i := 1
	for b.Loop() {
		run(i)
		i++
	}
	b.StopTimer()
	cpu := cputime.Process() - cpu0
	runtime.ReadMemStats(&ms1)
	after := e.b.Stats()
	reqs := float64(after.Requests() - before.Requests())
	if reqs == 0 {
		b.Fatal("no requests")
	}
	if after.TokenRequests != before.TokenRequests {
		b.Errorf("%d token requests during the run: the token is fetched once", after.TokenRequests-before.TokenRequests)
	}
	if got := after.MaxInFlight["t1/"+strings.ToLower(mb.ID)]; got > 4 {
		b.Errorf("%d requests in flight for one mailbox", got)
	}
	b.ReportMetric(reqs/float64(b.N), "requests/op")
	b.ReportMetric(float64(cpu.Microseconds())/reqs, "cpu-µs/request")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/reqs, "allocs/request")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/reqs, "B/request")
}
