package meetingblock

import (
	"strings"
	"testing"
	"time"

	"github.com/openmms/mms/internal/cputime"

	"github.com/openmms/mms/internal/migration"
)

// benchBody pads a fixture with agenda paragraphs (mixed scripts, links,
// Word-style markup) until it is about size bytes.
func benchBody(tb testing.TB, file string, f Format, size int) string {
	body := readBody(tb, file)
	para := `<p class="MsoNormal"><span style="font-family:Aptos">Point 7: revue du budget – 予算の確認 🚀 <a href="https://contoso.sharepoint.com/sites/x/Doc.docx">Doc.docx</a>, see §4 &amp; annex.</span><o:p></o:p></p>` + "\r\n"
	if f == FormatText {
		para = "Point 7: revue du budget – 予算の確認 🚀 Doc.docx<https://contoso.sharepoint.com/sites/x/Doc.docx>, see §4 & annex.\r\n"
	}
	var pre, post strings.Builder
	for n := len(body); n < size; n += 2 * len(para) {
		pre.WriteString(para)
		post.WriteString(para)
	}
	return insertAgenda(body, f, pre.String(), post.String())
}

func benchReplace(b *testing.B, file string, f Format, size int) {
	body := benchBody(b, file, f, size)
	p := readProfile(b, "teams_dialin_change.json")
	if res := Replace(body, f, p, migration.TargetCurrent); res.Outcome != Replaced {
		b.Fatalf("%s: %s", res.Outcome, res.Reason)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu0 := cputime.Process()
	for b.Loop() {
		Replace(body, f, p, migration.TargetCurrent)
	}
	reportCPU(b, cputime.Process()-cpu0, len(body))
}

// reportCPU reports the CPU time per operation and the throughput it
// gives: on a machine shared with other work the wall-clock ns/op and MB/s
// count the time the benchmark waited for a core too.
func reportCPU(b *testing.B, cpu time.Duration, size int) {
	if cpu <= 0 || b.N == 0 {
		return
	}
	perOp := float64(cpu.Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp, "cpu-ns/op")
	b.ReportMetric(float64(size)/perOp*1e9/1e6, "cpu-MB/s")
}

func BenchmarkReplaceHTML10KB(b *testing.B) {
	benchReplace(b, "teams_gen2_2021.html", FormatHTML, 10<<10)
}

func BenchmarkReplaceHTML1MB(b *testing.B) {
	benchReplace(b, "teams_gen2_2021.html", FormatHTML, 1<<20)
}

func BenchmarkReplaceText10KB(b *testing.B) {
	benchReplace(b, "teams_gen2_2021.txt", FormatText, 10<<10)
}

func BenchmarkReplaceText1MB(b *testing.B) {
	benchReplace(b, "teams_gen2_2021.txt", FormatText, 1<<20)
}

func BenchmarkReplaceICal(b *testing.B) {
	body := readBody(b, "teams_recurring.ics")
	p := readProfile(b, "teams_dialin_change.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		Replace(body, FormatICal, p, migration.TargetCurrent)
	}
}

func BenchmarkUnifiedDiff10KB(b *testing.B) {
	body := benchBody(b, "teams_gen2_2021.html", FormatHTML, 10<<10)
	res := Replace(body, FormatHTML, readProfile(b, "teams_dialin_change.json"), migration.TargetCurrent)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		UnifiedDiff(body, res.Body)
	}
}
