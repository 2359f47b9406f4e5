package meetingblock

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	if d := UnifiedDiff("same\n", "same\n"); d != "" {
		t.Errorf("equal bodies: %q", d)
	}
	old := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"
	nw := "a\nb\nc\nd\nE\nf\ng\nh\ni\nj\nk"
	want := "--- old\n+++ new\n" +
		"@@ -2,9 +2,10 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n i\n j\n+k\n\\ No newline at end of file\n"
	if got := UnifiedDiff(old, nw); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	far := strings.Repeat("x\n", 20)
	got := UnifiedDiff("1\n"+far+"2\n", "one\n"+far+"two\n")
	if strings.Count(got, "@@ -") != 2 {
		t.Errorf("distant changes should make two hunks:\n%s", got)
	}
}

// applyDiff applies a diff made by UnifiedDiff to old.
func applyDiff(old, diff string) (string, error) {
	a := splitLines(old)
	var out strings.Builder
	lines := splitLines(diff)
	pos := 0 // next line of a to copy
	for i := 2; i < len(lines); i++ {
		l := lines[i]
		if !strings.HasPrefix(l, "@@ -") {
			return "", fmt.Errorf("line %d: %q", i, l)
		}
		r := strings.Fields(l)[1][1:]
		startS, _, _ := strings.Cut(r, ",")
		start, err := strconv.Atoi(startS)
		if err != nil {
			return "", err
		}
		if !strings.HasSuffix(r, ",0") {
			start-- // 1-based unless the range is empty
		}
		for ; pos < start; pos++ {
			out.WriteString(a[pos])
		}
		for i+1 < len(lines) && !strings.HasPrefix(lines[i+1], "@@ -") {
			i++
			l := lines[i]
			text := l[1:]
			if i+1 < len(lines) && lines[i+1] == "\\ No newline at end of file\n" {
				text = strings.TrimSuffix(text, "\n")
				i++
			}
			switch l[0] {
			case ' ':
				out.WriteString(text)
				pos++
			case '-':
				pos++
			case '+':
				out.WriteString(text)
			default:
				return "", fmt.Errorf("bad line %q", l)
			}
		}
	}
	for ; pos < len(a); pos++ {
		out.WriteString(a[pos])
	}
	return out.String(), nil
}

func TestUnifiedDiffApplies(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"a\n", "b\n", "c\n", "d", "é\n", "\n", "x\r\n"}
	gen := func() string {
		var b strings.Builder
		for range rng.IntN(30) {
			b.WriteString(words[rng.IntN(len(words))])
		}
		return b.String()
	}
	for i := range 2000 {
		old, nw := gen(), gen()
		d := UnifiedDiff(old, nw)
		if (d == "") != (old == nw) {
			t.Fatalf("case %d: empty diff mismatch", i)
		}
		if d == "" {
			continue
		}
		got, err := applyDiff(old, d)
		if err != nil || got != nw {
			t.Fatalf("case %d: apply: %v\nold %q\nnew %q\ngot %q\ndiff:\n%s", i, err, old, nw, got, d)
		}
	}
}

// Beyond maxDiffEdits the diff degrades to remove-all/add-all, still correct.
func TestUnifiedDiffLarge(t *testing.T) {
	var a, b strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&a, "old %d\n", i)
		fmt.Fprintf(&b, "new %d\n", i)
	}
	d := UnifiedDiff(a.String(), b.String())
	got, err := applyDiff(a.String(), d)
	if err != nil || got != b.String() {
		t.Fatalf("apply: %v", err)
	}
}

// Diffing only the window around the change gives the same text as
// diffing the whole bodies, line numbers included.
func TestUnifiedDiffWindowIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 2))
	lines := []string{"a\n", "b\n", "c\n", "\n", "x", "yy\n"}
	body := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(lines[rng.IntN(len(lines))])
		}
		return b.String()
	}
	for i := range 3000 {
		pre, mid1, mid2, suf := body(rng.IntN(12)), body(rng.IntN(4)), body(rng.IntN(4)), body(rng.IntN(12))
		old, nw := pre+mid1+suf, pre+mid2+suf
		if old == nw {
			continue
		}
		if got, want := UnifiedDiff(old, nw), diffLines(old, nw, 0); got != want {
			t.Fatalf("case %d: %q -> %q\nwindowed:\n%s\nwhole:\n%s", i, old, nw, got, want)
		}
	}
}

// A diff larger than MaxDiffBytes is cut at a line and says so; a small
// change in a large body costs memory in proportion to the change.
func TestUnifiedDiffIsBounded(t *testing.T) {
	old, nw := strings.Repeat("old line\n", 100000), strings.Repeat("new line\n", 100000)
	d := UnifiedDiff(old, nw)
	if len(d) > MaxDiffBytes+100 || !strings.HasSuffix(d, " more bytes not shown\n") ||
		!strings.HasSuffix(strings.TrimSuffix(d, d[strings.LastIndex(d[:len(d)-1], "\n")+1:]), "\n") {
		t.Fatalf("diff of %d bytes ends %q", len(d), d[max(0, len(d)-80):])
	}
	big := strings.Repeat("\n", 16<<20)
	old, nw = big+"old\n"+big, big+"new\n"+big
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	d = UnifiedDiff(old, nw)
	runtime.ReadMemStats(&ms1)
	if alloc := ms1.TotalAlloc - ms0.TotalAlloc; alloc > 1<<20 || !strings.Contains(d, "@@ -16777214,7 +16777214,7 @@") {
		t.Fatalf("allocated %d bytes for a one-line change; diff:\n%s", alloc, d)
	}
}
