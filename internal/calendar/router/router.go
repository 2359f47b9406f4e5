// Package router picks each tenant's calendar back end: the sandbox kept
// in the service database by default, Microsoft Graph or a CalDAV server
// where the calendars file says so. The worker reads the file once; secrets
// stay out of it as ${VARIABLE} references to the environment, or as
// clientSecretFile / passwordFile paths of mounted secret files.
package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"go.yaml.in/yaml/v3"

	"github.com/openmms/mms/internal/calendar"
	"github.com/openmms/mms/internal/calendar/caldav"
	"github.com/openmms/mms/internal/calendar/graph"
	"github.com/openmms/mms/internal/telemetry"
)

// Back-end kinds.
const (
	Sandbox = "sandbox"
	Graph   = "graph"
	CalDAV  = "caldav"
	// None: tenants the file does not name have no back end (their runs
	// are blocked with that reason) instead of the sandbox.
	None = "none"
)

// Config is the calendars file.
type Config struct {
	// Default is the back end of tenants not listed: sandbox (default) or none.
	Default string            `json:"default"`
	Tenants map[string]Tenant `json:"tenants"`
}

// Tenant says where one tenant's mailboxes are.
type Tenant struct {
	Backend string               `json:"backend"`
	Graph   *GraphTenant         `json:"graph,omitempty"`
	CalDAV  *caldav.TenantConfig `json:"caldav,omitempty"`
}

// GraphTenant is graph.TenantConfig as the file spells it: the certificate
// and key are files, the horizon is in days.
type GraphTenant struct {
	AzureTenantID         string `json:"azureTenantId"`
	ClientID              string `json:"clientId"`
	ClientSecret          string `json:"clientSecret,omitempty"`
	CertificateFile       string `json:"certificateFile,omitempty"`
	PrivateKeyFile        string `json:"privateKeyFile,omitempty"`
	BaseURL               string `json:"baseUrl,omitempty"`
	TokenURL              string `json:"tokenUrl,omitempty"`
	Scope                 string `json:"scope,omitempty"`
	HorizonDays           int    `json:"horizonDays,omitempty"`
	MaxInFlightPerMailbox int    `json:"maxInFlightPerMailbox,omitempty"`
	RequestsPer10Min      int    `json:"requestsPer10Min,omitempty"`
}

func (g GraphTenant) config() (graph.TenantConfig, error) {
	c := graph.TenantConfig{AzureTenantID: g.AzureTenantID, ClientID: g.ClientID, ClientSecret: g.ClientSecret,
		BaseURL: g.BaseURL, TokenURL: g.TokenURL, Scope: g.Scope,
		Horizon:               time.Duration(g.HorizonDays) * 24 * time.Hour,
		MaxInFlightPerMailbox: g.MaxInFlightPerMailbox, RequestsPer10Min: g.RequestsPer10Min}
	for _, f := range []struct {
		name, path string
		dst        *string
	}{{"certificateFile", g.CertificateFile, &c.CertificatePEM}, {"privateKeyFile", g.PrivateKeyFile, &c.PrivateKeyPEM}} {
		if f.path == "" {
			continue
		}
		raw, err := os.ReadFile(f.path)
		if err != nil {
			return c, fmt.Errorf("%s: %w", f.name, err)
		}
		*f.dst = string(raw)
	}
	return c, c.Validate()
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// secretFiles are the keys whose value is the path of a file holding the
// secret of the key they name (issue 19): a Kubernetes or Docker secret
// mounted as a file need not pass through the environment at all.
var secretFiles = map[string]string{"clientSecretFile": "clientSecret", "passwordFile": "password"}

// Load reads a calendars file (YAML or JSON). ${NAME} in a value is
// replaced by the environment variable NAME, which must be set; nothing
// else is expanded, so a literal $ in a value stays. clientSecretFile and
// passwordFile give clientSecret and password the content of a file
// (without its final line break), read once here: restart the worker after
// rotating one. Errors name the line of the file, and show no password of
// a URL.
func Load(path string) (Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("calendars file: %w", err)
	}
	c, err := parse(raw, true)
	if err != nil {
		return Config{}, fmt.Errorf("calendars file %s: %s", path, calendar.RedactURLs(err.Error()))
	}
	return c, nil
}

// Parse decodes a calendars document (YAML, of which JSON is a subset) and
// validates it. Unknown fields are errors: a misspelt setting must not be
// silently ignored. ${NAME} references are left as they are; the files of
// *File keys are read.
func Parse(raw []byte) (Config, error) { return parse(raw, false) }

// parse decodes the document into a node tree first, so that:
//   - ${NAME} is expanded in the values of the tree, never in the text
//     (issue 19): a secret holding `"`, `#`, `: ` or a line break is a value,
//     and cannot end a quoted string, start a comment, add a key or shift
//     the line numbers of later errors;
//   - an unknown field or a wrong type, found by the strict JSON decoder,
//     is reported with the line of its key in the file;
//   - an empty document (nothing, or only comments) is an error: it was
//     accepted silently and meant "every tenant in the sandbox".
func parse(raw []byte, expand bool) (Config, error) {
	// "${" may not start a plain value inside a flow mapping ({port:
	// ${PORT}}), so each reference is first swapped for a word YAML reads
	// as plain text anywhere; the words become values in the tree.
	text, refs := protect(raw)
	var root yaml.Node
	if err := yaml.Unmarshal(text, &root); err != nil {
		return Config{}, err
	}
	if len(root.Content) == 0 || root.Content[0].ShortTag() == "!!null" {
		return Config{}, errors.New("empty: it must name a default or tenants (leave --calendars out to use the sandbox for every tenant)")
	}
	var missing []string
	refs.expand(&root, expand, &missing)
	if len(missing) > 0 {
		return Config{}, fmt.Errorf("environment variable %s is not set", strings.Join(missing, ", "))
	}
	if err := readSecretFiles(&root); err != nil {
		return Config{}, err
	}
	var doc any
	if err := root.Decode(&doc); err != nil {
		return Config{}, err
	}
	js, err := json.Marshal(doc)
	if err != nil {
		return Config{}, err
	}
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(js)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, located(root.Content[0], err)
	}
	if c.Default == "" && len(c.Tenants) == 0 {
		return Config{}, errors.New("empty: it must name a default or tenants (leave --calendars out to use the sandbox for every tenant)")
	}
	return c, c.Validate()
}

// refs are the ${NAME} references of a document, in order, and the word
// standing for each in the text given to the YAML parser: prefix, the
// reference's index, "_". The prefix is one the document does not contain.
type refs struct {
	prefix string
	names  []string
	word   *regexp.Regexp
}

func protect(raw []byte) ([]byte, refs) {
	r := refs{prefix: "mmsref"}
	for n := 0; strings.Contains(string(raw), r.prefix); n++ {
		r.prefix = "mmsref" + strconv.Itoa(n) + "x"
	}
	r.word = regexp.MustCompile(r.prefix + `([0-9]+)_`)
	out := envRef.ReplaceAllFunc(raw, func(ref []byte) []byte {
		r.names = append(r.names, string(envRef.FindSubmatch(ref)[1]))
		return []byte(r.prefix + strconv.Itoa(len(r.names)-1) + "_")
	})
	return out, r
}

// expand puts back into every scalar below n what its words stand for:
// the variable's value when env is true (collecting the names not set),
// the reference itself otherwise. A plain scalar that is a whole number
// once expanded (in canonical form: "587", not "0587") is an integer, so
// "port: ${PORT}" is a number; any other
// expanded value is a string, whatever it holds (a secret "true" or "~"
// stays a string). A quoted scalar is always a string.
func (r refs) expand(n *yaml.Node, env bool, missing *[]string) {
	if n.Kind == yaml.ScalarNode && len(r.names) > 0 && r.word.MatchString(n.Value) {
		n.Value = r.word.ReplaceAllStringFunc(n.Value, func(w string) string {
			i, _ := strconv.Atoi(r.word.FindStringSubmatch(w)[1])
			name := r.names[i]
			if !env {
				return "${" + name + "}"
			}
			v, ok := os.LookupEnv(name)
			if !ok && !slices.Contains(*missing, name) {
				*missing = append(*missing, name)
			}
			return v
		})
		if n.Style&(yaml.TaggedStyle|yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			n.Tag = "!!str"
			if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil && strconv.FormatInt(i, 10) == n.Value {
				n.Tag = "!!int"
			}
		}
	}
	for _, c := range n.Content {
		r.expand(c, env, missing)
	}
}

// readSecretFiles replaces each "<key>File: path" of secretFiles below n
// by "<key>: <the file's content>". A trailing line break is dropped:
// `kubectl create secret --from-file` and editors keep the one a file
// ends with, and no password or client secret ends with one.
func readSecretFiles(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			base, ok := secretFiles[k.Value]
			if !ok || v.Kind != yaml.ScalarNode {
				continue
			}
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == base {
					return fmt.Errorf("line %d: %s and %s: give one of them, not both", k.Line, base, k.Value)
				}
			}
			if v.Value == "" {
				return fmt.Errorf("line %d: %s: a file path is required", k.Line, k.Value)
			}
			raw, err := os.ReadFile(v.Value)
			if err != nil {
				return fmt.Errorf("line %d: %s: %w", k.Line, k.Value, err)
			}
			k.Value = base
			*v = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.DoubleQuotedStyle, Line: v.Line, Column: v.Column,
				Value: strings.TrimRight(string(raw), "\r\n")}
		}
	}
	for _, c := range n.Content {
		if err := readSecretFiles(c); err != nil {
			return err
		}
	}
	return nil
}

// located adds the line of the offending key to a decoding error: the
// JSON decoder knows the field's path but not where it is in the file.
func located(doc *yaml.Node, err error) error {
	var path []string
	var msg string
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		path = strings.Split(typeErr.Field, ".")
		msg = fmt.Sprintf("%s: must be %s, not %s", typeErr.Field, typeErr.Type.Kind(), typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		// The decoder names only the field, not its path: the line is
		// that of the first key with the name, which is the unknown one
		// unless the same name is also a known field earlier in the file.
		if n := findKey(doc, field); n != nil {
			return fmt.Errorf("line %d: unknown field %q", n.Line, field)
		}
		return fmt.Errorf("unknown field %q", field)
	default:
		return err
	}
	if n := findPath(doc, path); n != nil {
		return fmt.Errorf("line %d: %s", n.Line, msg)
	}
	return errors.New(msg)
}

// findPath finds the value at a decoder's field path. The path leaves out
// the keys of maps ("tenants.graph.horizonDays" for tenants.contoso.graph
// .horizonDays), so a step may also descend through one map entry.
func findPath(n *yaml.Node, path []string) *yaml.Node {
	if len(path) == 0 {
		return n
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == path[0] {
			if v := findPath(n.Content[i+1], path[1:]); v != nil {
				return v
			}
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if v := n.Content[i+1]; v.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(v.Content); j += 2 {
				if v.Content[j].Value == path[0] {
					if w := findPath(v.Content[j+1], path[1:]); w != nil {
						return w
					}
				}
			}
		}
	}
	return nil
}

// findKey is the first mapping key named name below n, depth first in
// document order.
func findKey(n *yaml.Node, name string) *yaml.Node {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == name {
				return n.Content[i]
			}
			if k := findKey(n.Content[i+1], name); k != nil {
				return k
			}
		}
		return nil
	}
	for _, c := range n.Content {
		if k := findKey(c, name); k != nil {
			return k
		}
	}
	return nil
}

// Validate checks every tenant's settings; errors name the tenant and field.
func (c Config) Validate() error {
	var errs []error
	switch c.Default {
	case "", Sandbox, None:
	default:
		errs = append(errs, fmt.Errorf("default: must be %s or %s, not %q", Sandbox, None, c.Default))
	}
	for _, id := range sortedKeys(c.Tenants) {
		t := c.Tenants[id]
		at := "tenants." + id
		switch t.Backend {
		case Sandbox:
		case Graph:
			if t.Graph == nil {
				errs = append(errs, fmt.Errorf("%s.graph: required for backend graph", at))
			} else if _, err := t.Graph.config(); err != nil {
				errs = append(errs, fmt.Errorf("%s.graph: %w", at, err))
			}
		case CalDAV:
			if t.CalDAV == nil {
				errs = append(errs, fmt.Errorf("%s.caldav: required for backend caldav", at))
			} else if err := t.CalDAV.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s.caldav: %w", at, err))
			}
		default:
			errs = append(errs, fmt.Errorf("%s.backend: must be %s, %s or %s, not %q", at, Sandbox, Graph, CalDAV, t.Backend))
		}
		if t.Backend != Graph && t.Graph != nil || t.Backend != CalDAV && t.CalDAV != nil {
			errs = append(errs, fmt.Errorf("%s: settings for a back end other than %q", at, t.Backend))
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Options are shared by the back ends a Router builds.
type Options struct {
	// HTTPClient for Graph and CalDAV; default a client with a clone of
	// http.DefaultTransport and a 60-second timeout. New wraps its
	// transport with otelhttp, once per back end, so each call is a span
	// and is counted in http.client.* metrics labelled mms.backend.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// TracerProvider and MeterProvider for the back-end calls and the
	// throttling metrics; nil takes the global ones.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// instrument returns a copy of base whose transport traces and measures
// each request, labelled with the back end's kind, and keeps a waiting
// activity heartbeating (calendar.WaitingTransport). Spans carry the
// method, URL (no query secrets: Graph and CalDAV URLs hold none) and
// status, never a header or a body.
func instrument(base *http.Client, kind string, o Options) *http.Client {
	c := *base
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	attr := attribute.String(telemetry.AttrBackend, kind)
	c.Transport = labeled{attr: attr, next: otelhttp.NewTransport(rt,
		otelhttp.WithTracerProvider(o.TracerProvider), otelhttp.WithMeterProvider(o.MeterProvider),
		otelhttp.WithPropagators(telemetry.Propagator),
		otelhttp.WithSpanOptions(trace.WithAttributes(attr)),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return kind + " " + r.Method }))}
	c.Transport = calendar.WaitingTransport(c.Transport, time.Second)
	return &c
}

// labeled gives otelhttp's metrics of a request the back end's label.
type labeled struct {
	attr attribute.KeyValue
	next http.RoundTripper
}

func (l labeled) RoundTrip(r *http.Request) (*http.Response, error) {
	lab := &otelhttp.Labeler{}
	lab.Add(l.attr)
	return l.next.RoundTrip(r.WithContext(otelhttp.ContextWithLabeler(r.Context(), lab)))
}

// registerGraphStats publishes the Graph client's throttling counters.
func registerGraphStats(mp metric.MeterProvider, g *graph.Backend) error {
	m := mp.Meter(telemetry.ScopeName)
	waits, err := m.Int64ObservableCounter(telemetry.MetricThrottled, metric.WithUnit("{wait}"),
		metric.WithDescription("Waits on a back end's rate limits: Retry-After blocks and the request budget."))
	if err != nil {
		return err
	}
	secs, err := m.Float64ObservableCounter(telemetry.MetricThrottledSec, metric.WithUnit("s"),
		metric.WithDescription("Time spent waiting on a back end's rate limits."))
	if err != nil {
		return err
	}
	resp, err := m.Int64ObservableCounter(telemetry.MetricThrottled429, metric.WithUnit("{response}"),
		metric.WithDescription("HTTP 429 (too many requests) answers from a back end."))
	if err != nil {
		return err
	}
	backend := metric.WithAttributes(attribute.String(telemetry.AttrBackend, Graph))
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := g.Stats()
		o.ObserveInt64(waits, st.ThrottledWaits, backend)
		o.ObserveFloat64(secs, st.ThrottledWaitSeconds, backend)
		o.ObserveInt64(resp, st.RequestsByStatus[http.StatusTooManyRequests], backend)
		return nil
	}, waits, secs, resp)
	return err
}

// Router is a calendar.Backend that sends each call to its tenant's back
// end. One Graph and one CalDAV client serve all tenants of their kind, so
// Graph's per-mailbox limits hold across every goroutine of the worker.
type Router struct {
	cfg     Config
	sandbox calendar.Backend
	graph   *graph.Backend
	caldav  *caldav.Backend
}

// ErrNoBackend: the tenant has no calendar back end configured.
var ErrNoBackend = fmt.Errorf("no calendar back end is configured for this tenant: %w", calendar.ErrNotFound)

// New builds the router; sandbox serves the tenants that use it.
func New(cfg Config, sandbox calendar.Backend, o Options) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Router{cfg: cfg, sandbox: sandbox}
	if o.TracerProvider == nil {
		o.TracerProvider = otel.GetTracerProvider()
	}
	if o.MeterProvider == nil {
		o.MeterProvider = otel.GetMeterProvider()
	}
	base := o.HTTPClient
	if base == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		base = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	}
	gopts := []graph.Option{graph.WithHTTPClient(instrument(base, Graph, o))}
	copts := []caldav.Option{caldav.WithHTTPClient(instrument(base, CalDAV, o)), caldav.WithTracerProvider(o.TracerProvider)}
	if o.Logger != nil {
		gopts = append(gopts, graph.WithLogger(o.Logger))
	}
	r.graph = graph.New(func(_ context.Context, tenant string) (graph.TenantConfig, error) {
		t, ok := cfg.Tenants[tenant]
		if !ok || t.Graph == nil {
			return graph.TenantConfig{}, fmt.Errorf("tenant %q: %w", tenant, ErrNoBackend)
		}
		return t.Graph.config()
	}, gopts...)
	r.caldav = caldav.New(func(_ context.Context, tenant string) (caldav.TenantConfig, error) {
		t, ok := cfg.Tenants[tenant]
		if !ok || t.CalDAV == nil {
			return caldav.TenantConfig{}, fmt.Errorf("tenant %q: %w", tenant, ErrNoBackend)
		}
		return *t.CalDAV, nil
	}, copts...)
	if err := registerGraphStats(o.MeterProvider, r.graph); err != nil {
		return nil, err
	}
	return r, nil
}

// Kinds lists each configured tenant's back end, for the startup log.
func (r *Router) Kinds() map[string]string {
	out := map[string]string{}
	for id, t := range r.cfg.Tenants {
		out[id] = t.Backend
	}
	return out
}

// For returns the tenant's back end.
func (r *Router) For(tenantID string) (calendar.Backend, error) {
	kind := r.cfg.Default
	if t, ok := r.cfg.Tenants[tenantID]; ok {
		kind = t.Backend
	}
	switch kind {
	case "", Sandbox:
		if r.sandbox == nil {
			break
		}
		return r.sandbox, nil
	case Graph:
		return r.graph, nil
	case CalDAV:
		return r.caldav, nil
	}
	return nil, fmt.Errorf("tenant %q: %w", tenantID, ErrNoBackend)
}

// Graph is the Graph client (its Stats feed the metrics).
func (r *Router) Graph() *graph.Backend { return r.graph }

var (
	_ calendar.Backend = (*Router)(nil)
	_ calendar.Counter = (*Router)(nil)
)

// Mailbox implements calendar.Backend.
func (r *Router) Mailbox(ctx context.Context, tenantID, user string) (calendar.Mailbox, error) {
	b, err := r.For(tenantID)
	if err != nil {
		return calendar.Mailbox{}, err
	}
	return b.Mailbox(ctx, tenantID, user)
}

// ListMeetings implements calendar.Backend.
func (r *Router) ListMeetings(ctx context.Context, tenantID, mailbox string, from, to time.Time, cursor string, pageSize int) (calendar.Page, error) {
	b, err := r.For(tenantID)
	if err != nil {
		return calendar.Page{}, err
	}
	return b.ListMeetings(ctx, tenantID, mailbox, from, to, cursor, pageSize)
}

// GetMeeting implements calendar.Backend.
func (r *Router) GetMeeting(ctx context.Context, tenantID, mailbox, id string) (calendar.Meeting, error) {
	b, err := r.For(tenantID)
	if err != nil {
		return calendar.Meeting{}, err
	}
	return b.GetMeeting(ctx, tenantID, mailbox, id)
}

// UpdateMeeting implements calendar.Backend.
func (r *Router) UpdateMeeting(ctx context.Context, tenantID string, u calendar.Update) (calendar.UpdateResult, error) {
	b, err := r.For(tenantID)
	if err != nil {
		return calendar.UpdateResult{}, err
	}
	return b.UpdateMeeting(ctx, tenantID, u)
}

// EnsureTeamsMeeting implements calendar.Backend.
func (r *Router) EnsureTeamsMeeting(ctx context.Context, tenantID, organizer, itemID string) (calendar.OnlineMeeting, error) {
	b, err := r.For(tenantID)
	if err != nil {
		return calendar.OnlineMeeting{}, err
	}
	return b.EnsureTeamsMeeting(ctx, tenantID, organizer, itemID)
}

// CountMeetings implements calendar.Counter for the back ends that can
// count; the others answer calendar.ErrUnsupported.
func (r *Router) CountMeetings(ctx context.Context, tenantID, mailbox string, from, to time.Time) (int, error) {
	b, err := r.For(tenantID)
	if err != nil {
		return 0, err
	}
	c, ok := b.(calendar.Counter)
	if !ok {
		return 0, calendar.ErrUnsupported
	}
	return c.CountMeetings(ctx, tenantID, mailbox, from, to)
}
