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

// Merge goes by what each trigger asks for, in any order: Teams wins over
// Current, sources widen to their union, and the record lists every trigger.
// (Until issue 16 the latest trigger's types won; MergeLatest keeps that
// rule for recorded histories only.)
func TestMerge(t *testing.T) {
	one := Merge(Trigger{Reason: "manual", RequestedBy: "admin", SourceMeetingType: SourceSfB, TargetMeetingType: TargetTeams})
	if one != (Selection{Source: SourceSfB, Target: TargetTeams, Reason: "manual by admin"}) || one.Type() != TypeSfbToTeams {
		t.Errorf("one trigger: %+v", one)
	}
	retry := Merge(Trigger{Reason: "retry", RetryFailedOf: "c1"}, Trigger{Reason: "retry", RetryFailedOf: "c1"})
	if retry.RetryFailedOf != "c1" {
		t.Errorf("retry-only batch: %+v", retry)
	}
	upgrade := Trigger{Reason: "Teams upgrade", SourceMeetingType: SourceSfB, TargetMeetingType: TargetTeams}
	confID := Trigger{Reason: "conference ID changed", SourceMeetingType: SourceAll, TargetMeetingType: TargetCurrent}
	teamsOnly := Trigger{Reason: "teams", SourceMeetingType: SourceTeams}
	acp := Trigger{Reason: "licence", ReplaceThirdParty: true}
	manual := Trigger{Reason: "manual", Manual: true}
	for _, c := range []struct {
		name     string
		ts       []Trigger
		src      Source
		tgt      Target
		manual   bool
		replace  bool
		reason   string
		mergedOK string
	}{
		{"upgrade then conference ID", []Trigger{upgrade, confID}, SourceAll, TargetTeams, false, false,
			"conference ID changed (+1 merged)", "2 triggers merged: Teams upgrade; conference ID changed"},
		{"conference ID then upgrade", []Trigger{confID, upgrade}, SourceAll, TargetTeams, false, false,
			"Teams upgrade (+1 merged)", "2 triggers merged: conference ID changed; Teams upgrade"},
		{"SfB and Teams make All", []Trigger{upgrade, teamsOnly}, SourceAll, TargetTeams, false, false, "teams (+1 merged)", ""},
		{"Teams then SfB make All", []Trigger{teamsOnly, {Reason: "sfb", SourceMeetingType: SourceSfB}}, SourceAll, TargetCurrent, false, false, "sfb (+1 merged)", ""},
		{"same source stays", []Trigger{upgrade, upgrade}, SourceSfB, TargetTeams, false, false, "Teams upgrade (+1 merged)", ""},
		{"three-way", []Trigger{confID, upgrade, acp}, SourceAll, TargetTeams, false, true, "licence (+2 merged)",
			"3 triggers merged: conference ID changed; Teams upgrade; licence"},
		{"three-way reversed", []Trigger{acp, upgrade, confID}, SourceAll, TargetTeams, false, true, "conference ID changed (+2 merged)", ""},
		{"three-way, one manual", []Trigger{teamsOnly, manual, teamsOnly}, SourceAll, TargetCurrent, true, false, "teams (+2 merged)", ""},
	} {
		got := Merge(c.ts...)
		if got.Source != c.src || got.Target != c.tgt || got.Manual != c.manual || got.ReplaceThirdParty != c.replace ||
			got.Reason != c.reason || (c.mergedOK != "" && got.Merged != c.mergedOK) || got.Merged == "" {
			t.Errorf("%s: %+v", c.name, got)
		}
	}
	// The recorded histories' rule: the latest said type wins.
	if old := MergeLatest(upgrade, confID); old.Target != TargetCurrent || old.Source != SourceAll {
		t.Errorf("MergeLatest: %+v", old)
	}
	if WidenSource(SourceSfB, SourceSfB) != SourceSfB || WidenSource(SourceAll, SourceTeams) != SourceAll {
		t.Error("WidenSource")
	}
}
