package secrets

import (
	"strings"
	"testing"
)

// Credentials are assembled from parts so this file holds none verbatim.

func scanAll(t testing.TB, c *Config, content, path string) []Finding {
	t.Helper()
	var out []Finding
	if err := c.Scan(strings.NewReader(content), path, "c0ffee", func(f Finding) { out = append(out, f) }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGitLabTokenEndingInDash: a GitLab token may end in '-' or '_'; the
// hand-written pattern hookrun had before (glpat- then [A-Za-z0-9_-]{20}\b)
// could not match one.
func TestGitLabTokenEndingInDash(t *testing.T) {
	for _, tok := range []string{"glpat-" + "aB3dE5gH7jK9mN1pQ2r-", "glpat-" + "aB3dE5gH7jK9mN1pQ2r_"} {
		fs := scanAll(t, Default(), "GITLAB_TOKEN="+tok+"\n", "ci.env")
		if len(fs) != 1 || fs[0].RuleID != "gitlab-pat" || fs[0].Secret != tok || fs[0].Line != 1 {
			t.Errorf("%s: findings %+v, want one gitlab-pat on line 1", tok, fs)
		}
	}
}
