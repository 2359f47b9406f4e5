package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/openmms/mms/internal/directory"
	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/store"
)

func tokens(t *testing.T, db *store.DB) (service, admin, bound, reader string) {
	t.Helper()
	ctx := context.Background()
	var err error
	for _, tk := range []struct {
		dst                *string
		name, tenant, role string
	}{
		{&service, "ops", "", store.RoleServiceAdmin}, {&admin, "root", "", store.RoleAdmin},
		{&bound, "contoso-admin", "contoso", store.RoleAdmin}, {&reader, "look", "", store.RoleReader},
	} {
		if *tk.dst, err = db.CreateToken(ctx, tk.name, tk.tenant, tk.role); err != nil {
			t.Fatal(err)
		}
	}
	return
}

func TestTenantLifecycleNeedsAServiceAdmin(t *testing.T) {
	srv, db := newAPI(t)
	service, admin, bound, _ := tokens(t, db)
	url := srv.URL + "/v1/tenants"
	for _, tok := range []string{admin, bound} {
		if code, body := call(t, "POST", url, tok, `{"id":"northwind"}`); code != 403 {
			t.Fatalf("an admin created a tenant: %d %s", code, body)
		}
		if code, body := call(t, "DELETE", url+"/contoso", tok, ""); code != 403 {
			t.Fatalf("an admin deleted a tenant: %d %s", code, body)
		}
	}
	for _, tc := range []struct{ body, want string }{
		{`{"id":"../x"}`, "id: must be letters"},
		{`{"id":"Northwind"}`, "id: must be lower case"},
		{`{"id":""}`, "id: required"},
		{`{"id":"` + strings.Repeat("a", 129) + `"}`, "id: at most 128 bytes"},
		{`{"id":"ok","displayName":5}`, "displayName: must be string"},
		{`{"id":"ok","colour":"red"}`, "colour: unknown field"},
	} {
		if code, body := call(t, "POST", url, service, tc.body); code != 400 || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s, want 400 %q", tc.body, code, body, tc.want)
		}
	}
	code, body := call(t, "POST", url, service, `{"id":"northwind","displayName":"Northwind Traders"}`)
	var created store.Tenant
	if code != 201 || json.Unmarshal([]byte(body), &created) != nil || created.ID != "northwind" ||
		!created.Settings.MeetingMigrationEnabled || created.Settings.QuietPeriodSeconds == 0 {
		t.Fatalf("create = %d %s", code, body)
	}
	if code, body := call(t, "POST", url, service, `{"id":"northwind"}`); code != 409 || !strings.Contains(body, "tenant_exists") {
		t.Fatalf("create again = %d %s", code, body)
	}
	if code, body := get(t, url, service); code != 200 || !strings.Contains(body, "Northwind Traders") {
		t.Fatalf("list = %d %s", code, body)
	}
	// No migration runs in fabrikam: nothing to cancel, no Temporal needed.
	code, body = call(t, "DELETE", url+"/fabrikam", service, "")
	var del intake.TenantDeletion
	if code != 200 || json.Unmarshal([]byte(body), &del) != nil || del.Tenant != "fabrikam" || del.Cancelled != 0 || del.Purged.Users != 1 {
		t.Fatalf("delete = %d %s", code, body)
	}
	if code, body := call(t, "DELETE", url+"/fabrikam", service, ""); code != 404 {
		t.Fatalf("delete again = %d %s", code, body)
	}
	if code, body := get(t, url+"/fabrikam/users", service); code != 404 {
		t.Fatalf("deleted tenant's users = %d %s", code, body)
	}
}

const importHeader = `"Identity","DisplayName","ConferenceId","ServiceNumber","TollFreeServiceNumber","BridgeId","Provider"` + "\n"

func TestImportRouteAndBadInput(t *testing.T) {
	srv, db := newAPI(t)
	_, admin, bound, reader := tokens(t, db)
	url := srv.URL + "/v1/tenants/contoso/users:import"
	file := importHeader + `"new@contoso.com","New","123456","+1 425-555-0100","","b1","Microsoft"` + "\n"
	if code, body := call(t, "POST", url, reader, file); code != 403 {
		t.Fatalf("a reader imported: %d %s", code, body)
	}
	if code, body := call(t, "POST", srv.URL+"/v1/tenants/fabrikam/users:import", bound, file); code != 404 {
		t.Fatalf("a contoso token imported into fabrikam: %d %s", code, body)
	}
	// A malformed row: 400 naming the line and the column, nothing imported.
	bad := file + `"two@contoso.com","Two","=1+2","","","b1","Microsoft"` + "\n"
	if code, body := call(t, "POST", url, admin, bad); code != 400 || !strings.Contains(body, "line 3: ConferenceId: begins with '='") {
		t.Fatalf("malformed row: %d %s", code, body)
	}
	noConf := file + `"two@contoso.com","Two","","+1 425-555-0100","","b1","Microsoft"` + "\n"
	if code, body := call(t, "POST", url, admin, noConf); code != 400 || !strings.Contains(body, "line 3: ConferenceId: required when dial-in numbers are given") {
		t.Fatalf("row without a conference ID: %d %s", code, body)
	}
	if users, _ := db.Users(context.Background(), "contoso"); len(users) != 1 {
		t.Fatalf("a refused import wrote users: %+v", users)
	}
	if code, body := call(t, "POST", url+"?dryRun=perhaps", admin, file); code != 400 || !strings.Contains(body, "dryRun") {
		t.Fatalf("dryRun=perhaps: %d %s", code, body)
	}
	big := strings.Repeat("x", directory.MaxBytes+1)
	if code, body := call(t, "POST", url, admin, big); code != 413 {
		t.Fatalf("oversized file: %d %.200s", code, body)
	}
	var rows strings.Builder
	rows.WriteString(importHeader)
	for i := 0; i <= directory.MaxRows; i++ {
		fmt.Fprintf(&rows, "\"u%d@contoso.com\",\"\",\"123456\",\"\",\"\",\"\",\"\"\n", i)
	}
	if code, body := call(t, "POST", url, admin, rows.String()); code != 413 || !strings.Contains(body, "rows") {
		t.Fatalf("too many rows: %d %.200s", code, body)
	}

	// A dry run, then the import: one user created, nothing triggered
	// (a new user has no meetings with an old block).
	for _, dry := range []bool{true, false} {
		u := url
		if dry {
			u += "?dryRun=true"
		}
		code, body := callCSV(t, u, admin, file)
		var res intake.ImportResult
		if code != 200 || json.Unmarshal([]byte(body), &res) != nil || res.Created != 1 || res.DryRun != dry ||
			res.Format != "csv" || res.Users[0].Outcome != "created" || res.Users[0].Line != 2 {
			t.Fatalf("import (dry run %v) = %d %s", dry, code, body)
		}
		_, err := db.User(context.Background(), "contoso", "new@contoso.com")
		if exists := err == nil; exists == dry {
			t.Fatalf("dry run %v: the user exists: %v", dry, exists)
		}
	}
	code, body := callCSV(t, url, admin, file)
	if code != 200 || !strings.Contains(body, `"unchanged":1`) {
		t.Fatalf("import again = %d %s", code, body)
	}
	// The static route does not shadow a user called "users:import" elsewhere.
	if code, body := call(t, "PUT", srv.URL+"/v1/tenants/contoso/users/x:import@contoso.com", admin,
		`{"profile":{"meetingType":"Teams"}}`); code != 201 {
		t.Fatalf("PUT a user with a colon = %d %s", code, body)
	}
}

// callCSV posts a directory file as what it is (text/csv), so that the
// contract check reads it against the document's text/csv body.
func callCSV(t *testing.T, url, token, body string) (int, string) {
	t.Helper()
	return callAs(t, "POST", url, token, "text/csv", body)
}
