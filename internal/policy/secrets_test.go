package policy

import (
	"strings"
	"testing"
)

func TestParseCommit(t *testing.T) {
	raw := "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n" +
		"author A U Thor <a@example.com> 1700000000 +0000\n" +
		"committer C O Mitter <c@example.com> 1700000000 +0100\n" +
		"gpgsig -----BEGIN PGP SIGNATURE-----\n \n -----END PGP SIGNATURE-----\n" +
		"\nsubject\n\nbody\n\nSigned-off-by: A U Thor <a@example.com>\n"
	c := parseCommit([]byte(raw))
	if c.author != "a@example.com" || c.committer != "c@example.com" || c.authorIdent != "A U Thor <a@example.com>" {
		t.Errorf("idents: %+v", c)
	}
	if !strings.HasPrefix(string(c.message), "subject\n") {
		t.Errorf("message %q", c.message)
	}
	if !signedOffBy(c.message, c.authorIdent) || signedOffBy(c.message, "Other <o@example.com>") {
		t.Error("signedOffBy")
	}
}

// FuzzParseCommit: a commit object of any bytes parses without panicking.
func FuzzParseCommit(f *testing.F) {
	f.Add([]byte("tree x\nauthor <a> 1 +0000\n\nmsg"))
	f.Add([]byte("author >< \n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := parseCommit(data)
		_ = signedOffBy(c.message, c.authorIdent)
	})
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"refs/heads/main":     "refs/heads/main",
		"refs/heads/ünï":      "refs/heads/ünï",
		"refs/heads/\x1b[31m": `"refs/heads/\x1b[31m"`,
		"bad\xffutf8":         `"bad\xffutf8"`,
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestRuleKind(t *testing.T) {
	for id, want := range map[string]string{
		"aws-access-token":       "an AWS access token",
		"github-pat":             "a GitHub PAT",
		"gitlab-pat":             "a GitLab PAT",
		"slack-bot-token":        "a Slack bot token",
		"slack-webhook-url":      "a Slack webhook URL",
		"age-secret-key":         "an age secret key",
		"openai-api-key":         "an OpenAI API key",
		"anthropic-api-key":      "an Anthropic API key",
		"private-key":            "a private key",
		"generic-api-key":        "a generic API key",
		"jwt":                    "a JWT",
		"sendgrid-api-token":     "a SendGrid API token",
		"hashicorp-tf-api-token": "a HashiCorp Terraform API token",
		"vault-service-token":    "a Vault service token",
		"1password-secret-key":   "a 1Password secret key",
		"npm-access-token":       "an npm access token",
		"okta-access-token":      "an Okta access token",
	} {
		if got := withArticle(RuleKind(id)); got != want {
			t.Errorf("%s: %q, want %q", id, got, want)
		}
	}
}

func TestContainsLine(t *testing.T) {
	body := []byte("a = 1\nTOKEN=abc\r\nb = 2\nlast")
	for line, want := range map[string]bool{
		"a = 1": true, "TOKEN=abc": true, "last": true, "b = 2": true,
		"TOKEN=ab": false, "OKEN=abc": false, "= 1": false, "a = 1\nTOKEN=abc": true, "1\nTOKEN=abc": false, "x": false,
	} {
		if got := containsLine(body, line); got != want {
			t.Errorf("containsLine(%q) = %v, want %v", line, got, want)
		}
	}
}
