package policy

import (
	"bytes"
	"regexp"
)

// SecretPattern is one kind of credential `secrets = true` refuses. Each
// starts with a literal (Anchor) that a fast byte search finds; the regexp
// then confirms the rest at that spot, so the scan runs at the speed of
// bytes.Index rather than of a regexp over every byte.
type SecretPattern struct {
	Kind   string // what it is, for the pusher: "AWS access key ID"
	Anchor string // literal every match starts with
	re     *regexp.Regexp
	// word: the byte before the anchor must not be a letter or digit (the
	// token is not the tail of a longer word).
	word bool
}

func secret(kind, anchor, rest string, word bool) SecretPattern {
	return SecretPattern{Kind: kind, Anchor: anchor, re: regexp.MustCompile(`^` + regexp.QuoteMeta(anchor) + rest), word: word}
}

// SecretPatterns is the built-in set, documented in docs/policy.md.
var SecretPatterns = []SecretPattern{
	secret("private key", "-----BEGIN ", `(?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----`, false),
	secret("AWS access key ID", "AKIA", `[0-9A-Z]{16}\b`, true),
	secret("AWS temporary access key ID", "ASIA", `[0-9A-Z]{16}\b`, true),
	secret("GitHub personal access token", "ghp_", `[A-Za-z0-9]{36}\b`, true),
	secret("GitHub OAuth token", "gho_", `[A-Za-z0-9]{36}\b`, true),
	secret("GitHub app token", "ghs_", `[A-Za-z0-9]{36}\b`, true),
	secret("GitHub user-to-server token", "ghu_", `[A-Za-z0-9]{36}\b`, true),
	secret("GitHub refresh token", "ghr_", `[A-Za-z0-9]{36}\b`, true),
	secret("GitHub fine-grained token", "github_pat_", `[A-Za-z0-9_]{82}\b`, true),
	secret("GitLab personal access token", "glpat-", `[A-Za-z0-9_-]{20}\b`, true),
	secret("Slack token", "xox", `[abprs]-[A-Za-z0-9-]{10,}`, true),
	secret("Stripe secret key", "sk_live_", `[A-Za-z0-9]{24,}`, true),
	secret("Google API key", "AIza", `[A-Za-z0-9_-]{35}`, true),
	secret("npm access token", "npm_", `[A-Za-z0-9]{36}\b`, true),
	secret("PyPI API token", "pypi-AgEIcHlwaS5vcmc", `[A-Za-z0-9_-]{50,}`, true),
}

// SecretFinding is the first credential found in a file.
type SecretFinding struct {
	Kind string
	Line int // 1-based
}

// maxSecretLen bounds how far past an anchor a match may reach; the
// longest pattern (github_pat_) is under 100 bytes, keys' headers under 50.
const maxSecretLen = 512

// ScanSecrets reports the first credential in data (the earliest by
// position), if any.
func ScanSecrets(data []byte) (SecretFinding, bool) {
	best := -1
	kind := ""
	for _, p := range SecretPatterns {
		anchor := []byte(p.Anchor)
		limit := len(data)
		if best >= 0 {
			limit = best // only an earlier finding matters
		}
		window := min(len(data), limit+len(anchor)-1) // an anchor starting before limit
		for off := 0; off < limit; {
			i := bytes.Index(data[off:window], anchor)
			if i < 0 {
				break
			}
			at := off + i
			off = at + 1
			if p.word && at > 0 && isWordByte(data[at-1]) {
				continue
			}
			end := min(len(data), at+maxSecretLen)
			if p.re.Match(data[at:end]) {
				best, kind = at, p.Kind
				break
			}
		}
	}
	if best < 0 {
		return SecretFinding{}, false
	}
	return SecretFinding{Kind: kind, Line: 1 + bytes.Count(data[:best], []byte("\n"))}, true
}

func isWordByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}
