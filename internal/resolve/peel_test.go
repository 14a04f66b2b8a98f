package resolve

import (
	"slices"
	"testing"

	"github.com/hookrun/hookrun/internal/match"
)

// TestPeelAnnotatedTags: {commit} and HOOKRUN_COMMIT are the commit an
// annotated tag points to, {new} stays the tag object git sent; branches
// are never peeled, and only selected tags cost a peel.
func TestPeelAnnotatedTags(t *testing.T) {
	const tagObj, commit = "3333333333333333333333333333333333333333", "4444444444444444444444444444444444444444"
	c := load(t, `version = 1
[jobs.rel]
type = "command"
command = ["release", "{new}", "{commit}", "{short}"]
[[rules]]
name = "releases"
tags = ["v*"]
branches = ["main"]
jobs = ["rel"]
`)
	var asked []string
	p := push(
		match.RefUpdate{Old: zero, New: tagObj, Name: "refs/tags/v1.0"},
		match.RefUpdate{Old: a, New: b, Name: "refs/heads/main"},
		match.RefUpdate{Old: zero, New: tagObj, Name: "refs/tags/other"},
	)
	p.Peel = func(obj string) (string, error) {
		asked = append(asked, obj)
		if obj == tagObj {
			return commit, nil
		}
		return obj, nil
	}
	out, err := Resolve(c, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Units) != 2 {
		t.Fatalf("want 2 units, got %d", len(out.Units))
	}
	tag, branch := out.Units[0], out.Units[1]
	if got, want := tag.Steps[0].Argv, []string{"release", tagObj, commit, tagObj[:7]}; !slices.Equal(got, want) {
		t.Errorf("tag argv = %q, want %q", got, want)
	}
	if got := env(tag.Env, "HOOKRUN_COMMIT"); got != commit {
		t.Errorf("HOOKRUN_COMMIT = %s, want %s", got, commit)
	}
	if got := tag.Refs[0].TargetShort(); got != commit[:7] {
		t.Errorf("tag TargetShort = %s, want the commit's", got)
	}
	if got, want := branch.Steps[0].Argv, []string{"release", b, b, b[:7]}; !slices.Equal(got, want) {
		t.Errorf("branch argv = %q, want %q", got, want)
	}
	if branch.Refs[0].Commit != "" {
		t.Errorf("a branch has Commit %q; only annotated tags do", branch.Refs[0].Commit)
	}
	if len(asked) != 1 {
		t.Errorf("peeled %d objects (%q), want only the selected tag's", len(asked), asked)
	}
	if got, want := tag.Rules, []string{`hooks.toml rules[1] "releases"`}; !slices.Equal(got, want) {
		t.Errorf("rules = %q, want the rule's name in its label: %q", got, want)
	}
}
