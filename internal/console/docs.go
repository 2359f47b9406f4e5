package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/openmms/mms/api"
)

// /docs is a reference of the API rendered on the server from the OpenAPI
// document the API serves (api/openapi.yaml), with the console's templates.
// Swagger UI (whose assets a Go module such as swaggo/files embeds) would
// need JavaScript to show anything and a few MB of assets; this page reads
// without JavaScript, as the console's pages do, and adds no dependency.
// It has no "try it out": the CLI and curl do that with a bearer token.

type docsView struct {
	Title, Version, Description string
	Tags                        []docTag
	Schemas                     []docSchema
}

type docTag struct {
	Name, Description string
	Ops               []docOp
}

type docOp struct {
	Anchor, Method, Path, Summary, Description string
	Public                                     bool // no token needed
	Params                                     []docParam
	Body                                       *typeRef
	Responses                                  []docResponse
}

type docParam struct {
	Name, In, Description string
	Required              bool
	Type                  typeRef
}

type docResponse struct {
	Status, Description string
	Type                *typeRef
}

// typeRef is a schema as one line: Text, then a link to the named schema Ref.
type typeRef struct{ Text, Ref string }

type docSchema struct {
	Name, Description string
	Props             []docParam
	Type              typeRef
}

type obj = map[string]any

func str(m obj, k string) string { s, _ := m[k].(string); return s }
func sub(m obj, k string) obj    { o, _ := m[k].(obj); return o }

// resolve follows a local $ref ("#/components/parameters/user").
func resolve(doc obj, m obj) obj {
	ref := str(m, "$ref")
	if !strings.HasPrefix(ref, "#/") {
		return m
	}
	cur := doc
	for _, p := range strings.Split(ref[2:], "/") {
		cur = sub(cur, p)
	}
	if cur == nil {
		return m
	}
	return cur
}

func refName(ref string) string { return ref[strings.LastIndexByte(ref, '/')+1:] }

// describe writes a schema as one line.
func describe(s obj) typeRef {
	if s == nil {
		return typeRef{}
	}
	if ref := str(s, "$ref"); ref != "" {
		return typeRef{Ref: refName(ref)}
	}
	typ := str(s, "type")
	switch typ {
	case "array":
		inner := describe(sub(s, "items"))
		inner.Text = strings.TrimSpace("array of " + inner.Text)
		return inner
	case "":
		for _, k := range []string{"allOf", "oneOf", "anyOf"} {
			if l, ok := s[k].([]any); ok && len(l) > 0 {
				if o, ok := l[0].(obj); ok {
					return describe(o)
				}
			}
		}
		typ = "any"
	}
	if f := str(s, "format"); f != "" {
		typ += " (" + f + ")"
	}
	if enum, ok := s["enum"].([]any); ok {
		var vals []string
		for _, e := range enum {
			vals = append(vals, fmt.Sprint(e))
		}
		typ += ": " + strings.Join(vals, " | ")
	}
	return typeRef{Text: typ}
}

var methodOrder = []string{"get", "put", "post", "patch", "delete"}

func buildDocs(doc obj) docsView {
	info := sub(doc, "info")
	v := docsView{Title: str(info, "title"), Version: str(info, "version"), Description: str(info, "description")}
	tags := map[string]*docTag{}
	var order []string
	if list, ok := doc["tags"].([]any); ok {
		for _, t := range list {
			if t, ok := t.(obj); ok {
				tags[str(t, "name")] = &docTag{Name: str(t, "name"), Description: str(t, "description")}
				order = append(order, str(t, "name"))
			}
		}
	}
	paths := sub(doc, "paths")
	names := make([]string, 0, len(paths))
	for p := range paths {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		item := sub(paths, p)
		for _, method := range methodOrder {
			op := sub(item, method)
			if op == nil {
				continue
			}
			d := docOp{Method: strings.ToUpper(method), Path: p, Summary: str(op, "summary"), Description: str(op, "description"),
				Anchor: strings.NewReplacer("/", "-", "{", "", "}", "").Replace(method + p)}
			if sec, ok := op["security"].([]any); ok && len(sec) == 0 {
				d.Public = true
			}
			params, _ := item["parameters"].([]any)
			if own, ok := op["parameters"].([]any); ok {
				params = append(slices.Clone(params), own...)
			}
			for _, raw := range params {
				if pm, ok := raw.(obj); ok {
					pm = resolve(doc, pm)
					req, _ := pm["required"].(bool)
					d.Params = append(d.Params, docParam{Name: str(pm, "name"), In: str(pm, "in"), Required: req,
						Description: str(pm, "description"), Type: describe(sub(pm, "schema"))})
				}
			}
			if body := resolve(doc, sub(op, "requestBody")); body != nil {
				for _, media := range sub(body, "content") {
					if m, ok := media.(obj); ok {
						t := describe(sub(m, "schema"))
						d.Body = &t
						break
					}
				}
			}
			codes := []string{}
			for code := range sub(op, "responses") {
				codes = append(codes, code)
			}
			sort.Strings(codes)
			for _, code := range codes {
				resp := resolve(doc, sub(sub(op, "responses"), code))
				dr := docResponse{Status: code, Description: str(resp, "description")}
				for _, media := range sub(resp, "content") {
					if m, ok := media.(obj); ok && sub(m, "schema") != nil {
						t := describe(sub(m, "schema"))
						dr.Type = &t
						break
					}
				}
				d.Responses = append(d.Responses, dr)
			}
			tag := "other"
			if list, ok := op["tags"].([]any); ok && len(list) > 0 {
				tag = fmt.Sprint(list[0])
			}
			if tags[tag] == nil {
				tags[tag] = &docTag{Name: tag}
				order = append(order, tag)
			}
			tags[tag].Ops = append(tags[tag].Ops, d)
		}
	}
	for _, n := range order {
		if len(tags[n].Ops) > 0 {
			v.Tags = append(v.Tags, *tags[n])
		}
	}
	schemas := sub(sub(doc, "components"), "schemas")
	snames := make([]string, 0, len(schemas))
	for n := range schemas {
		snames = append(snames, n)
	}
	sort.Strings(snames)
	for _, n := range snames {
		s := sub(schemas, n)
		ds := docSchema{Name: n, Description: str(s, "description"), Type: describe(s)}
		required := map[string]bool{}
		if list, ok := s["required"].([]any); ok {
			for _, r := range list {
				required[fmt.Sprint(r)] = true
			}
		}
		props := sub(s, "properties")
		pnames := make([]string, 0, len(props))
		for p := range props {
			pnames = append(pnames, p)
		}
		sort.Strings(pnames)
		for _, p := range pnames {
			ps := sub(props, p)
			ds.Props = append(ds.Props, docParam{Name: p, Required: required[p], Description: str(ps, "description"), Type: describe(ps)})
		}
		v.Schemas = append(v.Schemas, ds)
	}
	return v
}

// docsOnce renders the view once: the document is embedded and fixed.
var docsOnce = sync.OnceValues(func() (docsView, error) {
	raw, err := api.OpenAPIJSON()
	if err != nil {
		return docsView{}, err
	}
	var doc obj
	if err := json.Unmarshal(raw, &doc); err != nil {
		return docsView{}, err
	}
	return buildDocs(doc), nil
})

// docs needs no sign-in, as /openapi.json does not: the reference is public.
func (c *Console) docs(w http.ResponseWriter, r *http.Request) {
	v, err := docsOnce()
	if err != nil {
		c.internal(w, r, nil, "openapi document", err)
		return
	}
	c.render(w, r, nil, http.StatusOK, "docs", "API reference", v)
}
