package migration

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"testing"
)

// TestEveryReasonHasACategory reads the Reason constants from the source, so
// that a reason added without a metric category (or left out of Reasons)
// fails here rather than showing up as an empty metric label.
func TestEveryReasonHasACategory(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "reason.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []Reason
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Reason" {
				continue
			}
			lit := vs.Values[0].(*ast.BasicLit)
			declared = append(declared, Reason(lit.Value[1:len(lit.Value)-1]))
		}
	}
	if len(declared) < 2 {
		t.Fatalf("found %d Reason constants in reason.go", len(declared))
	}
	for _, r := range declared {
		if r == ReasonNone {
			if r.Category() != "" {
				t.Errorf("ReasonNone has category %q", r.Category())
			}
			continue
		}
		if r.Category() == "" {
			t.Errorf("reason %q has no metric category", r)
		}
		if !slices.Contains(Reasons, r) {
			t.Errorf("reason %q is not in Reasons", r)
		}
	}
	if len(Reasons) != len(declared)-1 {
		t.Errorf("Reasons has %d entries, reason.go declares %d reasons", len(Reasons), len(declared)-1)
	}
	if Reason("free text").Category() != "" {
		t.Error("a value that is not a reason got a category")
	}
}

// Messages stay as the records have always shown them; the code beside
// each is what moves a metric.
func TestReasonMessages(t *testing.T) {
	for _, c := range []struct {
		s    Skip
		want Reason
		msg  string
	}{
		{NotOnline(), ReasonNotOnline, "not created as an online meeting (no online-meeting metadata)"},
		{ThirdPartyProvider(), ReasonThirdParty, "third-party audio conferencing provider"},
		{SourceNotChosen(SourceSfB), ReasonSourceNotChosen, "source meeting type not selected (SfB)"},
		{DeletedSinceFailure(), ReasonDeleted, "deleted since the failure"},
	} {
		if c.s.Reason != c.want || c.s.Message != c.msg {
			t.Errorf("got %+v, want %s %q", c.s, c.want, c.msg)
		}
	}
}

func TestTypeOfAndParse(t *testing.T) {
	for _, c := range []struct {
		s    Source
		t    Target
		want Type
	}{
		{SourceAll, TargetCurrent, TypeToSameType}, {SourceSfB, TargetTeams, TypeSfbToTeams},
		{SourceTeams, TargetTeams, TypeTeamsToTeams}, {SourceAll, TargetTeams, TypeAllToTeams},
	} {
		if got := TypeOf(c.s, c.t); got != c.want {
			t.Errorf("TypeOf(%s, %s) = %s, want %s", c.s, c.t, got, c.want)
		}
	}
	if s, err := ParseSource(""); s != SourceAll || err != nil {
		t.Errorf(`ParseSource("") = %q, %v`, s, err)
	}
	if _, err := ParseSource("sfb"); err == nil || err.Error() != `sourceMeetingType: must be All, SfB or Teams, not "sfb"` {
		t.Errorf("ParseSource(sfb) error = %v", err)
	}
	if _, err := ParseTarget("Skype"); err == nil || err.Error() != `targetMeetingType: must be Current or Teams, not "Skype"` {
		t.Errorf("ParseTarget(Skype) error = %v", err)
	}
}

// Merge keeps today's rule: the latest trigger's meeting types win, and a
// full trigger turns a retry-only batch into a full run.
func TestMerge(t *testing.T) {
	one := Merge(Trigger{Reason: "manual", RequestedBy: "admin", SourceMeetingType: SourceSfB, TargetMeetingType: TargetTeams})
	if one != (Selection{Source: SourceSfB, Target: TargetTeams, Reason: "manual by admin"}) || one.Type() != TypeSfbToTeams {
		t.Errorf("one trigger: %+v", one)
	}
	three := Merge(Trigger{Reason: "a", RetryFailedOf: "c1"}, Trigger{Reason: "b", TargetMeetingType: TargetTeams},
		Trigger{Reason: "c", RetryFailedOf: "c1"})
	if three != (Selection{Source: SourceAll, Target: TargetTeams, Reason: "c (+2 merged)"}) {
		t.Errorf("three triggers: %+v", three)
	}
	retry := Merge(Trigger{Reason: "retry", RetryFailedOf: "c1"}, Trigger{Reason: "retry", RetryFailedOf: "c1"})
	if retry.RetryFailedOf != "c1" {
		t.Errorf("retry-only batch: %+v", retry)
	}
}
