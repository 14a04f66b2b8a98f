package job

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/waittest"
)

func TestLockBuildDir(t *testing.T) {
	rt := t.TempDir()
	u1 := &plan.Unit{Name: "git-build-a-1.service", RepoPath: t.TempDir(), Env: []string{"XDG_RUNTIME_DIR=" + rt}}
	u2 := &plan.Unit{Name: "git-build-b-2.service", RepoPath: t.TempDir(), Env: []string{"XDG_RUNTIME_DIR=" + rt}}
	release, err := lockBuildDir(context.Background(), u1, "builder@host", "src/site", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Another repository's unit, same host and path: it waits, and says
	// for whom. Wait (with a deadline, no fixed sleep) until it says so:
	// it must not get the lock before that, however slow the machine.
	stderr := &syncBuffer{}
	got := make(chan error, 1)
	go func() {
		r, err := lockBuildDir(context.Background(), u2, "builder@host", "src/site", stderr)
		if err == nil {
			r()
		}
		got <- err
	}()
	waittest.Until(t, 30*time.Second, "the second build to say it waits", func() (bool, string) {
		select {
		case err := <-got:
			t.Fatalf("the second build got the lock while the first held it (err %v; stderr %q)", err, stderr.String())
		default:
		}
		return strings.Contains(stderr.String(), "hookrun: forward-build: waiting for "), fmt.Sprintf("stderr %q", stderr.String())
	})
	select {
	case err := <-got:
		t.Fatalf("the second build got the lock while the first held it (err %v)", err)
	default:
	}
	release()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the second build never got the lock after the first released it")
	}
	if want := "hookrun: forward-build: waiting for git-build-a-1.service, which builds in builder@host:src/site\n"; stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
	// A different path does not wait.
	r, err := lockBuildDir(context.Background(), u1, "builder@host", "src/other", nil)
	if err != nil {
		t.Fatal(err)
	}
	r()
	locks, _ := filepath.Glob(filepath.Join(rt, "hookrun", "locks", "forward-*.lock"))
	if len(locks) != 2 {
		t.Errorf("locks %v, want one per host:path in the runtime directory", locks)
	}
}

func TestLockBuildDirStops(t *testing.T) {
	u := &plan.Unit{Name: "git-build-a-1.service", RepoPath: t.TempDir(), Env: []string{"XDG_RUNTIME_DIR=" + t.TempDir()}}
	release, err := lockBuildDir(context.Background(), u, "h", "p", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = lockBuildDir(ctx, u, "h", "p", nil)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped while waiting for the build directory h:p") {
		t.Errorf("error = %v", err)
	}
}

// TestLockBuildDirFallsBack: without a writable runtime directory the lock
// is in the repository's state directory.
func TestLockBuildDirFallsBack(t *testing.T) {
	ro := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(ro, 0o500); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		ro = "/proc/hookrun-no-such-dir" // root writes anywhere else
	}
	repo := t.TempDir()
	u := &plan.Unit{Name: "u", RepoPath: repo, Env: []string{"XDG_RUNTIME_DIR=" + ro}}
	release, err := lockBuildDir(context.Background(), u, "h", "p", nil)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if locks, _ := filepath.Glob(filepath.Join(layout.Dir(repo), "locks", "forward-*.lock")); len(locks) != 1 {
		t.Errorf("no lock in the state directory: %v", locks)
	}
}
