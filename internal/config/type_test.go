package config

import (
	"strings"
	"testing"
)

// A misspelt type is one error (with a did-you-mean), not also "missing
// type"; a job without one still gets "missing type".
func TestMisspeltTypeOnce(t *testing.T) {
	f, diags := parse(t, `version = 1
[jobs.a]
type = "comand"
command = ["/bin/true"]
[jobs.b]
command = ["/bin/true"]
[[rules]]
branches = ["main"]
jobs = ["a", "b"]
`)
	_, merged := Merge(nil, f)
	all := append(diags, merged...)
	var got []string
	for _, d := range all {
		if d.Severity == Error {
			got = append(got, d.Msg)
		}
	}
	joined := strings.Join(got, "\n")
	if len(got) != 2 || !strings.Contains(joined, `jobs.a.type: "comand" is not one of`) || !strings.Contains(joined, "jobs.b: missing type") || strings.Contains(joined, "jobs.a: missing type") {
		t.Errorf("errors:\n%s\nwant jobs.a's bad type and jobs.b's missing type, once each", joined)
	}
}

// Every message names list elements as its diagnostic's path does,
// counting from 1 (rules[2].paths[1] is the second rule's first glob).
func TestListPositionsOneBased(t *testing.T) {
	_, diags := parse(t, `version = 1
[jobs.x]
type = "command"
command = ["/bin/true"]
args = ["{nope}"]
[[rules]]
branches = ["main"]
jobs = ["x"]
[[rules]]
branches = ["main", "refs/heads/x"]
paths = ["/src/**", "docs/"]
jobs = ["x"]
`)
	seen := 0
	for _, d := range diags {
		if !strings.Contains(d.Path, "[") {
			continue
		}
		seen++
		if !strings.HasPrefix(d.Msg, d.Path) {
			t.Errorf("%s: message does not start with its path %s: %s", d.Path, d.Path, d.Msg)
		}
	}
	if seen < 3 {
		t.Errorf("only %d diagnostics at list positions: %v", seen, diags)
	}
	var all strings.Builder
	for _, d := range diags {
		all.WriteString(d.String() + "\n")
	}
	for _, want := range []string{"rules[2].paths[1]: \"/src/**\"", "rules[2].paths[2]: \"docs/\""} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("no %q in:\n%s", want, all.String())
		}
	}
}
