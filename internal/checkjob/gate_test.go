package checkjob

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/match"
)

func gateConfig(t *testing.T, src string) *config.Config {
	t.Helper()
	f, diags := config.Parse(strings.NewReader(src), "hooks.toml")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	c, diags := config.Merge(nil, f)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return c
}

// TestGateRefNames: a ref-name policy refuses without reading a commit, a
// ref it does not select passes without a git command, and a certificate
// is asked for only when a policy needs one.
func TestGateRefNames(t *testing.T) {
	c := gateConfig(t, `version = 1
[[policy]]
name = "branch-names"
branches = ["**"]
ref_name = '^(main|feature/[a-z0-9-]+)$'
`)
	zero, sha := strings.Repeat("0", 40), strings.Repeat("a", 40)
	for _, tc := range []struct {
		ref, refused, out string
	}{
		{"refs/heads/feature/ok", "", ""},
		{"refs/tags/v1", "", ""},
		{"refs/heads/Bad_Name", "1 policy violation", "hookrun: refused: "},
	} {
		var out strings.Builder
		certAsked := false
		g := &Gate{
			Config: c, RepoPath: t.TempDir(), Updates: []match.RefUpdate{{Old: zero, New: sha, Name: tc.ref}},
			Environ: os.Environ(), Getenv: func(string) string { return "" },
			Cert: func(bool, []string) match.PushCert { certAsked = true; return match.PushCert{} },
			Out:  &out,
		}
		refused, err := g.Judge(context.Background())
		if err != nil {
			t.Errorf("%s: %v", tc.ref, err)
			continue
		}
		if refused != tc.refused || !strings.HasPrefix(out.String(), tc.out) || (tc.out == "") != (out.Len() == 0) {
			t.Errorf("%s: refused %q, wrote %q; want %q, %q...", tc.ref, refused, out.String(), tc.refused, tc.out)
		}
		if strings.HasPrefix(tc.ref, "refs/tags/") && certAsked {
			t.Errorf("%s: no policy applies, yet the certificate was read", tc.ref)
		}
	}
}
