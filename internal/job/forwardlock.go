package job

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/plan"
)

// LockPollInterval is how often a forward-build waiting for its build
// directory tries the lock again.
var LockPollInterval = 200 * time.Millisecond

// namePolls is how many polls a waiting build gives the holder to write its
// name into the lock file before it says it waits for "another build".
const namePolls = 5

// lockBuildDir serialises forward-builds into the same host:path: two builds
// in one remote worktree would check out over each other (build 152ac6f
// once ended with the tree at 9b88b00, both reported success). It takes an
// exclusive flock on a file named after host and path, waiting while
// another unit holds it (saying which), until ctx ends, and returns the
// release. The lock lives in the user's runtime directory
// ($XDG_RUNTIME_DIR/hookrun/locks), shared by every repository of the user
// on this machine, or, where the unit cannot write there (protect_system =
// "strict"), in the repository's state directory: then builds are
// serialised per repository. A unit that dies releases its lock with it.
func lockBuildDir(ctx context.Context, u *plan.Unit, host, path string, stderr io.Writer) (release func(), err error) {
	if stderr == nil {
		stderr = io.Discard
	}
	sum := sha256.Sum256([]byte(host + "\x00" + path))
	name := "forward-" + hex.EncodeToString(sum[:12]) + ".lock"
	var dirs []string
	rt := getenv(u.Env, "XDG_RUNTIME_DIR")
	if rt == "" {
		rt = os.Getenv("XDG_RUNTIME_DIR")
	}
	if rt != "" {
		dirs = append(dirs, layout.RuntimeLocks(rt))
	}
	dirs = append(dirs, layout.Locks(u.RepoPath))
	var f *os.File
	var errs []error
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			errs = append(errs, err)
			continue
		}
		if f, err = os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE, 0o600); err == nil {
			break
		}
		errs = append(errs, err)
	}
	if f == nil {
		return nil, fmt.Errorf("forward-build: cannot create the lock that keeps builds into %s:%s apart: %w", host, path, errors.Join(errs...))
	}
	said := false
	err = flockWait(ctx, f, LockPollInterval, func(polls int) {
		if said {
			return
		}
		// The holder writes its name just after it takes the lock: until
		// then the file is empty, so wait a few polls for a name before
		// settling for "another build".
		holder, _ := os.ReadFile(f.Name())
		who := strings.TrimSpace(string(holder))
		if who == "" && polls >= namePolls {
			who = "another build"
		}
		if who != "" {
			said = true
			fmt.Fprintf(stderr, "hookrun: forward-build: waiting for %s, which builds in %s:%s\n", printable(who), host, path)
		}
	})
	if err != nil {
		f.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("forward-build: stopped while waiting for the build directory %s:%s: %w", host, path, err)
		}
		return nil, fmt.Errorf("forward-build: lock %s: %w", f.Name(), err)
	}
	// Say who holds it, for the next one to wait.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(u.Name+"\n"), 0)
	}
	return func() {
		_ = f.Truncate(0)
		f.Close() // releases the flock
	}, nil
}
