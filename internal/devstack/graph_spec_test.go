package devstack

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/openmms/mms/internal/calendar/graph/graphtest"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/store"
)

// TestEndToEndMailDiffersFromUPNStrict is issue 17's first "Done when": a
// user renamed (mail and UPN differ, a third address among the
// proxyAddresses) migrates end to end through the emulator in strict mode,
// which refuses any request after the directory lookup that does not name
// the user by object ID; the request log shows that every one did.
func TestEndToEndMailDiffersFromUPNStrict(t *testing.T) {
	st := startStack(t, Config{DataDir: t.TempDir(), APIAddr: freeAddr(t), TemporalAddr: freeAddr(t), UIAddr: "-",
		Calendar: CalendarGraphEmulator, GraphStrict: true})
	defer st.Stop(context.Background())
	ctx := context.Background()
	c := client_{t: t, base: st.APIURL, token: st.AdminToken}
	const alice = "alice@contoso.com"
	const upn, mail, proxy = "bfischer@corp.contoso.com", "bob.fischer@contoso.com", "b.fischer@contoso.com"
	id := st.Emulator.AddDirectoryUser(graphtest.User{Tenant: "contoso.onmicrosoft.com", UserPrincipalName: upn, Mail: mail,
		ProxyAddresses: []string{"SMTP:" + mail, "smtp:" + proxy}, DisplayName: "Bob Fischer"})
	// The renamed user gets alice's profile and a copy of her future
	// online meetings, organized under the proxy address.
	au, err := st.DB.User(ctx, "contoso", alice)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DB.PutUser(ctx, store.User{TenantID: "contoso", ID: upn, DisplayName: "Bob Fischer", Profile: au.Profile}); err != nil {
		t.Fatal(err)
	}
	copied := map[string]int{} // emulator id -> attendees
	for _, ev := range st.Emulator.Events(alice) {
		if ev.Type != "singleInstance" || !ev.IsOnlineMeeting || len(ev.Attendees) >= 250 || !ev.Start.After(time.Now().Add(time.Hour)) || ev.Organizer != alice {
			continue
		}
		e := ev.Event
		e.Organizer = proxy
		nid, err := st.Emulator.AddEvent(upn, e)
		if err != nil {
			t.Fatal(err)
		}
		copied[nid] = len(e.Attendees)
	}
	if len(copied) == 0 {
		t.Fatal("no future single online meeting of alice's to copy")
	}
	if code, raw := c.do("POST", "/v1/tenants/contoso/migrations", st.AdminToken, map[string]any{"user": upn}); code != 202 {
		t.Fatalf("start = %d %s", code, raw)
	}
	d := c.waitRecord(upn, "", 2*time.Minute)
	if d.State != migration.StateSucceeded || d.SucceededMeeting != len(copied) || d.FailedMeeting != 0 {
		for _, m := range d.Meetings {
			t.Logf("%s %s %s %s", m.Subject, m.Start.Format(time.RFC3339), m.Outcome, m.Reason)
		}
		t.Fatalf("record = %+v, want %d updated", d.StatusRecord, len(copied))
	}
	for nid, attendees := range copied {
		nu, _ := st.Emulator.Event(nid)
		if nu.Writes != 1 {
			t.Errorf("%q: %d writes, want 1", nu.Subject, nu.Writes)
		}
		if n := st.Emulator.NotificationCount(nid); n != attendees {
			t.Errorf("%q: %d notifications, want %d", nu.Subject, n, attendees)
		}
		if _, err := meetingblock.Find(nu.Body, meetingblock.FormatHTML); err != nil {
			t.Errorf("%q: no block after the migration: %v", nu.Subject, err)
		}
	}
	if v := st.Emulator.StrictViolations(); len(v) != 0 {
		t.Fatalf("requests naming the user by other than its object ID: %v", v)
	}
	reqs := st.Emulator.Requests(upn)
	byID := 0
	for _, r := range reqs {
		switch {
		case strings.EqualFold(r.Path, "/v1.0/users/"+upn):
			// the one directory lookup, by UPN as documented
		case strings.HasPrefix(r.Path, "/v1.0/users/"+id+"/"):
			byID++
		default:
			t.Errorf("%s %s does not name the object ID %s", r.Method, r.Path, id)
		}
		if strings.Contains(strings.ToLower(r.Path), strings.ToLower(mail)) {
			t.Errorf("%s %s names the mail address", r.Method, r.Path)
		}
	}
	patches := 0
	for _, r := range reqs {
		if r.Method == "PATCH" && strings.HasPrefix(r.Path, "/v1.0/users/"+id+"/events/") {
			patches++
		}
	}
	if byID < 1+len(copied) || patches != len(copied) { // calendarView, then one PATCH per meeting
		t.Errorf("%d requests by object ID, %d PATCHes: %v", byID, patches, reqs)
	}
}

// TestEndToEndUnknownMailboxFailsAtOnce is issue 17's permanent-404 case:
// a mailbox Graph does not know (404 ErrorInvalidUser) is not retried for
// minutes; the run ends Failed after one attempt with the message that
// tells the administrator what to check.
func TestEndToEndUnknownMailboxFailsAtOnce(t *testing.T) {
	st := startStack(t, Config{DataDir: t.TempDir(), APIAddr: freeAddr(t), TemporalAddr: freeAddr(t), UIAddr: "-",
		Calendar: CalendarGraphEmulator})
	defer st.Stop(context.Background())
	c := client_{t: t, base: st.APIURL, token: st.AdminToken}
	const alice = "alice@contoso.com"
	st.Emulator.DropMailbox(alice)
	if code, raw := c.do("POST", "/v1/tenants/contoso/migrations", st.AdminToken, map[string]any{"user": alice}); code != 202 {
		t.Fatalf("start = %d %s", code, raw)
	}
	d := c.waitRecord(alice, "", 30*time.Second)
	const want = "Graph does not know this mailbox (ErrorInvalidUser): check the user's userPrincipalName"
	if d.State != migration.StateFailed || d.LastMessage != want {
		t.Fatalf("record = %+v, want Failed with %q", d.StatusRecord, want)
	}
	// One attempt: a retried BeginRun would ask again after its backoff.
	time.Sleep(3 * time.Second)
	refused := 0
	for _, r := range st.Emulator.Requests(alice) {
		if r.Status == 404 {
			refused++
		}
	}
	if refused != 1 {
		t.Fatalf("%d requests answered 404, want one attempt: %v", refused, st.Emulator.Requests(alice))
	}
	if d.RetryCount != 0 {
		t.Errorf("retryCount = %d, want 0", d.RetryCount)
	}
}
