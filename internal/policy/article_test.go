package policy

import "testing"

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
	for _, p := range SecretPatterns {
		if withArticle(p.Kind) == p.Kind {
			t.Errorf("%q: no article", p.Kind)
		}
	}
}
