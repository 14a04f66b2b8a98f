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
