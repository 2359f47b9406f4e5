package api

import (
	"github.com/openmms/mms/internal/store"

	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/openmms/mms/internal/meetingblock"
)

func post(t *testing.T, url, token, body string) (int, string) {
	return call(t, "POST", url, token, body)
}

func TestPreview(t *testing.T) {
	srv, db := newAPI(t)
	tok, _ := db.CreateToken(context.Background(), "reader", "contoso", store.RoleReader)
	old := meetingblock.Profile{MeetingType: "Teams", Provider: "Microsoft", ConferenceID: "111222333",
		TollNumber: "+1 425-555-0100", JoinURL: "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0"}
	block, err := meetingblock.Render(old, meetingblock.KindTeams, meetingblock.FormatHTML)
	if err != nil {
		t.Fatal(err)
	}
	body := "<html><body><p>Agenda — 日本語 🎉</p>" + block + "<p>Bye</p></body></html>"
	req := map[string]any{"body": body, "format": "html",
		"profile": map[string]any{"meetingType": "Teams", "provider": "Microsoft", "conferenceId": "987654321", "tollNumber": "+1 206-555-0199"}}
	raw, _ := json.Marshal(req)
	code, out := post(t, srv.URL+"/v1/preview", tok, string(raw))
	var res meetingblock.PreviewResult
	if code != 200 || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("preview = %d %s", code, out)
	}
	if res.Outcome != meetingblock.Replaced || !strings.Contains(res.Body, "987654321") ||
		!strings.HasPrefix(res.Body, "<html><body><p>Agenda — 日本語 🎉</p>") || !strings.HasSuffix(res.Body, "<p>Bye</p></body></html>") ||
		!strings.Contains(res.Diff, "+") || res.Old.ConferenceID != "111222333" {
		t.Fatalf("preview result = %+v", res)
	}
	// locale renders the block in French, and the result says why.
	req["locale"] = "fr-CA"
	raw, _ = json.Marshal(req)
	var fr meetingblock.PreviewResult
	if code, out := post(t, srv.URL+"/v1/preview", tok, string(raw)); code != 200 || json.Unmarshal([]byte(out), &fr) != nil ||
		fr.Language != "fr-CA" || fr.LanguageReason != "profile locale fr-CA" || !strings.Contains(fr.Body, "Rejoindre la r&#xE9;union maintenant") {
		t.Fatalf("preview in fr-CA = %d %s", code, out)
	}
	delete(req, "locale")
	req["body"] = res.Body // the new body again: nothing left to do
	raw, _ = json.Marshal(req)
	if code, out := post(t, srv.URL+"/v1/preview", tok, string(raw)); code != 200 || !strings.Contains(out, `"outcome":"up-to-date"`) {
		t.Fatalf("second preview = %d %s", code, out)
	}
	for bad, want := range map[string]string{
		`{"format":"html","profile":{"meetingType":"Teams"}}`:             "body: required",
		`{"body":"x","format":"rtf","profile":{"meetingType":"Teams"}}`:   "format: must be html, text or ical",
		`{"body":"x","profile":{"meetingType":"Zoom"}}`:                   "profile.meetingType",
		`{"body":"x","target":"Webex","profile":{"meetingType":"Teams"}}`: "target: must be Current or Teams",
		`{"body":"x"}`: "profile: required",
		`{"body":"x","profile":{"meetingType":"Teams"},"extra":1}`:            "extra: unknown field",
		`{"body":"x","profile":{"meetingType":"Teams","conferenceId":12345}}`: "profile.conferenceId: must be string",
		`{"body":"x","locale":"xx-YY","profile":{"meetingType":"Teams"}}`:     "locale: must be a language tag",
		`{"body":"x","profile":{"meetingType":"Teams","locale":"en_US"}}`:     "profile.locale: must be a language tag",
	} {
		if code, out := post(t, srv.URL+"/v1/preview", tok, bad); code != 400 || !strings.Contains(out, want) {
			t.Errorf("%s: %d %s, want 400 with %q", bad, code, out, want)
		}
	}
}
