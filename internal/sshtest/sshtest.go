// Package sshtest gives tests a real OpenSSH server on 127.0.0.1: /usr/sbin/sshd
// on a free port with its own throwaway host key, accepting one throwaway
// client key for any local user that Authorize names. Tests reach it with
// plain `ssh` and the options Server.Options returns, exactly as an operator
// reaches a build host.
//
// When sshd or the OpenSSH client is missing, Start skips the test, unless
// HOOKRUN_REQUIRE_SSHD=1 is set (CI sets it), in which case the test fails
// (internal/skiptest).
package sshtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/skiptest"
)

// RequireEnv is the environment variable that turns every skip of Start
// into a test failure when set (to anything but "" or "0": skiptest).
const RequireEnv = "HOOKRUN_REQUIRE_SSHD"

// Binary is the OpenSSH server the tests run.
const Binary = "/usr/sbin/sshd"

// Server is a running sshd.
type Server struct {
	// Port is the TCP port sshd listens on at 127.0.0.1.
	Port int
	// ClientKey is the private key every authorized user accepts. Its
	// directory's name contains a space and a single quote, so callers that
	// splice ssh options into a shell word (GIT_SSH_COMMAND) must quote them.
	ClientKey string

	dir     string // scratch directory, world-traversable
	keysDir string // AuthorizedKeysFile is keysDir/%u
	pub     []byte // the client key's public half
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	stopped bool
	mu      sync.Mutex
}

// Required reports whether RequireEnv forbids skipping (skiptest.Required).
func Required() bool { return skiptest.Required(RequireEnv) }

// skipOrFail skips tb, or fails it when Required.
func skipOrFail(tb testing.TB, why string) {
	tb.Helper()
	skiptest.SkipOrFail(tb, "sshtest: "+why, RequireEnv)
}

// Start starts sshd for the test and stops it (by PID) when the test ends.
// The current user is authorized; Authorize adds others.
func Start(tb testing.TB) *Server {
	tb.Helper()
	if _, err := os.Stat(Binary); err != nil {
		skipOrFail(tb, "no "+Binary+" (apt-get install -y openssh-server)")
	}
	for _, tool := range []string{"ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrFail(tb, "no "+tool+" (apt-get install -y openssh-client)")
		}
	}
	if os.Geteuid() == 0 {
		// sshd running as root needs its privilege separation directory.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	// Not tb.TempDir: its parent is private to the test's user, and other
	// users' sessions must read their authorized keys.
	dir, err := os.MkdirTemp("", "hookrun-sshd-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	s, err := launch(dir)
	if err != nil {
		tb.Fatalf("sshtest: %v", err)
	}
	tb.Cleanup(func() {
		s.Stop()
		if tb.Failed() {
			tb.Logf("sshd log:\n%s", s.Log())
		}
	})
	if err := s.Authorize(currentUser()); err != nil {
		tb.Fatalf("sshtest: %v", err)
	}
	return s
}

func currentUser() string {
	if n := os.Getenv("USER"); n != "" && os.Getuid() != 0 {
		return n
	}
	if os.Getuid() == 0 {
		return "root"
	}
	out, err := exec.Command("id", "-un").Output()
	if err != nil {
		return strconv.Itoa(os.Getuid())
	}
	return string(bytes.TrimSpace(out))
}

func launch(dir string) (*Server, error) {
	// Other users' sessions read their authorized keys with their own
	// uid: the directories on the way must be traversable.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	s := &Server{dir: dir, keysDir: filepath.Join(dir, "authorized"), exited: make(chan struct{})}
	if err := os.Mkdir(s.keysDir, 0o755); err != nil {
		return nil, err
	}
	keyDir := filepath.Join(dir, "client key's dir")
	if err := os.Mkdir(keyDir, 0o700); err != nil {
		return nil, err
	}
	hostKey := filepath.Join(dir, "host_key")
	s.ClientKey = filepath.Join(keyDir, "id")
	for _, k := range []string{hostKey, s.ClientKey} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hookrun-test", "-f", k).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("ssh-keygen: %v\n%s", err, out)
		}
	}
	pub, err := os.ReadFile(s.ClientKey + ".pub")
	if err != nil {
		return nil, err
	}
	s.pub = pub

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()

	// SetEnv SHLVL=1: bash, run by sshd for a command, reads ~/.bashrc
	// only at shell level 1 (SSH_SOURCE_BASHRC), so at level 2 a session
	// runs no startup file of the account. Root's here runs `pyenv init`,
	// whose rehash lock, left behind by a session killed mid-login, made
	// every later root session wait 60 s for it.
	config := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile %s
AuthorizedKeysFile %s/%%u
PubkeyAuthentication yes
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
MaxSessions 200
MaxStartups 100:30:200
LogLevel VERBOSE
SetEnv SHLVL=1
`, s.Port, hostKey, filepath.Join(dir, "sshd.pid"), s.keysDir)), 0o600); err != nil {
		return nil, err
	}

	// A file, not a pipe: sessions inherit sshd's stderr, and Wait
	// would otherwise wait for the last of them to end.
	logf, err := os.Create(filepath.Join(dir, "sshd.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	s.logPath = logf.Name()
	s.cmd = exec.Command(Binary, "-D", "-e", "-f", config)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start sshd: %w", err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("sshd exited at start:\n%s", s.Log())
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("sshd does not listen on port %d:\n%s", s.Port, s.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Authorize lets the local user name log in with ClientKey. The account
// must exist and must not be locked.
func (s *Server) Authorize(name string) error {
	return os.WriteFile(filepath.Join(s.keysDir, name), s.pub, 0o644)
}

// AuthorizeForced makes a second client key, which user name may log in
// with only under options (an authorized_keys options field, such as
// `restrict,command="..."`), added as its own line beside ClientKey's (which
// stays unrestricted, for the test's own commands). It returns the new
// private key's path. Authorize the user first.
func (s *Server) AuthorizeForced(name, options string) (string, error) {
	key := filepath.Join(filepath.Dir(s.ClientKey), "forced-"+name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hookrun-test-forced", "-f", key).CombinedOutput(); err != nil {
		return "", fmt.Errorf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(filepath.Join(s.keysDir, name), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return "", fmt.Errorf("authorize %s first: %w", name, err)
	}
	defer f.Close()
	_, err = f.Write(append([]byte(options+" "), pub...))
	return key, err
}

// Dest is the ssh destination of user name on this server: "name@127.0.0.1".
func (s *Server) Dest(name string) string { return name + "@127.0.0.1" }

// Options are the ssh options that reach this server with ClientKey and no
// other configuration: the user's ~/.ssh/config and known hosts are not read.
func (s *Server) Options() []string {
	return []string{
		"-F", "/dev/null", "-p", strconv.Itoa(s.Port), "-i", s.ClientKey,
		"-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
	}
}

// Stop stops sshd and every session it serves, so that clients see the
// connection drop. Safe to call twice.
//
// The listener is frozen (SIGSTOP) first: a connection it accepted while
// its sessions were being killed would otherwise leave a session process
// that outlives it, reparented and no longer found under it, and that goes
// on serving its client (a watcher would then never lose contact). Then
// the sessions are killed and the listener with SIGKILL.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	pid := s.cmd.Process.Pid
	s.freeze(pid)
	s.killSessions()
	_ = syscall.Kill(pid, syscall.SIGKILL)
	<-s.exited
}

// DropSessions kills every session sshd serves now (each per-connection
// sshd process and everything under it), as a network failure would end
// them, and keeps listening. It returns how many connections it dropped.
func (s *Server) DropSessions() int {
	pid := s.cmd.Process.Pid
	s.freeze(pid) // no new session while the old ones are killed
	defer syscall.Kill(pid, syscall.SIGCONT)
	return s.killSessions()
}

// freeze stops pid (SIGSTOP) and waits until it is stopped, or 5 s.
func (s *Server) freeze(pid int) {
	_ = syscall.Kill(pid, syscall.SIGSTOP)
	deadline := time.Now().Add(5 * time.Second)
	for !stopped(pid) && time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// stopped reports whether pid is in the stopped state (or gone).
func stopped(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || len(b) < i+3 || b[i+2] == 'T' || b[i+2] == 't' || b[i+2] == 'Z'
}

// killSessions kills every process under the (frozen) listener: each one
// found is stopped first, so none can fork a child that escapes, and all
// are killed once no new one appears. It returns how many direct children
// (connections) there were.
func (s *Server) killSessions() int {
	seen := map[int]bool{}
	direct := 0
	for {
		var found []int
		for next := children(s.cmd.Process.Pid); len(next) > 0; {
			var deeper []int
			for _, p := range next {
				if !seen[p] {
					found = append(found, p)
				}
				deeper = append(deeper, children(p)...)
			}
			next = deeper
		}
		if len(found) == 0 {
			break
		}
		for _, p := range found {
			seen[p] = true
			_ = syscall.Kill(p, syscall.SIGSTOP)
		}
	}
	direct = len(children(s.cmd.Process.Pid))
	for p := range seen {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	return direct
}

// children lists the direct children of pid, from /proc.
func children(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		var state string
		var ppid int
		if _, err := fmt.Sscan(string(b[i+1:]), &state, &ppid); err == nil && ppid == pid {
			out = append(out, c)
		}
	}
	return out
}

// Log is what sshd has logged so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}
