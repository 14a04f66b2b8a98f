// Package hosttest gives tests a second "host" on this machine, made of real
// parts: a local account (User, created with useradd when missing), its own
// systemd user manager in its own mount namespace (systemdtest.StartAs), and
// an sshd on 127.0.0.1 with its own host key that lets the test's client key
// in as that account (sshtest). A test then reaches the host exactly as
// hookrun reaches a build host: `ssh [Options] Dest ...`, with the remote
// user's manager at RuntimeDir/systemd/private on the far side.
//
// It needs root (to create the account and run a manager as it). Without
// what it needs, Start skips the test; HOOKRUN_REQUIRE_SSHD=1 or
// HOOKRUN_REQUIRE_SYSTEMD=1 turns that skip into a failure.
package hosttest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"testing"

	"github.com/hookrun/hookrun/internal/sshtest"
	"github.com/hookrun/hookrun/internal/systemdtest"
)

// User is the account the second host's jobs run as.
const User = "hookrun-remote"

// Host is a running second host.
type Host struct {
	SSH     *sshtest.Server
	Account systemdtest.Account
	Manager *systemdtest.Manager
	// Dest is the ssh destination, User@127.0.0.1.
	Dest string
	// RuntimeDir is the remote user's XDG_RUNTIME_DIR (not /run/user/UID:
	// each test's manager has its own).
	RuntimeDir string
}

// required reports whether either peer variable forbids skipping.
func required() bool { return sshtest.Required() || systemdtest.Required() }

// Start brings a second host up for the test and takes it down at the end.
func Start(tb testing.TB) *Host {
	tb.Helper()
	if os.Geteuid() != 0 {
		if required() {
			tb.Fatalf("hosttest: a second host needs root (to create %s and run its manager); %s=1 or %s=1 forbid skipping",
				User, sshtest.RequireEnv, systemdtest.RequireEnv)
		}
		tb.Skipf("hosttest: a second host needs root (to create %s and run its manager)", User)
	}
	acct, err := EnsureUser(User)
	if err != nil {
		tb.Fatalf("hosttest: %v", err)
	}
	srv := sshtest.Start(tb)
	if err := srv.Authorize(acct.Name); err != nil {
		tb.Fatalf("hosttest: %v", err)
	}
	m := systemdtest.StartAs(tb, acct)
	return &Host{SSH: srv, Account: acct, Manager: m, Dest: srv.Dest(acct.Name), RuntimeDir: m.RuntimeDir}
}

// Options are the ssh options that reach the host (see sshtest.Server.Options).
func (h *Host) Options() []string { return h.SSH.Options() }

// SSH runs argv on the host as its user, over ssh, with XDG_RUNTIME_DIR set
// to the host's runtime directory, and returns its standard output. Each
// word is quoted for the remote shell.
func (h *Host) Run(tb testing.TB, argv ...string) string {
	tb.Helper()
	out, err := h.Output(argv...)
	if err != nil {
		tb.Fatalf("hosttest: on %s: %s: %v", h.Dest, strings.Join(argv, " "), err)
	}
	return out
}

// Output is Run returning the error (with ssh's standard error in it).
func (h *Host) Output(argv ...string) (string, error) {
	line := "XDG_RUNTIME_DIR=" + quote(h.RuntimeDir) + " exec"
	for _, a := range argv {
		line += " " + quote(a)
	}
	args := append(append(h.Options(), "-o", "BatchMode=yes", "--", h.Dest), line)
	cmd := exec.Command("ssh", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// quote makes s one POSIX shell word.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// EnsureUser returns the local account name, creating it (useradd, a home
// directory, /bin/sh, a password that is not set but not locked, so sshd
// lets a key in) when it does not exist. Needs root to create it.
func EnsureUser(name string) (systemdtest.Account, error) {
	if a, err := lookup(name); err == nil {
		return a, nil
	}
	out, err := exec.Command("useradd", "--create-home", "--shell", "/bin/sh",
		"--comment", "hookrun tests: the user of the second host", name).CombinedOutput()
	if err != nil {
		// A concurrent test package may have created it meanwhile.
		if a, err2 := lookup(name); err2 == nil {
			return a, nil
		}
		return systemdtest.Account{}, fmt.Errorf("useradd %s: %v: %s (create the user by hand, or run the tests as root)",
			name, err, bytes.TrimSpace(out))
	}
	// useradd leaves the password "!" (locked): without PAM, sshd then
	// refuses every login, keys included. "*" matches no password.
	if out, err := exec.Command("usermod", "--password", "*", name).CombinedOutput(); err != nil {
		return systemdtest.Account{}, fmt.Errorf("usermod --password '*' %s: %v: %s", name, err, bytes.TrimSpace(out))
	}
	return lookup(name)
}

func lookup(name string) (systemdtest.Account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return systemdtest.Account{}, err
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return systemdtest.Account{}, fmt.Errorf("user %s: uid %q gid %q are not numbers", name, u.Uid, u.Gid)
	}
	return systemdtest.Account{Name: u.Username, UID: uid, GID: gid, Home: u.HomeDir}, nil
}
