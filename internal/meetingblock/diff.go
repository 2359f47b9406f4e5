package meetingblock

import (
	"fmt"
	"strings"
)

// diffContext is the number of unchanged lines around each hunk.
const diffContext = 3

// maxDiffEdits bounds the Myers search (its memory grows with the square of
// the number of edits); beyond it the changed middle is shown as removed
// and added as a whole, which is still a correct diff.
const maxDiffEdits = 1000

type diffOp struct {
	kind byte // ' ', '-' or '+'
	line string
}

// MaxDiffBytes bounds a diff's text. A block change is a few KB of diff;
// a preview of a 15 MiB body answered 65 MB of it (issue 18, finding 2).
// Beyond the bound the diff is cut at a line and ends with diffTruncated.
const MaxDiffBytes = 64 << 10

// diffTruncated is the marker line of a truncated diff.
const diffTruncated = "... diff truncated: %d more bytes not shown\n"

// UnifiedDiff returns a unified diff (3 lines of context) of two bodies, ""
// when they are equal. Lines are compared with their line breaks.
//
// Only the region that differs, and its context lines, is split into
// lines: the common prefix and suffix are found byte by byte, so a large
// body with a small change costs no more than the change (a slice of
// line headers for a 15 MiB body is hundreds of MB when its lines are
// short). The output is the same as diffing whole bodies: outside the
// window every line is equal and beyond the context.
func UnifiedDiff(oldBody, newBody string) string {
	if oldBody == newBody {
		return ""
	}
	p := 0
	for p < len(oldBody) && p < len(newBody) && oldBody[p] == newBody[p] {
		p++
	}
	s := 0
	for s < len(oldBody)-p && s < len(newBody)-p && oldBody[len(oldBody)-1-s] == newBody[len(newBody)-1-s] {
		s++
	}
	// lo: the start of the line holding the first difference, diffContext
	// lines earlier (old and new agree up to p).
	lo := strings.LastIndexByte(oldBody[:p], '\n') + 1
	for range diffContext {
		if lo == 0 {
			break
		}
		lo = strings.LastIndexByte(oldBody[:lo-1], '\n') + 1
	}
	// tail: the length of the common suffix made of whole lines in both,
	// less diffContext lines. It begins after the suffix's first line
	// break (the byte before the suffix differs, so the line holding the
	// suffix's start may be a different line in each body).
	suffix := oldBody[len(oldBody)-s:]
	tail := 0
	if i := strings.IndexByte(suffix, '\n'); i >= 0 {
		rest := suffix[i+1:]
		for range diffContext {
			j := strings.IndexByte(rest, '\n')
			if j < 0 {
				rest = ""
				break
			}
			rest = rest[j+1:]
		}
		tail = len(rest)
	}
	return diffLines(oldBody[lo:len(oldBody)-tail], newBody[lo:len(newBody)-tail], strings.Count(oldBody[:lo], "\n"))
}

// diffLines diffs two windows of bodies whose first line is line skip+1.
func diffLines(oldBody, newBody string, skip int) string {
	a, b := splitLines(oldBody), splitLines(newBody)
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ops := make([]diffOp, 0, len(a)+len(b)-pre-suf)
	for _, l := range a[:pre] {
		ops = append(ops, diffOp{' ', l})
	}
	ops = append(ops, myers(a[pre:len(a)-suf], b[pre:len(b)-suf])...)
	for _, l := range a[len(a)-suf:] {
		ops = append(ops, diffOp{' ', l})
	}
	return hunks(ops, skip)
}

// splitLines splits s after each '\n', keeping the line breaks.
func splitLines(s string) []string {
	lines := make([]string, 0, strings.Count(s, "\n")+1)
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}

// myers computes a shortest edit script from a to b (Myers 1986).
func myers(a, b []string) []diffOp {
	n, m := len(a), len(b)
	limit := min(n+m, maxDiffEdits)
	off := limit + 1
	v := make([]int, 2*limit+3)
	var trace [][]int
	for d := 0; d <= limit; d++ {
		snap := make([]int, 2*d+1)
		copy(snap, v[off-d:off+d+1])
		trace = append(trace, snap)
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || k != d && v[off+k-1] < v[off+k+1] {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				return backtrack(a, b, trace, d)
			}
		}
	}
	ops := make([]diffOp, 0, n+m)
	for _, l := range a {
		ops = append(ops, diffOp{'-', l})
	}
	for _, l := range b {
		ops = append(ops, diffOp{'+', l})
	}
	return ops
}

func backtrack(a, b []string, trace [][]int, dmax int) []diffOp {
	var rev []diffOp
	x, y := len(a), len(b)
	for d := dmax; d > 0; d-- {
		vp := trace[d] // V after step d-1, indexed k+d
		k := x - y
		prevK := k - 1
		if k == -d || k != d && vp[k-1+d] < vp[k+1+d] {
			prevK = k + 1
		}
		px := vp[prevK+d]
		py := px - prevK
		for x > px && y > py {
			x, y = x-1, y-1
			rev = append(rev, diffOp{' ', a[x]})
		}
		if x == px {
			y--
			rev = append(rev, diffOp{'+', b[y]})
		} else {
			x--
			rev = append(rev, diffOp{'-', a[x]})
		}
	}
	for x > 0 && y > 0 {
		x, y = x-1, y-1
		rev = append(rev, diffOp{' ', a[x]})
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}

// hunks formats an edit script as unified-diff hunks.
func hunks(ops []diffOp, skip int) string {
	out := &boundedText{max: MaxDiffBytes}
	out.WriteString("--- old\n+++ new\n")
	// Line numbers (0-based) in a and b at each op.
	ai, bi := make([]int, len(ops)+1), make([]int, len(ops)+1)
	for i, op := range ops {
		ai[i+1], bi[i+1] = ai[i], bi[i]
		if op.kind != '+' {
			ai[i+1]++
		}
		if op.kind != '-' {
			bi[i+1]++
		}
	}
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		start := max(i-diffContext, 0)
		end := i
		// Extend over changes separated by at most 2*context equal lines.
		for j := i; j < len(ops); {
			if ops[j].kind != ' ' {
				end = j + 1
				j++
				continue
			}
			k := j
			for k < len(ops) && ops[k].kind == ' ' {
				k++
			}
			if k == len(ops) || k-j > 2*diffContext {
				break
			}
			j = k
		}
		stop := min(end+diffContext, len(ops))
		fmt.Fprintf(out, "@@ -%s +%s @@\n", hunkRange(skip+ai[start], ai[stop]-ai[start]), hunkRange(skip+bi[start], bi[stop]-bi[start]))
		for _, op := range ops[start:stop] {
			out.WriteByte(op.kind)
			out.WriteString(op.line)
			if !strings.HasSuffix(op.line, "\n") {
				out.WriteString("\n\\ No newline at end of file\n")
			}
		}
		i = stop
	}
	return out.String()
}

// boundedText keeps the first max bytes written to it, cut after a line
// break, and counts the rest.
type boundedText struct {
	b       strings.Builder
	max     int
	dropped int
}

func (t *boundedText) Write(p []byte) (int, error) {
	t.WriteString(string(p))
	return len(p), nil
}

func (t *boundedText) WriteString(s string) {
	if t.dropped == 0 && t.b.Len()+len(s) <= t.max {
		t.b.WriteString(s)
		return
	}
	if t.dropped == 0 {
		// Keep what fits up to its last line break, so the diff ends on
		// a whole line before the marker.
		fit := s[:t.max-t.b.Len()]
		if i := strings.LastIndexByte(fit, '\n'); i >= 0 {
			t.b.WriteString(fit[:i+1])
			s = s[i+1:]
		}
	}
	t.dropped += len(s)
}

func (t *boundedText) WriteByte(c byte) error {
	t.WriteString(string([]byte{c}))
	return nil
}

func (t *boundedText) String() string {
	if t.dropped == 0 {
		return t.b.String()
	}
	return t.b.String() + fmt.Sprintf(diffTruncated, t.dropped)
}

func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if n == 1 {
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}
