package api

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/openmms/mms/internal/intake"
	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/rules"
	"github.com/openmms/mms/internal/store"
)

type openAPIDoc struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
			Enum       []string                   `json:"enum"`
		} `json:"schemas"`
	} `json:"components"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	raw, err := OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

var ginParam = regexp.MustCompile(`:([A-Za-z]+)`)

// Every route served is in the document, and every operation in the
// document is served.
func TestOpenAPIListsExactlyTheRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	var documented []string
	for path, item := range doc.Paths {
		for method := range item {
			if method != "parameters" {
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	engine := (&Server{Logger: slog.New(slog.DiscardHandler)}).Handler().(*gin.Engine)
	var served []string
	for _, r := range engine.Routes() {
		// An escaped colon ("users\\:import") is a literal one, not a parameter.
		path := strings.ReplaceAll(r.Path, `\:`, "\x00")
		path = strings.ReplaceAll(ginParam.ReplaceAllString(path, "{$1}"), "\x00", ":")
		served = append(served, r.Method+" "+path)
	}
	sort.Strings(documented)
	sort.Strings(served)
	if !slices.Equal(documented, served) {
		t.Fatalf("routes and document differ\nserved:     %v\ndocumented: %v", served, documented)
	}
}

// The documented schemas have exactly the Go types' JSON fields, and the
// enums the values the code accepts.
func TestOpenAPISchemasMatchTheTypes(t *testing.T) {
	doc := loadOpenAPI(t)
	for name, typ := range map[string]reflect.Type{
		"PutUserRequest":             reflect.TypeFor[PutUserRequest](),
		"MigrationConfiguration":     reflect.TypeFor[MigrationConfiguration](),
		"DialInConferencingSettings": reflect.TypeFor[DialInConferencingSettings](),
		"StartRequest":               reflect.TypeFor[StartRequest](),
		"CancelRequest":              reflect.TypeFor[CancelRequest](),
		"PreviewRequest":             reflect.TypeFor[PreviewRequest](),
		"PreviewResult":              reflect.TypeFor[meetingblock.PreviewResult](),
		"Block":                      reflect.TypeFor[meetingblock.Block](),
		"Profile":                    reflect.TypeFor[meetingblock.Profile](),
		"Event":                      reflect.TypeFor[EventIn](),
		"RecordedEvent":              reflect.TypeFor[store.Event](),
		"Migration":                  reflect.TypeFor[store.StatusRecord](),
		"MeetingResult":              reflect.TypeFor[store.MeetingResult](),
		"Tenant":                     reflect.TypeFor[store.Tenant](),
		"CreateTenantRequest":        reflect.TypeFor[CreateTenantRequest](),
		"TenantDeletion":             reflect.TypeFor[intake.TenantDeletion](),
		"TenantPurge":                reflect.TypeFor[store.TenantPurge](),
		"ImportResult":               reflect.TypeFor[intake.ImportResult](),
		"ImportRow":                  reflect.TypeFor[intake.ImportRow](),
		"ImportEvent":                reflect.TypeFor[intake.ImportEvent](),
		"TenantSettings":             reflect.TypeFor[migration.Settings](),
		"User":                       reflect.TypeFor[store.User](),
		"Error":                      reflect.TypeFor[Error](),
	} {
		s, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("schema %s is missing", name)
			continue
		}
		var documented []string
		for p := range s.Properties {
			documented = append(documented, p)
		}
		sort.Strings(documented)
		if want := jsonFields(typ); !slices.Equal(documented, want) {
			t.Errorf("schema %s has %v, the type %v", name, documented, want)
		}
	}
	for name, want := range map[string][]string{
		"State":         names(migration.States),
		"MigrationType": names(migration.Types),
		"ReasonCode":    names(migration.Reasons),
		"EventType":     eventTypeNames(),
	} {
		if got := doc.Components.Schemas[name].Enum; !slices.Equal(got, want) {
			t.Errorf("enum %s is %v, the code accepts %v", name, got, want)
		}
	}
}

func eventTypeNames() []string {
	var out []string
	for _, e := range rules.EventTypes {
		out = append(out, string(e))
	}
	return out
}

// jsonFields lists a struct's JSON field names, embedded structs flattened.
func jsonFields(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case name == "-" || !f.IsExported():
		case f.Anonymous && name == "":
			out = append(out, jsonFields(f.Type)...)
		case name == "":
			out = append(out, f.Name)
		default:
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func TestOpenAPIServed(t *testing.T) {
	srv := httptest.NewServer((&Server{Logger: slog.New(slog.DiscardHandler)}).Handler())
	defer srv.Close()
	code, body := get(t, srv.URL+"/openapi.json", "")
	var doc map[string]any
	if code != 200 || json.Unmarshal([]byte(body), &doc) != nil || doc["openapi"] != "3.0.3" {
		t.Fatalf("/openapi.json: %d %.200s", code, body)
	}
	if code, body := get(t, srv.URL+"/openapi.yaml", ""); code != 200 || !strings.HasPrefix(body, "openapi: 3.0.3") {
		t.Fatalf("/openapi.yaml: %d %.200s", code, body)
	}
}

// Every $ref points at something in the document.
func TestOpenAPIRefsResolve(t *testing.T) {
	raw, err := OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	var root any
	_ = json.Unmarshal(raw, &root)
	refs := 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if ref, ok := x.(string); ok && k == "$ref" {
					refs++
					var node any = root
					for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
						m, _ := node.(map[string]any)
						node = m[part]
					}
					if node == nil {
						t.Errorf("$ref %s resolves to nothing", ref)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(root)
	if refs < 50 {
		t.Fatalf("only %d $refs found: is the walk broken?", refs)
	}
}

// names are typed words as the strings the document lists.
func names[T ~string](ws []T) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = string(w)
	}
	return out
}
