// Package hosttest gives tests a second "host" on this machine, made of real
// parts: a local account (User, created with useradd when missing), its own
// systemd user manager in its own mount namespace (systemdtest.StartAs), and
// an sshd on 127.0.0.1 with its own host key that lets the test's client key
// in as that account (sshtest). A test then reaches the host exactly as
// hookrun reaches a build host: `ssh [Options] Dest ...`, with the remote
// user's manager at RuntimeDir/systemd/private on the far side.
//
// Every Start has an account of its own (UserPrefix, the test process's
// pid and a counter), created with useradd and removed with userdel when the
// test ends: test packages that `go test ./...` runs at once, and copies of
// the suite run by other people on the same machine, never share a home
// directory (the mirrors live there) or a user. Accounts left by a test
// process that died are removed by the next Start.
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
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/skiptest"
	"github.com/hookrun/hookrun/internal/sshtest"
	"github.com/hookrun/hookrun/internal/systemdtest"
)

// UserPrefix starts the name of every account Start creates:
// UserPrefix + PID + "-" + N.
const UserPrefix = "hookrun-r"

// accounts numbers the accounts this process creates.
var accounts atomic.Int64

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

// Start brings a second host up for the test and takes it down at the end.
func Start(tb testing.TB) *Host {
	tb.Helper()
	if os.Geteuid() != 0 {
		skiptest.SkipOrFail(tb, "hosttest: a second host needs root (to create its account and run its manager)",
			sshtest.RequireEnv, systemdtest.RequireEnv)
	}
	sweepAccounts()
	name := UserPrefix + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(accounts.Add(1), 10)
	acct, err := EnsureUser(name)
	if err != nil {
		tb.Fatalf("hosttest: %v", err)
	}
	// Registered first, so it runs last: after sshd and the manager (and
	// every process of the account) have stopped.
	tb.Cleanup(func() {
		if err := removeUser(name); err != nil {
			tb.Errorf("hosttest: %v", err)
		}
	})
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
	// useradd's default password "!" is locked: without PAM, sshd then
	// refuses every login, keys included. "*" matches no password.
	argv := []string{"useradd", "--create-home", "--shell", "/bin/sh", "--password", "*",
		"--comment", "hookrun tests, the user of a second host", name}
	if err := shadowTool(argv); err != nil {
		// A concurrent test package may have created it meanwhile.
		if a, err2 := lookup(name); err2 == nil {
			return a, nil
		}
		return systemdtest.Account{}, fmt.Errorf("%v (create the user by hand, or run the tests as root)", err)
	}
	return lookup(name)
}

// removeUser deletes the account name and its home directory.
func removeUser(name string) error {
	if _, err := lookup(name); err != nil {
		return nil // gone already
	}
	return shadowTool([]string{"userdel", "--force", "--remove", name})
}

// shadowTool runs useradd or userdel, again while another process holds
// the lock on /etc/passwd or /etc/shadow (test packages create and remove
// accounts at the same time), for up to a minute.
func shadowTool(argv []string) error {
	deadline := time.Now().Add(time.Minute)
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		if err == nil {
			return nil
		}
		if !bytes.Contains(out, []byte("lock")) || time.Now().After(deadline) {
			return fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, bytes.TrimSpace(out))
		}
		time.Sleep(wait) // a retry after contention, not an ordering of events
	}
}

// sweepAccounts removes the accounts of test processes that no longer run
// (killed before their cleanups): UserPrefix + PID + "-" + N with no such
// PID. Errors are ignored: another process may be sweeping the same ones.
func sweepAccounts() {
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return
	}
	for line := range strings.Lines(string(b)) {
		name, _, _ := strings.Cut(line, ":")
		rest, ok := strings.CutPrefix(name, UserPrefix)
		pid, _, ok2 := strings.Cut(rest, "-")
		n, err := strconv.Atoi(pid)
		if !ok || !ok2 || err != nil || n <= 0 {
			continue
		}
		if syscall.Kill(n, 0) == syscall.ESRCH {
			_ = removeUser(name)
		}
	}
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
