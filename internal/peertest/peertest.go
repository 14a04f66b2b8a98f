// Package peertest finds and runs the real programs hookrun works with — the
// gitmal site generator, an ntfy server, a Gitea forge (HOOKRUN_TEST_GITEA)
// and Chromium for the status site (HOOKRUN_TEST_CHROMIUM) — for tests and
// the demo.
//
// A peer is found through its environment variable (HOOKRUN_TEST_GITMAL,
// HOOKRUN_TEST_NTFY: the path of the binary), else where `make demo` finds
// it, in ../shared/peers/ beside the checkout (SharedPeers), else by its
// name on PATH. When
// none is found, Gitmal, NtfyBinary and NewNtfy skip the test with a one-line
// reason, unless HOOKRUN_REQUIRE_PEERS=1 is set (CI sets it), in which case
// the test fails: skips are forbidden there.
//
// StartGitea runs a real Gitea on 127.0.0.1 with sqlite, an admin user and
// its token (see ../shared/peers/README.md, "Gitea, as observed").
//
// StartNtfy runs a real ntfy server on 127.0.0.1 with auth-default-access
// deny-all, an admin user and its token; its Poll reads back what was
// published through ntfy's own JSON poll API. A test that needs a server to
// misbehave in ways a real one cannot be made to (injected faults) uses
// internal/ntfytest instead.
package peertest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hookrun/hookrun/internal/skiptest"
)

// Environment variables naming the peers and forbidding skips.
const (
	GitmalEnv  = "HOOKRUN_TEST_GITMAL"
	NtfyEnv    = "HOOKRUN_TEST_NTFY"
	RequireEnv = "HOOKRUN_REQUIRE_PEERS"
)

// Required reports whether HOOKRUN_REQUIRE_PEERS forbids skipping
// (skiptest.Required: set to anything but "" or "0").
func Required() bool { return skiptest.Required(RequireEnv) }

// ErrNotFound is wrapped by FindGitmal and FindNtfy when there is no peer.
var ErrNotFound = errors.New("peer not found")

// FindGitmal returns the absolute path of the gitmal binary:
// $HOOKRUN_TEST_GITMAL, else gitmal on PATH.
func FindGitmal() (string, error) { return find("gitmal", GitmalEnv) }

// FindNtfy returns the ntfy binary: $HOOKRUN_TEST_NTFY, else ntfy on PATH.
func FindNtfy() (string, error) { return find("ntfy", NtfyEnv) }

func find(name, env string) (string, error) {
	if p := os.Getenv(env); p != "" {
		fi, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("%w: %s=%s: %v", ErrNotFound, env, p, err)
		}
		if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("%w: %s=%s is not an executable file", ErrNotFound, env, p)
		}
		// Absolute: servers run in their own directory, and the path goes
		// into hooks.toml files.
		return filepath.Abs(p)
	}
	if dir := SharedPeers(); dir != "" {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%w: %s is not set, and there is no %s in ../shared/peers beside the checkout nor on PATH", ErrNotFound, env, name)
	}
	return filepath.Abs(p)
}

// SharedPeers is the absolute path of ../shared/peers beside the checkout
// (the directory holding go.mod, found upwards from the working directory:
// a package's directory under go test), where the Makefile's PEERS points
// `make demo`; "" when there is none.
func SharedPeers() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(filepath.Dir(dir), "shared", "peers")
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				return p
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Gitmal returns the gitmal binary, or skips t (fails it under
// HOOKRUN_REQUIRE_PEERS=1).
func Gitmal(t testing.TB) string {
	t.Helper()
	p, err := FindGitmal()
	if err != nil {
		Missing(t, err)
	}
	return p
}

// NtfyBinary returns the ntfy binary, or skips t (fails it under
// HOOKRUN_REQUIRE_PEERS=1).
func NtfyBinary(t testing.TB) string {
	t.Helper()
	p, err := FindNtfy()
	if err != nil {
		Missing(t, err)
	}
	return p
}

// Missing skips t with a one-line reason, or fails it when
// HOOKRUN_REQUIRE_PEERS=1.
func Missing(t testing.TB, err error) {
	t.Helper()
	skiptest.SkipOrFail(t, err.Error(), RequireEnv)
}

// ChromiumEnv names a Chromium binary for the status site's browser test.
const ChromiumEnv = "HOOKRUN_TEST_CHROMIUM"

// FindChromium returns $HOOKRUN_TEST_CHROMIUM, else chromium on PATH
// (Debian's chromium package).
func FindChromium() (string, error) { return find("chromium", ChromiumEnv) }

// Chromium returns the chromium binary, or skips t (fails it under
// HOOKRUN_REQUIRE_PEERS=1).
func Chromium(t testing.TB) string {
	t.Helper()
	p, err := FindChromium()
	if err != nil {
		Missing(t, err)
	}
	return p
}
