package graph_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/graph"
	"github.com/openmms/mms/internal/calendar/graph/graphtest"
)

// A user renamed: mail bob.fischer@contoso.com, UPN bfischer@corp.contoso.com.
// In strict mode every request after GET /users/{upn} names the object ID,
// the organizer written with a proxy address is the owner, and Graph
// notifies each attendee once.
func TestMailDiffersFromUPNStrict(t *testing.T) {
	e := newEnv(t, graphtest.Options{Strict: true})
	ctx := context.Background()
	const upn, mail = "bfischer@corp.contoso.com", "bob.fischer@contoso.com"
	id := e.srv.AddDirectoryUser(graphtest.User{Tenant: azTenant, UserPrincipalName: upn, Mail: mail,
		ProxyAddresses: []string{"SMTP:" + mail, "smtp:Bob@Contoso.com"}, DisplayName: "Bob Fischer"})
	evID := e.add(mail, graphtest.Event{Subject: "Sync", Organizer: "bob@contoso.com", Start: day0.Add(3 * 3600e9),
		Attendees: []graphtest.Attendee{{Address: "dana@contoso.com"}, {Address: "BOB@contoso.com"}},
		Body:      oldBlock, IsOnlineMeeting: true, Provider: "skypeForBusiness"})

	_, err := e.b.Mailbox(ctx, "t1", mail)
	require.ErrorContains(t, err, "Graph does not know this mailbox", "a mail address that is not the UPN names nobody")
	mb, err := e.b.Mailbox(ctx, "t1", upn)
	require.NoError(t, err)
	assert.Equal(t, id, mb.ID)
	assert.Equal(t, mail, mb.Address)

	page, err := e.b.ListMeetings(ctx, "t1", mb.Key(), day0, day0.Add(48*3600e9), "", 50)
	require.NoError(t, err)
	require.Len(t, page.Meetings, 1)
	m := page.Meetings[0]
	assert.True(t, m.IsOrganizer, "organizer written with a proxy address")
	om, err := e.b.EnsureTeamsMeeting(ctx, "t1", mb.Key(), m.ID)
	require.NoError(t, err)
	res, err := e.b.UpdateMeeting(ctx, "t1", calendar.Update{Mailbox: mb.Key(), MeetingID: m.ID, ETag: m.ETag,
		Body: strings.Replace(m.Body, oldBlock, newBlock, 1), OnlineMeeting: &om, IdempotencyKey: "k/" + m.ID})
	require.NoError(t, err)
	assert.Equal(t, 1, res.InvitesSent, "the owner's own address is not an invitee")
	assert.Equal(t, 1, e.srv.NotificationCount(evID))

	assert.Empty(t, e.srv.StrictViolations())
	for _, r := range e.srv.Requests(upn) {
		if r.Path == "/v1.0/users/"+upn {
			continue // the one directory lookup
		}
		assert.Contains(t, r.Path, "/users/"+id+"/", "request %s %s", r.Method, r.Path)
	}
}

// Without an audio conferencing licence createOrGet answers
// audioConferencing null: the meeting has no dial-in.
func TestTeamsMeetingWithoutAudioConferencing(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	id := e.srv.AddDirectoryUser(graphtest.User{Tenant: azTenant, UserPrincipalName: "nolic@contoso.com", NoAudioConferencing: true})
	item := e.add("nolic@contoso.com", graphtest.Event{Subject: "x", Start: day0.Add(3600e9)})
	om, err := e.b.EnsureTeamsMeeting(context.Background(), "t1", id, item)
	require.NoError(t, err)
	assert.NotEmpty(t, om.JoinURL)
	assert.Empty(t, om.ConferenceID+om.TollNumber+om.TollFreeNumber+om.DialInURL)
}

// A 404 for the mailbox, and a refused credential, are permanent.
func TestPermanentRefusals(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	e.srv.DropMailbox(bob)
	_, err := e.b.Mailbox(context.Background(), "t1", bob)
	var perm *calendar.PermanentError
	require.True(t, errors.As(err, &perm), err)
	assert.Equal(t, "Graph does not know this mailbox (ErrorInvalidUser): check the user's userPrincipalName", perm.Message)
	assert.ErrorIs(t, err, calendar.ErrNotFound)

	e.cfg.ClientSecret = "wrong"
	_, err = e.backend().Mailbox(context.Background(), "t1", alice)
	require.True(t, errors.As(err, &perm), err)
	assert.Contains(t, perm.Message, "AADSTS7000215")
	assert.NotContains(t, err.Error(), "wrong")
}

// Conformance: the documented example responses (dates moved to the test
// window, nothing else changed) go through the client's parser. Pages:
// api-reference/v1.0/api/user-get.md (example 1), event-get.md (response 2),
// user-list-calendarview.md, event-update.md, onlinemeeting-createorget.md,
// resources/audioconferencing.md (microsoftgraph/microsoft-graph-docs-contrib).
func TestDocumentedExamples(t *testing.T) {
	const userID = "87d349ed-44d7-43e1-9a83-5f2406dee5bd"
	start, end := day0.Add(17*3600e9).Format("2006-01-02T15:04:05.0000000"), day0.Add(17*3600e9+1800e9).Format("2006-01-02T15:04:05.0000000")
	// user-get.md, example 1.
	userJSON := `{"businessPhones":["+1 425 555 0109"],"displayName":"Adele Vance","givenName":"Adele","jobTitle":"Retail Manager",
"mail":"AdeleV@contoso.com","mobilePhone":"+1 425 555 0109","officeLocation":"18/2111","preferredLanguage":"en-US",
"surname":"Vance","userPrincipalName":"AdeleV@contoso.com","id":"` + userID + `"}`
	// event-get.md, response 2 (body shortened to its first words).
	eventJSON := `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users('48d31887-5fad-4d73-a9f5-3c356e68a038')/events(subject,body,bodyPreview,organizer,attendees,start,end,location,locations)/$entity",
"@odata.etag":"W/\"IiLKjG2I7E+Xv0+ys6MD0wAEd5/kNQ==\"",
"id":"AAMkAGVmMDEzMTM4LTZmYWUtNDdkNC1hMDZiLTU1OGY5OTZhYmY4OABGAAAAAAAiQ8W967B7TKBjgx9rVEURBwAiIsqMbYjsT5e-T7KzowPTAAAAAAENAAAiIsqMbYjsT5e-T7KzowPTAAAa_WKzAAA=",
"subject":"New Product Regulations Touchpoint","bodyPreview":"New Product Regulations Strategy Online Touchpoint Meeting",
"body":{"contentType":"html","content":"<html><head></head><body>New Product Regulations Strategy Online Touchpoint Meeting</body></html>"},
"start":{"dateTime":"` + start + `","timeZone":"UTC"},"end":{"dateTime":"` + end + `","timeZone":"UTC"},
"location":{"displayName":"Conf Room Rainier","locationType":"default","uniqueId":"Conf Room Rainier","uniqueIdType":"private"},
"attendees":[{"type":"required","status":{"response":"none","time":"0001-01-01T00:00:00Z"},"emailAddress":{"name":"Engineering","address":"engineering@M365x214355.onmicrosoft.com"}},
{"type":"required","status":{"response":"none","time":"0001-01-01T00:00:00Z"},"emailAddress":{"name":"Irvin Sayers","address":"IrvinS@M365x214355.onmicrosoft.com"}}],
"organizer":{"emailAddress":{"name":"Engineering","address":"engineering@M365x214355.onmicrosoft.com"}}}`
	// user-list-calendarview.md: its one example item (no times), in a page.
	viewItem := `{"originalStartTimeZone":"Pacific Standard Time","originalEndTimeZone":"Pacific Standard Time",
"responseStatus":{"response":"accepted","time":"2016-10-19T10:37:00Z"},
"iCalUId":"040000008200E00074C5B7101A82E00800000000D3D70B8A6A17D70100000000000000001000000074665914A06C3F49BB4B7D7EEE4304DA",
"reminderMinutesBeforeStart":15,"isReminderOn":true}`
	// onlinemeeting-createorget.md (its trailing commas removed: JSON has none).
	createJSON := `{"id":"(redacted)","creationDateTime":"2020-09-11T06:30:18.1909168Z","startDateTime":"2020-09-11T06:30:18.0615989Z",
"endDateTime":"2020-09-11T07:30:18.0615989Z","joinWebUrl":"https://teams.microsoft.com/l/meetup-join/19%3ameeting_X%40thread.v2/0",
"subject":"Create a meeting with customId provided","isBroadcast":false,"autoAdmittedUsers":"EveryoneInCompany",
"externalId":"7eb8263f-d0e0-4149-bb1c-1f0476083c56",
"participants":{"organizer":{"upn":"(redacted)","role":"presenter","identity":{"user":{"id":"(redacted)"}}},"attendees":[],"producers":[],"contributors":[]},
"lobbyBypassSettings":{"scope":"organization","isDialInBypassEnabled":false},
"audioConferencing":{"conferenceId":"177513992","tollNumber":"+1 206-485-3005","tollFreeNumber":null,
"dialinUrl":"https://dialin.teams.microsoft.com/0e73a853-1cc2-436c-b18c-9f53e0a97c24?id=177513992"},
"chatInfo":{"threadId":"19:7ebda77322dd4505ac4dedb5b67df076@thread.tacv2","messageId":"0","replyChainMessageId":null}}`
	var eventID struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(eventJSON), &eventID))

	mux := http.NewServeMux()
	write := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
		}
	}
	mux.HandleFunc("POST /tenant/oauth2/v2.0/token", write(`{"token_type":"Bearer","expires_in":3599,"access_token":"t"}`))
	mux.HandleFunc("GET /v1.0/users/AdeleV@contoso.com", write(userJSON))
	mux.HandleFunc("GET /v1.0/users/"+userID+"/calendar", write(`{"id":"AAMkCal"}`))
	mux.HandleFunc("GET /v1.0/users/"+userID+"/calendarView", write(`{"value":[`+eventJSON+`,`+viewItem+`]}`))
	mux.HandleFunc("GET /v1.0/users/"+userID+"/events/{id}", write(eventJSON))
	mux.HandleFunc("POST /v1.0/users/"+userID+"/onlineMeetings/createOrGet", write(createJSON))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	b := graph.New(func(context.Context, string) (graph.TenantConfig, error) {
		return graph.TenantConfig{AzureTenantID: "tenant", ClientID: "c", ClientSecret: "s",
			BaseURL: srv.URL + "/v1.0", TokenURL: srv.URL + "/tenant/oauth2/v2.0/token"}, nil
	})
	ctx := context.Background()
	mb, err := b.Mailbox(ctx, "t", "AdeleV@contoso.com")
	require.NoError(t, err)
	assert.Equal(t, calendar.Mailbox{ID: userID, Address: "AdeleV@contoso.com", DisplayName: "Adele Vance", Online: true}, mb)
	page, err := b.ListMeetings(ctx, "t", mb.Key(), day0, day0.Add(48*3600e9), "", 10)
	require.NoError(t, err)
	require.Len(t, page.Meetings, 2)
	m := page.Meetings[0]
	assert.Equal(t, `W/"IiLKjG2I7E+Xv0+ys6MD0wAEd5/kNQ=="`, m.ETag)
	assert.Equal(t, day0.Add(17*3600e9), m.Start, "7-digit fraction, no Z, timeZone UTC")
	assert.Equal(t, "engineering@M365x214355.onmicrosoft.com", m.Organizer)
	assert.Len(t, m.Attendees, 2)
	assert.Empty(t, m.Unreadable)
	om, err := b.EnsureTeamsMeeting(ctx, "t", mb.Key(), eventID.ID)
	require.NoError(t, err)
	assert.Equal(t, calendar.OnlineMeeting{Provider: calendar.ProviderTeams,
		JoinURL: "https://teams.microsoft.com/l/meetup-join/19%3ameeting_X%40thread.v2/0", ConferenceID: "177513992",
		TollNumber: "+1 206-485-3005", DialInURL: "https://dialin.teams.microsoft.com/0e73a853-1cc2-436c-b18c-9f53e0a97c24?id=177513992"}, om)
}
