package policy

import (
	"testing"

	"github.com/hookrun/hookrun/internal/secrets"
)

func TestWithArticle(t *testing.T) {
	for kind, want := range map[string]string{
		"private key":                  "a private key",
		"AWS access key ID":            "an AWS access key ID",
		"npm access token":             "an npm access token",
		"GitHub personal access token": "a GitHub personal access token",
		"PyPI API token":               "a PyPI API token",
		"Slack token":                  "a Slack token",
		"Google API key":               "a Google API key",
	} {
		if got := withArticle(kind); got != want {
			t.Errorf("withArticle(%q) = %q, want %q", kind, got, want)
		}
	}
	for _, r := range secrets.Default().Rules {
		if k := RuleKind(r.ID); withArticle(k) == k {
			t.Errorf("%s: %q: no article", r.ID, k)
		}
	}
}
