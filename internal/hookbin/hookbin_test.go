package hookbin

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A hookrun-hook without hookrun beside it starts nothing, saying why: its
// units would run that hookrun, and nothing would record how they end.
func TestMissingHookrunStartsNothing(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "r.git")
	if err := os.MkdirAll(filepath.Join(repo, "hooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	in := strings.NewReader("0000000000000000000000000000000000000000 1111111111111111111111111111111111111111 refs/heads/main\n")
	getenv := func(k string) string {
		if k == "GIT_DIR" {
			return repo
		}
		return ""
	}
	code := Main([]string{filepath.Join(dir, "bin", "hookrun-hook"), filepath.Join(repo, "hooks", "post-receive")}, in, &bytes.Buffer{}, &stderr, getenv)
	want := "hookrun-hook runs the hookrun beside it, " + filepath.Join(dir, "bin", "hookrun") + ", which is missing or not executable: no job was started"
	if code != 1 || !strings.Contains(stderr.String(), want) {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and %q", code, stderr.String(), want)
	}
	if _, err := os.Stat(filepath.Join(repo, "hookrun")); err == nil {
		t.Errorf("the push touched its state directory")
	}
}
