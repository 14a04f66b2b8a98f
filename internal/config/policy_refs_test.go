package config

import (
	"strings"
	"testing"
)

// TestPolicyRefs: refs selects full ref names in any namespace, beside
// branches and tags; a glob that cannot match a full name is an error, and
// a policy with only refs does not "apply to nothing".
func TestPolicyRefs(t *testing.T) {
	f, diags := Parse(strings.NewReader(`version = 1
[[policy]]
name = "all"
refs = ["refs/**", "!refs/scratch/**"]
deny = ["delete"]
`), "hooks.toml")
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	p := f.Policies[0]
	for ref, want := range map[string]bool{
		"refs/heads/main": true, "refs/tags/v1": true, "refs/custom/x": true, "refs/notes/commits": true,
		"refs/scratch/a": false, "HEAD": false,
	} {
		if got := p.Selects(ref); got != want {
			t.Errorf("Selects(%q) = %v, want %v", ref, got, want)
		}
	}

	_, diags = Parse(strings.NewReader(`version = 1
[[policy]]
name = "bad"
refs = ["main", "refs/heads/*", "**/x"]
deny = ["delete"]
`), "hooks.toml")
	if !diags.HasErrors() || !strings.Contains(diags.Error(), `policy[1].refs: "main" matches no ref: refs are full names`) {
		t.Errorf("want an error for refs = [\"main\"], got %v", diags)
	}
	if strings.Contains(diags.Error(), "refs/heads/*") || strings.Contains(diags.Error(), "**/x") {
		t.Errorf("good globs reported: %v", diags)
	}
}
