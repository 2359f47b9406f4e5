package meetingblock

import "github.com/openmms/mms/internal/migration"

// PreviewResult is what a preview shows: the outcome of Replace and, when
// the body would change, a unified diff of it.
type PreviewResult struct {
	Result
	Diff string `json:"diff,omitempty"`
}

// Preview runs Replace without side effects (there are none) and adds the
// unified diff of the old and new body, for `mms preview` and
// POST /v1/preview.
func Preview(body string, f Format, p Profile, t migration.Target) PreviewResult {
	res := Replace(body, f, p, t)
	pr := PreviewResult{Result: res}
	if res.Outcome == Replaced {
		pr.Diff = UnifiedDiff(body, res.Body)
	}
	return pr
}
