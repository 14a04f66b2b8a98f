package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkPostReceiveNoMatch is the hook's own work for a push that
// matches no rule (read refs, load both configs, resolve): what every push
// pays on top of process start-up.
func BenchmarkPostReceiveNoMatch(b *testing.B) {
	repo := filepath.Join(b.TempDir(), "web.git")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		b.Fatal(err)
	}
	cfg, err := os.ReadFile("../../examples/hooks.toml")
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "hooks.toml"), cfg, 0o644); err != nil {
		b.Fatal(err)
	}
	env := map[string]string{"GIT_DIR": repo, "HOOKRUN_CONFIG": "../../examples/hookrun.toml"}
	getenv := func(k string) string { return env[k] }
	in := strings.Repeat("0", 40) + " " + strings.Repeat("1", 40) + " refs/notes/commits\n"
	b.ReportAllocs()
	for b.Loop() {
		if code := Main([]string{filepath.Join(repo, "hooks", "post-receive")}, strings.NewReader(in), io.Discard, os.Stderr, getenv); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}

// BenchmarkPreReceiveNoPolicy is the pre-receive hook's own work for a
// push no policy applies to (read refs, load both configs, match the
// policies' branches and tags): no git command, no D-Bus. Run beside
// BenchmarkPostReceiveNoMatch, the ratio is what pre-receive adds to a
// push on top of process start-up.
func BenchmarkPreReceiveNoPolicy(b *testing.B) {
	repo := filepath.Join(b.TempDir(), "web.git")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		b.Fatal(err)
	}
	cfg, err := os.ReadFile("../../examples/policy.hooks.toml")
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "hooks.toml"), cfg, 0o644); err != nil {
		b.Fatal(err)
	}
	env := map[string]string{"GIT_DIR": repo, "HOOKRUN_CONFIG": "../../examples/hookrun.toml"}
	getenv := func(k string) string { return env[k] }
	in := strings.Repeat("0", 40) + " " + strings.Repeat("1", 40) + " refs/notes/commits\n"
	b.ReportAllocs()
	for b.Loop() {
		if code := Main([]string{filepath.Join(repo, "hooks", "pre-receive")}, strings.NewReader(in), io.Discard, os.Stderr, getenv); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}

// BenchmarkPlanPaths is the hook's work up to the units it would start
// (read refs, load the config, resolve), for pushes of 1 and 1,000 refs
// into one per-push job, with and without paths on the rule: the
// difference is what path filters cost (the git processes that list the
// changed files). The 1,000 refs are 500 updates and 500 creates of a real
// repository whose new commit changed docs/x.md.
func BenchmarkPlanPaths(b *testing.B) {
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("no git")
	}
	dir := b.TempDir()
	repo, work := filepath.Join(dir, "r.git"), filepath.Join(dir, "work")
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@x", "GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@x")
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "--bare", "-b", "main", repo)
	git("clone", "-q", repo, work)
	for i, f := range []string{"a", "docs/x.md"} {
		p := filepath.Join(work, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x\n"), 0o644); err != nil {
			b.Fatal(err)
		}
		git("-C", work, "add", f)
		git("-C", work, "commit", "-q", "-m", fmt.Sprint(i))
	}
	git("-C", work, "push", "-q", "origin", "HEAD:main")
	old, new := git("-C", repo, "rev-parse", "main~1"), git("-C", repo, "rev-parse", "main")
	git("-C", repo, "update-ref", "refs/heads/main", old) // the creates bring the new commit
	global := filepath.Join(dir, "global.toml")
	if err := os.WriteFile(global, []byte("version = 1\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	getenv := func(k string) string {
		if k == "HOOKRUN_CONFIG" {
			return global
		}
		return ""
	}
	for _, refs := range []int{1, 1000} {
		var in strings.Builder
		for i := range refs {
			if i%2 == 0 {
				fmt.Fprintf(&in, "%s %s refs/heads/u%d\n", old, new, i)
			} else {
				fmt.Fprintf(&in, "%s %s refs/heads/c%d\n", strings.Repeat("0", len(new)), new, i)
			}
		}
		for _, paths := range []string{"", `paths = ["docs/**"]`} {
			name := fmt.Sprintf("refs=%d/paths=%v", refs, paths != "")
			cfg := "version = 1\n[jobs.site]\ntype = \"command\"\ncommand = [\"/bin/true\"]\nper = \"push\"\n[[rules]]\nbranches = [\"**\"]\n" + paths + "\njobs = [\"site\"]\n"
			b.Run(name, func(b *testing.B) {
				if err := os.WriteFile(filepath.Join(repo, "hooks.toml"), []byte(cfg), 0o644); err != nil {
					b.Fatal(err)
				}
				var out strings.Builder
				if code := Main([]string{"hookrun", "plan", "--repo", repo}, strings.NewReader(in.String()), &out, os.Stderr, getenv); code != 0 || !strings.Contains(out.String(), "unit git-site-r-") {
					b.Fatalf("exit %d:\n%s", code, out.String())
				}
				b.ReportAllocs()
				for b.Loop() {
					if code := Main([]string{"hookrun", "plan", "--repo", repo}, strings.NewReader(in.String()), io.Discard, os.Stderr, getenv); code != 0 {
						b.Fatalf("exit %d", code)
					}
				}
			})
		}
	}
}
