package job

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookrun/hookrun/internal/plan"
)

// TestGitmalRefusesUnsafeOutput: a gitmal output whose expansion went wrong
// (an empty {branch} on a tag push) or that contains the repository or
// another job's site fails the unit before anything is built or swapped,
// and the sibling sites stay.
func TestGitmalRefusesUnsafeOutput(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(g *gitmalSetup, s *plan.Step)
		msg  string
	}{
		{"empty last component", func(g *gitmalSetup, s *plan.Step) { s.Output = g.parent + "/"; s.Argv[4] = s.Output },
			`the gitmal output "` + "PARENT" + `/" has an empty path component ("//" or a trailing "/")`},
		{"empty inner component", func(g *gitmalSetup, s *plan.Step) { s.Output = g.parent + "//x"; s.Argv[4] = s.Output },
			"has an empty path component"},
		{"dot dot", func(g *gitmalSetup, s *plan.Step) { s.Output = g.out + "/../x"; s.Argv[4] = s.Output }, `has a ".." path component`},
		{"dot", func(g *gitmalSetup, s *plan.Step) { s.Output = g.parent + "/./x"; s.Argv[4] = s.Output }, `has a "." path component`},
		{"root", func(g *gitmalSetup, s *plan.Step) { s.Output = "/"; s.Argv[4] = s.Output }, `the gitmal output "/" is the root directory`},
		{"contains the repository", func(g *gitmalSetup, s *plan.Step) {
			s.Output = filepath.Dir(g.u.RepoPath)
			s.Argv[4] = s.Output
		}, "contains the repository"},
		{"is the repository", func(g *gitmalSetup, s *plan.Step) { s.Output = g.u.RepoPath; s.Argv[4] = s.Output }, "contains the repository"},
		{"contains another site", func(g *gitmalSetup, s *plan.Step) { s.Keep = []string{filepath.Join(g.out, "main")} }, "(another job's output)"},
		{"working directory", func(g *gitmalSetup, s *plan.Step) { g.u.Dir = g.parent + "/" }, `working_directory "`},
		{"read_write_paths", func(g *gitmalSetup, s *plan.Step) { g.u.Sandbox.ReadWritePaths = []string{"/srv//x"} }, `read_write_paths entry "/srv//x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGitmalSetup(t)
			sibling := filepath.Join(g.out, "main", "index.html")
			if err := os.MkdirAll(filepath.Dir(sibling), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(sibling, []byte("main"), 0o644); err != nil {
				t.Fatal(err)
			}
			tc.edit(g, &g.u.Steps[0])
			err := Run(context.Background(), g.u, &bytes.Buffer{}, &bytes.Buffer{})
			msg := strings.ReplaceAll(tc.msg, "PARENT", g.parent)
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Code != ExitFailure || !strings.Contains(err.Error(), msg) {
				t.Fatalf("Run = %v, want an exit status 1 error saying %q", err, msg)
			}
			if _, err := os.Stat(g.rec); err == nil {
				t.Error("gitmal ran anyway")
			}
			if b, err := os.ReadFile(sibling); err != nil || string(b) != "main" {
				t.Errorf("sibling site: %q, %v", b, err)
			}
		})
	}
}

func TestBadComponent(t *testing.T) {
	for p, want := range map[string]string{
		"": "", "/": "", "/srv/www": "", "src/x": "", "x": "",
		"/srv/": "empty", "/srv//x": "empty", "src/./x": `"."`, "..": `".."`, "/a/..": `".."`,
	} {
		if got := badComponent(p); want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("badComponent(%q) = %q, want %q", p, got, want)
		}
	}
}
