package devstack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/openmms/mms/internal/migration"
	"github.com/openmms/mms/internal/telemetry"
)

// lockedBuffer collects log lines written from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestObservabilityOfAMigration runs one migration through the Graph
// emulator, the request carrying an upstream system's traceparent, with an
// in-memory span recorder, the Prometheus /metrics endpoint and JSON logs:
//   - one trace: the upstream span is the parent of the API span, which is
//     an ancestor of the workflow's, every activity's, every meeting's and
//     every Graph HTTP call's span; the spans carry tenant, user,
//     correlation ID and meeting IDs;
//   - /metrics counts the meetings by outcome as the record does, the
//     notifications, the three state transitions, the queue depth, the
//     Graph calls (labelled by back end), throttling and the SDK's metrics;
//   - one JSON log line per state transition, with the trace and span IDs;
//   - no secret (API token, Graph client secret) anywhere in the three.
func TestObservabilityOfAMigration(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	tel, err := telemetry.New(tp, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	var logs lockedBuffer
	st, err := Start(context.Background(), Config{DataDir: t.TempDir(), APIAddr: freeAddr(t), TemporalAddr: freeAddr(t),
		UIAddr: "-", Calendar: CalendarGraphEmulator, SeedDemo: true, Telemetry: tel,
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop(context.Background())
	c := client_{t: t, base: st.APIURL, token: st.AdminToken}
	const alice = "alice@contoso.com"

	// An upstream system's trace context.
	upstreamTrace, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	upstreamSpan, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	req, _ := http.NewRequest("POST", st.APIURL+"/v1/tenants/contoso/migrations", strings.NewReader(`{"user":"`+alice+`"}`))
	req.Header.Set("Authorization", "Bearer "+st.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+upstreamTrace.String()+"-"+upstreamSpan.String()+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("start = %d %s", resp.StatusCode, raw)
	}
	d := c.waitRecord(alice, "", 2*time.Minute)
	if d.State != migration.StateSucceeded || d.SucceededMeeting == 0 {
		t.Fatalf("record = %+v", d.StatusRecord)
	}

	// --- Traces. The workflow span ends when the execution completes,
	// shortly after the record is final.
	var spans []sdktrace.ReadOnlySpan
	byName := func(prefix string) []sdktrace.ReadOnlySpan {
		var out []sdktrace.ReadOnlySpan
		for _, s := range spans {
			if strings.HasPrefix(s.Name(), prefix) {
				out = append(out, s)
			}
		}
		return out
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		spans = rec.Ended()
		if len(byName("RunWorkflow:")) > 0 && len(byName("RunActivity:FinishRun")) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
	}
	apiSpans := byName("POST /v1/tenants/:tenant/migrations")
	if len(apiSpans) != 1 {
		t.Fatalf("%d API spans; spans: %v", len(apiSpans), spanNames(spans))
	}
	apiSpan := apiSpans[0]
	if apiSpan.SpanContext().TraceID() != upstreamTrace || apiSpan.Parent().SpanID() != upstreamSpan {
		t.Errorf("the API span does not continue the upstream trace: trace %s parent %s",
			apiSpan.SpanContext().TraceID(), apiSpan.Parent().SpanID())
	}
	wantAttrs(t, apiSpan, map[string]string{telemetry.AttrTenant: "contoso", telemetry.AttrUser: alice,
		telemetry.AttrCorrelationID: d.CorrelationID})
	descends := func(s sdktrace.ReadOnlySpan) bool {
		for p := s.Parent(); p.IsValid(); {
			if p.SpanID() == apiSpan.SpanContext().SpanID() {
				return true
			}
			ps, ok := byID[p.SpanID()]
			if !ok {
				return false
			}
			p = ps.Parent()
		}
		return false
	}
	var graphCalls int
	for _, s := range spans {
		isGraph := slices.Contains(s.Attributes(), attribute.String(telemetry.AttrBackend, "graph"))
		if isGraph {
			graphCalls++
		}
		if (isGraph || strings.HasPrefix(s.Name(), "RunWorkflow:") || strings.HasPrefix(s.Name(), "RunActivity:") ||
			s.Name() == "mms.migrate_meeting") && !descends(s) {
			t.Errorf("span %q is not a descendant of the API request's span", s.Name())
		}
	}
	if graphCalls < 3 {
		t.Errorf("%d Graph HTTP spans, want the token, listing and updates; spans: %v", graphCalls, spanNames(spans))
	}
	for _, name := range []string{"RunWorkflow:", "RunActivity:BeginRun", "RunActivity:ProcessPage", "RunActivity:FinishRun"} {
		ss := byName(name)
		if len(ss) == 0 {
			t.Errorf("no %q span; spans: %v", name, spanNames(spans))
			continue
		}
		if name == "RunWorkflow:" {
			continue
		}
		wantAttrs(t, ss[0], map[string]string{telemetry.AttrTenant: "contoso", telemetry.AttrUser: alice,
			telemetry.AttrCorrelationID: d.CorrelationID})
	}
	// Every meeting of the record is named by a page span and has a span
	// of its own with its outcome.
	pageIDs := map[string]bool{}
	for _, s := range byName("RunActivity:ProcessPage") {
		for _, kv := range s.Attributes() {
			if string(kv.Key) == telemetry.AttrMeetingIDs {
				for _, id := range kv.Value.AsStringSlice() {
					pageIDs[id] = true
				}
			}
		}
	}
	meetingOutcome := map[string]string{}
	for _, s := range byName("mms.migrate_meeting") {
		var id, outcome string
		for _, kv := range s.Attributes() {
			switch string(kv.Key) {
			case telemetry.AttrMeetingID:
				id = kv.Value.AsString()
			case telemetry.AttrOutcome:
				outcome = kv.Value.AsString()
			}
		}
		meetingOutcome[id] = outcome
	}
	for _, m := range d.Meetings {
		if !pageIDs[m.MeetingID] {
			t.Errorf("meeting %s is not in a page span's %s", m.MeetingID, telemetry.AttrMeetingIDs)
		}
		if meetingOutcome[m.MeetingID] != string(m.Outcome) {
			t.Errorf("meeting %s: span outcome %q, record %q", m.MeetingID, meetingOutcome[m.MeetingID], m.Outcome)
		}
	}

	// --- Metrics, scraped without a token.
	code, metricsText := c.do("GET", "/metrics", "", nil)
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	samples := parseMetrics(t, string(metricsText))
	byOutcome := map[string]float64{}
	var invites float64
	for _, m := range d.Meetings {
		byOutcome[string(m.Outcome)]++
		invites += float64(m.InvitesSent)
	}
	if byOutcome[string(migration.OutcomeUpdated)] != float64(d.SucceededMeeting) || byOutcome[string(migration.OutcomeSkipped)] != float64(d.SkippedMeeting) {
		t.Fatalf("the record's meetings %v do not match its counters %+v", byOutcome, d.StatusRecord)
	}
	for outcome, n := range byOutcome {
		if got := samples.sum("mms_meetings_processed_total", "outcome", outcome); got != n {
			t.Errorf("mms_meetings_processed_total{outcome=%q} = %v, want %v", outcome, got, n)
		}
	}
	if got := samples.sum("mms_meetings_processed_total", "reason", "not-organizer"); got == 0 {
		t.Errorf("no skipped meeting counted under reason=not-organizer (the demo has some)")
	}
	if got := samples.sum("mms_notifications_sent_total"); got != invites || invites == 0 {
		t.Errorf("mms_notifications_sent_total = %v, want %v", got, invites)
	}
	for _, tr := range [][2]string{{"none", "Pending"}, {"Pending", "InProgress"}, {"InProgress", "Succeeded"}} {
		if got := samples.sum("mms_migration_transitions_total", "from", tr[0], "to", tr[1]); got != 1 {
			t.Errorf("transitions %s->%s = %v, want 1", tr[0], tr[1], got)
		}
	}
	if got, ok := samples.get("mms_migrations_pending"); !ok || got != 0 {
		t.Errorf("mms_migrations_pending = %v (present %v), want 0", got, ok)
	}
	if got := samples.sum("mms_migrations", "state", "Succeeded"); got < 1 {
		t.Errorf("mms_migrations{state=Succeeded} = %v", got)
	}
	if got := samples.sum("http_client_request_duration_seconds_count", "mms_backend", "graph"); got < float64(graphCalls) {
		t.Errorf("Graph request latency counted %v requests, the spans %d", got, graphCalls)
	}
	for _, name := range []string{"mms_backend_throttled_waits_total", "mms_backend_throttled_wait_duration_seconds_total",
		"mms_backend_throttled_responses_total", "http_server_request_duration_seconds_count"} {
		if _, ok := samples.get(name); !ok {
			t.Errorf("no %s in /metrics", name)
		}
	}
	if !samples.hasPrefix("temporal_") {
		t.Errorf("no temporal_* (SDK) metrics in /metrics")
	}

	// --- Logs: one line per transition, in the trace.
	type line struct {
		Msg, Level, From, To, Tenant, User, CorrelationID, TraceID, SpanID string
	}
	var transitions []line
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil || m["msg"] != "migration state" {
			continue
		}
		s := func(k string) string { v, _ := m[k].(string); return v }
		transitions = append(transitions, line{Msg: s("msg"), Level: s("level"), From: s("from"), To: s("to"),
			Tenant: s("tenant"), User: s("user"), CorrelationID: s("correlationId"), TraceID: s("trace_id"), SpanID: s("span_id")})
	}
	if len(transitions) != 3 {
		t.Errorf("%d state transition log lines, want 3: %+v", len(transitions), transitions)
	}
	for _, l := range transitions {
		if l.Tenant != "contoso" || l.User != alice || l.CorrelationID != d.CorrelationID ||
			l.TraceID != upstreamTrace.String() || len(l.SpanID) != 16 || l.Level != "INFO" {
			t.Errorf("transition log line %+v", l)
		}
	}

	// --- No secret in any of the three.
	var exported strings.Builder
	for _, s := range spans {
		fmt.Fprintf(&exported, "%s %v %v %v %v\n", s.Name(), s.Attributes(), s.Events(), s.Status(), s.Links())
	}
	for _, secret := range []string{st.AdminToken, emulatorSecret} {
		for what, text := range map[string]string{"spans": exported.String(), "metrics": string(metricsText), "logs": logs.String()} {
			if strings.Contains(text, secret) {
				t.Errorf("a secret (%.6s...) appears in the %s", secret, what)
			}
		}
	}
}

func wantAttrs(t *testing.T, s sdktrace.ReadOnlySpan, want map[string]string) {
	t.Helper()
	have := map[string]string{}
	for _, kv := range s.Attributes() {
		have[string(kv.Key)] = kv.Value.String()
	}
	for k, v := range want {
		if have[k] != v {
			t.Errorf("span %q: %s = %q, want %q", s.Name(), k, have[k], v)
		}
	}
}

func spanNames(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

type sample struct {
	name   string
	labels map[string]string
	value  float64
}

type samples []sample

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$`)
var labelPair = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

func parseMetrics(t *testing.T, text string) samples {
	t.Helper()
	var out samples
	for l := range strings.SplitSeq(text, "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		m := sampleLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("unparsable metrics line %q", l)
		}
		v, err := strconv.ParseFloat(m[4], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", l, err)
		}
		s := sample{name: m[1], labels: map[string]string{}, value: v}
		for _, p := range labelPair.FindAllStringSubmatch(m[3], -1) {
			s.labels[p[1]] = p[2]
		}
		out = append(out, s)
	}
	return out
}

// sum adds the samples of a metric whose labels match the pairs given.
func (ss samples) sum(name string, pairs ...string) float64 {
	var n float64
	for _, s := range ss {
		if s.name != name {
			continue
		}
		ok := true
		for i := 0; i+1 < len(pairs); i += 2 {
			ok = ok && s.labels[pairs[i]] == pairs[i+1]
		}
		if ok {
			n += s.value
		}
	}
	return n
}

func (ss samples) get(name string) (float64, bool) {
	for _, s := range ss {
		if s.name == name {
			return s.value, true
		}
	}
	return 0, false
}

func (ss samples) hasPrefix(prefix string) bool {
	for _, s := range ss {
		if strings.HasPrefix(s.name, prefix) {
			return true
		}
	}
	return false
}
