package main

import (
	"io"
	"os"
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
