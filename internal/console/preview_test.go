package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/store"
)

// The impact preview form composes a bridge change or a conference ID
// change, or takes pasted events, and shows the service's summary line and
// per-user table; a bridge nobody is on is refused naming bridgeId on the
// form. Nothing is recorded. (Counting meetings in a back end, and the
// counts against a sandbox, are the browser test's: internal/devstack.)
func TestPreviewForm(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	profile, _ := json.Marshal(meetingblock.Profile{MeetingType: "SfB", ConferenceID: "1111", TollNumber: "+33 1 00 00 00 00", BridgeID: "paris-1"})
	if err := f.db.PutUser(ctx, store.User{TenantID: "contoso", ID: alice, Profile: profile}); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	b.signIn(f.tokens["contoso-admin"])
	page := b.do("GET", "/console/t/contoso/preview", nil)
	if page.code != 200 || !strings.Contains(page.body, `id="preview-form"`) {
		t.Fatalf("preview page: %d %.300s", page.code, page.body)
	}
	csrf := csrfOf(t, page.body)
	before := records(t, f.db)
	events := func() int {
		evs, err := f.db.Events(ctx, "contoso", "", 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	for _, tc := range []struct {
		form  url.Values
		code  int
		wants []string
	}{
		{url.Values{"kind": {"bridge"}, "bridgeId": {"paris-1"}, "oldNumber": {"+33 1 00 00 00 00"}, "newNumber": {"+33 1 99 99 99 99"}}, 200,
			[]string{`id="impact-summary"><strong>bridge change: 1 users`, `<td>` + alice + `</td><td>would run</td>`, `data-count="users">1<`}},
		{url.Values{"kind": {"conferenceId"}, "user": {alice}, "conferenceId": {"2222"}}, 200,
			[]string{`id="impact-summary"><strong>conferenceIdChanged: 1 users`, `<td>` + alice + `</td>`}},
		{url.Values{"kind": {"json"}, "events": {`[{"type":"conferenceIdChanged","user":"` + alice + `","conferenceId":"3333"}]`}}, 200,
			[]string{`id="impact-summary"`, `value="json" checked`}},
		{url.Values{"kind": {"bridge"}, "bridgeId": {"nowhere"}, "oldNumber": {"+33 1 00 00 00 00"}, "newNumber": {"+33 1 99 99 99 99"}}, 400,
			[]string{`id="form-error">bridgeId: no user of tenant`, `id="p-bridge" name="bridgeId" type="text" maxlength="200" value="nowhere" aria-invalid="true"`}},
		{url.Values{"kind": {"bridge"}, "bridgeId": {"paris-1"}, "oldNumber": {"+33 1 00 00 00 00"}}, 400, []string{`id="form-error">newNumber: required`}},
		{url.Values{"kind": {"conferenceId"}, "user": {"nobody@contoso.com"}, "conferenceId": {"123456"}}, 404, []string{`id="form-error">user: `}},
		{url.Values{"kind": {"json"}, "events": {`{"type":"conferenceIdChanged","colour":"red"}`}}, 400, []string{`id="form-error">events: `, "colour"}},
		{url.Values{"kind": {"telepathy"}}, 400, []string{`id="form-error">kind: `}},
	} {
		tc.form.Set("csrf", csrf)
		r := b.do("POST", "/console/t/contoso/preview", tc.form)
		if r.code != tc.code {
			t.Errorf("%v: %d, want %d: %s", tc.form, r.code, tc.code, errorOf(r.body))
			continue
		}
		for _, w := range tc.wants {
			if !strings.Contains(r.body, w) {
				t.Errorf("%v: no %q in %.3000s", tc.form, w, r.body)
			}
		}
	}
	if records(t, f.db) != before || events() != 0 {
		t.Errorf("a preview recorded something: %d records (were %d), %d events", records(t, f.db), before, events())
	}

	// Tokens that may not post events may not preview them (the API's rule).
	for _, name := range []string{"contoso-operator", "contoso-reader"} {
		o := f.browser()
		o.signIn(f.tokens[name])
		p := o.do("GET", "/console/t/contoso/preview", nil)
		if p.code != 200 || strings.Contains(p.body, `id="preview-form"`) {
			t.Errorf("%s: %d, form shown", name, p.code)
		}
		r := o.do("POST", "/console/t/contoso/preview", url.Values{"csrf": {csrfOf(t, p.body)}, "kind": {"bridge"}, "bridgeId": {"paris-1"}})
		if r.code != http.StatusForbidden {
			t.Errorf("%s previewing: %d", name, r.code)
		}
	}
}
