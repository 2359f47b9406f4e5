package devstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/openmms/mms/internal/calendar/sandbox"
	"github.com/openmms/mms/internal/store"
)

// BenchmarkGraphMailbox migrates one mailbox of 1,000 meetings through the
// Graph client against the emulator at 100 ms per call, and reports the
// time next to the floor Graph's limits allow: every update is one PATCH,
// at most 4 in flight per mailbox, so ceil(1000/4) x 100 ms, plus the
// listing (one calendarView call per page, the pages one after another).
//
//	go test -run '^$' -bench GraphMailbox -benchtime 1x ./internal/devstack
func BenchmarkGraphMailbox(b *testing.B) {
	const meetings, latency, pageSize = 1000, 100 * time.Millisecond, 50
	ctx := context.Background()
	st, err := Start(ctx, Config{DataDir: b.TempDir(), APIAddr: "127.0.0.1:0", TemporalAddr: freeAddr(b),
		UIAddr: "-", SeedDemo: true, PageSize: pageSize, Calendar: CalendarGraphEmulator, GraphLatency: latency,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Stop(ctx)
	c := client_{t: b, base: st.APIURL, token: st.AdminToken}
	pages := math.Ceil(float64(meetings)/pageSize) + 1 // the last page says there is no next
	floor := time.Duration(math.Ceil(meetings/4.0)+pages) * latency
	var total time.Duration
	for i := 0; b.Loop(); i++ {
		// A fresh mailbox each iteration, mirrored into the emulator.
		b.StopTimer()
		users, err := sandbox.SeedBulk(ctx, st.DB, sandbox.BulkOptions{Tenant: "contoso", Users: 1, Meetings: meetings}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if err := mirrorUser(ctx, st, "contoso", users[0]); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if code, raw := c.do("POST", "/v1/tenants/contoso/migrations", st.AdminToken, map[string]any{"user": users[0]}); code != 202 {
			b.Fatalf("start = %d %s", code, raw)
		}
		d := c.waitRecord(users[0], "", 10*time.Minute)
		took := time.Since(start)
		total += took
		if d.State != store.StateSucceeded || d.SucceededMeeting != meetings || d.InvitesUpdate != meetings {
			b.Fatalf("record = %+v", d.Migration)
		}
		if n := st.Emulator.MaxInFlight(users[0]); n > 4 {
			b.Fatalf("%d requests in flight for one mailbox", n)
		}
		b.Logf("%d meetings in %s, floor %s (%.2fx)", meetings, took.Round(time.Millisecond), floor, took.Seconds()/floor.Seconds())
	}
	per := total.Seconds() / float64(b.N)
	b.ReportMetric(per, "s/mailbox")
	b.ReportMetric(floor.Seconds(), "floor-s")
	b.ReportMetric(per/floor.Seconds(), "x-floor")
	b.ReportMetric(meetings/per, "meetings/s")
}

// mirrorUser puts one directory user's sandbox mailbox into the emulator.
func mirrorUser(ctx context.Context, st *Stack, tenant, user string) error {
	t := st.Calendar.Kinds()
	if t[tenant] != "graph" {
		return fmt.Errorf("tenant %s is not on the Graph emulator", tenant)
	}
	return mirrorMailbox(ctx, st.Sandbox, st.Emulator, tenant, tenant+".onmicrosoft.com", user)
}
