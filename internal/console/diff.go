package console

import (
	"strconv"
	"strings"
)

// diffRow is one line of a side-by-side diff: the old body's line on the
// left, the new body's on the right, with their line numbers (0: none).
type diffRow struct {
	// Kind is "same", "changed", "removed", "added", "hunk" (a hunk's
	// header: the line numbers jump) or "note" (a truncation notice).
	Kind                string
	Left, Right         string
	LeftLine, RightLine int
}

// sideBySide lays out a dry run's unified diff (meetingblock.UnifiedDiff)
// in two columns: a run of removed lines faces the run of added lines that
// follows it, line by line, so a replaced block reads across.
func sideBySide(unified string) []diffRow {
	if unified == "" {
		return nil
	}
	var rows []diffRow
	var removed, added []string
	left, right := 0, 0
	flush := func() {
		for i := range max(len(removed), len(added)) {
			row := diffRow{Kind: "changed"}
			if i < len(removed) {
				left++
				row.Left, row.LeftLine = removed[i], left
			} else {
				row.Kind = "added"
			}
			if i < len(added) {
				right++
				row.Right, row.RightLine = added[i], right
			} else {
				row.Kind = "removed"
			}
			rows = append(rows, row)
		}
		removed, added = removed[:0], added[:0]
	}
	for line := range strings.Lines(unified) {
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "--- ") || strings.HasPrefix(line, "+++ "):
			if left == 0 && right == 0 && len(rows) == 0 {
				continue // the file header
			}
			fallthrough
		default:
			switch {
			case strings.HasPrefix(line, "@@"):
				flush()
				left, right = hunkStarts(line)
				rows = append(rows, diffRow{Kind: "hunk", Left: line})
			case strings.HasPrefix(line, "-"):
				removed = append(removed, line[1:])
			case strings.HasPrefix(line, "+"):
				added = append(added, line[1:])
			case strings.HasPrefix(line, " "):
				flush()
				left++
				right++
				rows = append(rows, diffRow{Kind: "same", Left: line[1:], Right: line[1:], LeftLine: left, RightLine: right})
			default: // "\ No newline at end of file", "... diff truncated"
				flush()
				rows = append(rows, diffRow{Kind: "note", Left: line})
			}
		}
	}
	flush()
	return rows
}

// hunkStarts reads "@@ -a,b +c,d @@" and returns the line numbers before
// the hunk's first lines (a-1, c-1).
func hunkStarts(h string) (int, int) {
	f := strings.Fields(h)
	if len(f) < 3 {
		return 0, 0
	}
	start := func(s string) int {
		s, _, _ = strings.Cut(s[1:], ",")
		n, _ := strconv.Atoi(s)
		return max(n-1, 0)
	}
	return start(f[1]), start(f[2])
}
