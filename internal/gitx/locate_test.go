package gitx

import (
	"os/exec"
	"path/filepath"
	"testing"
)

func TestLocate(t *testing.T) {
	dir := t.TempDir()
	bare := filepath.Join(dir, "site.git")
	clone := filepath.Join(dir, "work")
	for _, args := range [][]string{{"init", "-q", "--bare", bare}, {"init", "-q", clone}} {
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	noEnv := func(string) string { return "" }
	gitDir := func(d string) func(string) string {
		return func(k string) string {
			if k == "GIT_DIR" {
				return d
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name, flag, cwd string
		getenv          func(string) string
		want            string
	}{
		{"a bare repository named", bare, "/", noEnv, bare},
		{"named relative to the directory", "site.git", dir, noEnv, bare},
		{"a work clone stands for its .git", clone, "/", noEnv, filepath.Join(clone, ".git")},
		{"inside a work clone", "", filepath.Join(clone, ".git"), noEnv, filepath.Join(clone, ".git")},
		{"$GIT_DIR", "", "/", gitDir(bare), bare},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Locate(tc.flag, tc.cwd, tc.getenv); got != tc.want {
				t.Errorf("Locate(%q, %q) = %q, want %q", tc.flag, tc.cwd, got, tc.want)
			}
		})
	}
}
