package runner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/hosttest"
	"github.com/hookrun/hookrun/internal/plan"
)

// TestIsolationAsUser runs an isolated unit (a check job's) on the user
// manager of a non-root account, as on a real git server, and shows from
// inside what IsolatedProperties promises: the repository and the home
// directory read-only, the scratch directory writable, the manager out of
// reach, no capabilities.
func TestIsolationAsUser(t *testing.T) {
	h := hosttest.Start(t)
	top, err := os.MkdirTemp("", "hookrun-isolation-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	repo, scratch := filepath.Join(top, "r.git"), filepath.Join(top, "tmp")
	for _, d := range []string{repo, scratch} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, h.Account.UID, h.Account.GID); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(top, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sd, err := DialSystemd(ctx, "user", func(k string) string {
		if k == "XDG_RUNTIME_DIR" {
			return h.RuntimeDir
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sd.Close()
	u := &plan.Unit{Name: "hookrun-isolation-test.service", Job: "check", Repo: "r", RepoPath: repo,
		Limits: plan.Limits{Timeout: 30 * time.Second}, Env: []string{"TMPDIR=" + scratch, "GIT_DIR=" + repo}}
	iso := Isolation{ReadOnly: []string{repo}, HiddenDirs: []string{h.RuntimeDir}, Writable: []string{scratch}}
	script := `id -u
touch "$GIT_DIR/x" 2>/dev/null && echo "wrote the repository"
touch "$HOME/x" 2>/dev/null && echo "wrote HOME"
touch "$TMPDIR/x" && echo "wrote the scratch directory"
systemctl --user list-units >/dev/null 2>&1 && echo "reached the manager"
grep -E '^(CapEff|NoNewPrivs):' /proc/self/status | tr -s ' \t' ' '
exit 0`
	var out bytes.Buffer
	res, err := sd.RunSync(ctx, u, []string{"/bin/sh", "-c", script}, &out, &iso)
	if err != nil || !res.OK() {
		t.Fatalf("the unit: %+v, %v\n%s", res, err, out.String())
	}
	got := out.String()
	want := "wrote the scratch directory\nCapEff: 0000000000000000\nNoNewPrivs: 1\n"
	if !strings.HasSuffix(got, want) || strings.Contains(got, "repository") || strings.Contains(got, "HOME") || strings.Contains(got, "manager") {
		t.Errorf("inside the unit:\n%s\nwant it to end with:\n%s", got, want)
	}
	if first, _, _ := strings.Cut(got, "\n"); first == "0" || first == "" {
		t.Errorf("ran as uid %q, want the account's", first)
	}
}
