package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/store"
)

// writeJSONString escapes exactly as encoding/json does with HTML escaping
// off, for random strings with quotes, controls, invalid UTF-8 and U+2028.
func TestWriteJSONStringMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 6))
	parts := []string{"a", "<p>", "&", `"`, `\`, "\n", "\t", "\x01", "\x7f", "é", "\xff", "\u2028", "\u2029", "日本", "\xe2\x80"}
	for range 2000 {
		var b strings.Builder
		for range rng.IntN(20) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		s := b.String()
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		var got bytes.Buffer
		w := bufio.NewWriter(&got)
		writeJSONString(w, s)
		_ = w.Flush()
		if got.String() != strings.TrimSuffix(want.String(), "\n") {
			t.Fatalf("%q: got %s, want %s", s, got.String(), want.String())
		}
	}
}

// Beyond MaxPreviews previews at once the answer is 429 with Retry-After,
// before any of the body is read.
func TestPreviewConcurrencyCap(t *testing.T) {
	srv, db := newAPIWith(t, func(s *Server) { s.MaxPreviews = 1; s.BodyTimeout = time.Minute })
	tok, _ := db.CreateToken(context.Background(), "reader", "", store.RoleReader)
	held := stallPath(t, srv.URL, "/v1/preview", tok)
	defer held.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/preview", strings.NewReader(`{"body":"x","profile":{"meetingType":"Teams"}}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			if resp.Header.Get("Retry-After") == "" || !strings.Contains(string(out), "too many previews") {
				t.Fatalf("429 %v %s", resp.Header, out)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second preview: %d %s, want 429", resp.StatusCode, out)
		}
	}
	held.Close()
	// The slot frees once the server sees the close.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		code, out := post(t, srv.URL+"/v1/preview", tok, `{"body":"x","profile":{"meetingType":"Teams"}}`)
		if code == 200 {
			break
		}
		if code != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("after the stalled preview ended: %d %s", code, out)
		}
	}
}

// A preview of a large body answers about the body's size: HTML is not
// escaped into six bytes a character, and the diff is bounded.
func TestLargePreviewAnswerIsBounded(t *testing.T) {
	srv, db := newAPI(t)
	tok, _ := db.CreateToken(context.Background(), "reader", "", store.RoleReader)
	body := previewBody(t, 4<<20)
	code, out := post(t, srv.URL+"/v1/preview", tok, previewRequest(body))
	var res meetingblock.PreviewResult
	if code != 200 || json.Unmarshal([]byte(out), &res) != nil || res.Outcome != meetingblock.Replaced {
		t.Fatalf("%d %.300s", code, out)
	}
	if len(out) > len(body)+len(body)/4+2*meetingblock.MaxDiffBytes || len(res.Diff) > meetingblock.MaxDiffBytes+100 ||
		!strings.HasPrefix(res.Body, body[:1000]) {
		t.Fatalf("answer %d bytes for a %d-byte body, diff %d bytes", len(out), len(body), len(res.Diff))
	}
}

// previewBody is an HTML meeting body of about n bytes holding a Teams
// block: agenda paragraphs, then the block.
func previewBody(tb testing.TB, n int) string {
	tb.Helper()
	old := meetingblock.Profile{MeetingType: "Teams", Provider: "Microsoft", ConferenceID: "111222333",
		TollNumber: "+1 425-555-0100", JoinURL: "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0"}
	block, err := meetingblock.Render(old, meetingblock.KindTeams, meetingblock.FormatHTML)
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	b.Grow(n + len(block))
	b.WriteString("<html><body>")
	for i := 0; b.Len() < n-len(block)-200; i++ {
		fmt.Fprintf(&b, "<p style=\"margin:0\">Agenda item %d &amp; notes</p>\n", i)
	}
	b.WriteString(block + "</body></html>")
	return b.String()
}

// previewRequest is the JSON of a preview of body, HTML unescaped as a
// client would usually send it.
func previewRequest(body string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(map[string]any{"body": body, "format": "html",
		"profile": map[string]any{"meetingType": "Teams", "provider": "Microsoft", "conferenceId": "987654321", "tollNumber": "+1 206-555-0199"}})
	return b.String()
}

// BenchmarkPreviewPeakMemory runs 8 parallel maximum-size previews over
// HTTP and reports the peak HeapInuse above idle, sampled every 2 ms
// (issue 18 wants < 1 GiB; the probe saw 7.1 GB for 8 of 15 MiB). The
// requests are streamed from one shared payload and the answers
// discarded, so the client's side costs nothing per request. `make bench`
// runs it.
//
// "default" is the service as shipped: DefaultMaxPreviews (8) run, all 8
// are served, and the peak must stay under 1 GiB. "cap-4" is the cap
// before the body's JSON was unquoted in one copy (4 run, 4 get 429), as
// a baseline; it is reported, not asserted.
func BenchmarkPreviewPeakMemory(b *testing.B) {
	b.Run("default", func(b *testing.B) { benchPreviews(b, 0, true) })
	b.Run("cap-4", func(b *testing.B) { benchPreviews(b, 4, false) })
}

func benchPreviews(b *testing.B, maxPreviews int, assert bool) {
	srv, db := newAPIWith(b, func(s *Server) { s.MaxPreviews = maxPreviews })
	tok, _ := db.CreateToken(context.Background(), "reader", "", store.RoleReader)
	// The body's JSON (quotes escaped) nearly fills the request limit.
	body := previewBody(b, MaxPreviewBytes*9/10)
	payload := previewRequest(body)
	if len(payload) > MaxPreviewBytes {
		b.Fatalf("payload %d bytes > %d", len(payload), MaxPreviewBytes)
	}
	body = ""
	var peakAbove uint64
	var served, refused int
	for range b.N {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		idle, peak := ms.HeapInuse, ms.HeapInuse
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			tick := time.NewTicker(2 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					runtime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapInuse)
				}
			}
		}()
		var wg sync.WaitGroup
		codes := make(chan int, 8)
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				req, _ := http.NewRequest("POST", srv.URL+"/v1/preview", strings.NewReader(payload))
				req.Header.Set("Authorization", "Bearer "+tok)
				// Without the contract's check (TestMain): validating
				// 8 answers of 30 MiB would be most of the memory measured.
				resp, err := (&http.Client{Transport: rawTransport}).Do(req)
				if err != nil {
					errs <- err
					return
				}
				defer resp.Body.Close()
				n, _ := io.Copy(io.Discard, resp.Body)
				codes <- resp.StatusCode
				if resp.StatusCode == 200 && n < int64(len(payload)/2) || resp.StatusCode != 200 && resp.StatusCode != 429 {
					errs <- fmt.Errorf("preview: %d, %d bytes", resp.StatusCode, n)
				}
			})
		}
		wg.Wait()
		close(stop)
		<-sampled
		close(errs)
		close(codes)
		for err := range errs {
			b.Fatal(err)
		}
		for code := range codes {
			if code == 200 {
				served++
			} else {
				refused++
			}
		}
		peakAbove = max(peakAbove, peak-idle)
	}
	b.ReportMetric(float64(peakAbove)/(1<<20), "peak-MiB-above-idle")
	b.ReportMetric(float64(len(payload))/(1<<20), "request-MiB")
	b.ReportMetric(float64(served)/float64(b.N), "served/op")
	b.ReportMetric(float64(refused)/float64(b.N), "429/op")
	if assert && (peakAbove >= 1<<30 || served != 8*b.N) {
		b.Errorf("peak %d MiB above idle, %d of %d served; want < 1 GiB and all served", peakAbove>>20, served, 8*b.N)
	}
}

// unquoteJSON decodes every JSON string as encoding/json does: escapes,
// surrogate pairs, lone surrogates and invalid UTF-8.
func TestUnquoteJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, q := range []string{`""`, `"plain"`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\u20ac\ud83d\ude00"`, `"\ud83d"`, `"\ud83dx"`,
		`"\ude00\ud83d\u0041"`, `"\u0000\u001b[2J"`, "\"caf\xc3\xa9 \xff\xfe \xe2\x82\"", `"<p>&amp;</p>\u2028"`, `"\uD83D\uDE00\uFFFF"`} {
		if !json.Valid([]byte(q)) {
			t.Fatalf("%s is not valid JSON", q)
		}
		var want string
		if err := json.Unmarshal([]byte(q), &want); err != nil {
			t.Fatal(err)
		}
		if got := unquoteJSON([]byte(q)); got != want {
			t.Errorf("unquoteJSON(%s) = %q, want %q", q, got, want)
		}
	}
}

func FuzzUnquoteJSON(f *testing.F) {
	f.Add(`a"b\c` + "\xff\u2028\U0001F600")
	f.Fuzz(func(t *testing.T, s string) {
		q, _ := json.Marshal(s)
		var want string
		if err := json.Unmarshal(q, &want); err != nil {
			t.Fatal(err)
		}
		if got := unquoteJSON(q); got != want {
			t.Errorf("unquoteJSON(%s) = %q, want %q", q, got, want)
		}
	})
}
