// Package systemdtest gives tests a real systemd user manager, also on
// machines whose PID 1 is not systemd (CI containers, VMs).
//
// As root it starts a private manager: `systemd --user` in its own mount
// namespace (a tmpfs on /run/systemd, so the manager believes it runs under a
// systemd system), its own cgroup subtree (so concurrent managers never share
// app.slice), and a fresh XDG_RUNTIME_DIR. Clients outside the namespace reach
// it at $XDG_RUNTIME_DIR/systemd/private (EXTERNAL auth, no Hello). Not as
// root, it falls back to the user's running manager, if one is reachable.
//
// StartAs starts a private manager running as another local account (the
// user of a second "host" that tests reach over ssh): same namespace and
// cgroup isolation, with its runtime directory and cgroups owned by that
// account, as logind would set them up for a lingering user.
//
// When no manager can be had, Start skips the test, unless the environment
// variable HOOKRUN_REQUIRE_SYSTEMD=1 is set (CI sets it), in which case the
// test fails: skips are forbidden there (internal/skiptest).
//
// The manager has no journald: a unit's stdout and stderr go to /dev/null
// (userConf), so tests should have their jobs write to files.
package systemdtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/skiptest"
)

// RequireEnv is the environment variable that turns every skip of Start into
// a test failure when set to "1".
const RequireEnv = "HOOKRUN_REQUIRE_SYSTEMD"

// Timeouts used by Launch and Stop.
const (
	startTimeout = 10 * time.Second
	stopTimeout  = 5 * time.Second
)

// Manager is a running systemd user manager.
type Manager struct {
	// RuntimeDir is the manager's XDG_RUNTIME_DIR.
	RuntimeDir string
	// Address is the D-Bus address of the manager's private socket,
	// e.g. "unix:path=/tmp/hookrun-systemd-123/systemd/private".
	Address string
	// PID is the manager's process id; 0 when the manager is not ours (the
	// user's own manager, which Stop leaves running).
	PID    int
	killed bool // Kill ended it
	// UID is the uid the manager runs as.
	UID int

	logPath string           // the manager's own stderr (private managers)
	cgroups []string         // cgroup directories created for the manager
	done    chan struct{}    // closed when the manager process has exited
	state   *os.ProcessState // set before done is closed
	tmp     string           // directory removed by Stop ("" if not ours)
}

// Private reports whether the manager was started by Launch (and is stopped
// by Stop) rather than borrowed from the user's session.
func (m *Manager) Private() bool { return m.PID != 0 }

// Getenv looks key up in the environment that clients of m should see:
// XDG_RUNTIME_DIR is m.RuntimeDir, DBUS_SESSION_BUS_ADDRESS is empty (so the
// private socket is used), everything else comes from os.Getenv. It has the
// shape runner.DialSystemd takes.
func (m *Manager) Getenv(key string) string {
	switch key {
	case "XDG_RUNTIME_DIR":
		return m.RuntimeDir
	case "DBUS_SESSION_BUS_ADDRESS":
		return ""
	}
	return os.Getenv(key)
}

// Required reports whether RequireEnv forbids skipping (skiptest.Required:
// set to anything but "" or "0"), i.e. whether a missing manager must fail
// tests instead of skipping them.
func Required() bool { return skiptest.Required(RequireEnv) }

// Start returns a running user manager for the test and registers a cleanup
// that stops it (by PID: SIGTERM, then SIGKILL after a timeout) and removes
// its runtime directory, whether or not the test failed. If no manager can be
// had it calls tb.Skip with the reason, or tb.Fatal when Required.
func Start(tb testing.TB) *Manager {
	tb.Helper()
	m, err := Launch()
	if err != nil {
		skiptest.SkipOrFail(tb, fmt.Sprintf("systemdtest: no systemd user manager: %v", err), RequireEnv)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			if tail := m.LogTail(4096); tail != "" {
				tb.Logf("systemdtest: manager log (tail):\n%s", tail)
			}
		}
		if err := m.Stop(); err != nil {
			tb.Errorf("systemdtest: %v", err)
		}
	})
	return m
}

// Account is a local user a private manager runs as.
type Account struct {
	Name     string
	UID, GID int
	Home     string
}

// StartAs is Start for a private manager running as account a. It needs
// root; without it the test is skipped (or fails when Required).
func StartAs(tb testing.TB, a Account) *Manager {
	tb.Helper()
	m, err := LaunchAs(a)
	if err != nil {
		skiptest.SkipOrFail(tb, fmt.Sprintf("systemdtest: no systemd user manager for %s: %v", a.Name, err), RequireEnv)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			if tail := m.LogTail(4096); tail != "" {
				tb.Logf("systemdtest: manager log of %s (tail):\n%s", a.Name, tail)
			}
		}
		if err := m.Stop(); err != nil {
			tb.Errorf("systemdtest: %v", err)
		}
	})
	return m
}

// LaunchAs starts a private user manager running as account a (which needs
// root); the caller must call Stop.
func LaunchAs(a Account) (*Manager, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("a manager for %s needs root (to switch to uid %d)", a.Name, a.UID)
	}
	return launchPrivate(&a)
}

// Launch starts a private user manager when running as root, else returns
// the user's running manager if its private socket exists. Callers that are
// not tests (e.g. a testscript Setup) use it directly and must call Stop.
func Launch() (*Manager, error) {
	if os.Geteuid() == 0 {
		m, err := launchPrivate(nil)
		if err == nil {
			return m, nil
		}
		if existing, err2 := existingManager(); err2 == nil {
			return existing, nil
		}
		return nil, err
	}
	return existingManager()
}

// existingManager returns the user's own manager, which is never stopped.
func existingManager() (*Manager, error) {
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		dir = "/run/user/" + strconv.Itoa(os.Getuid())
	}
	sock := filepath.Join(dir, "systemd", "private")
	if fi, err := os.Stat(sock); err != nil || fi.Mode()&fs.ModeSocket == 0 {
		return nil, fmt.Errorf("not root (cannot start a private manager) and no user manager socket at %s", sock)
	}
	return &Manager{RuntimeDir: dir, Address: "unix:path=" + sock, UID: os.Getuid()}, nil
}

// systemdBinary finds the systemd executable.
func systemdBinary() (string, error) {
	for _, p := range []string{"/lib/systemd/systemd", "/usr/lib/systemd/systemd"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", errors.New("systemd binary not found in /lib/systemd or /usr/lib/systemd")
}

// startScript runs inside the new mount namespace: it moves itself into the
// cgroups given as arguments (best effort), hides the host's /run/systemd and
// execs the manager, so the manager's PID is the one Launch started. With
// $SYSTEMDTEST_UID set it execs the manager through setpriv as that uid.
const startScript = `bin=$1; shift
for procs in "$@"; do echo $$ > "$procs" || echo "systemdtest: cannot join $procs" >&2; done
mount -t tmpfs tmpfs /run/systemd && mkdir -p /run/systemd/system || exit 1
if [ -n "$SYSTEMDTEST_UID" ]; then
  u=$SYSTEMDTEST_UID g=$SYSTEMDTEST_GID; unset SYSTEMDTEST_UID SYSTEMDTEST_GID
  exec setpriv --reuid="$u" --regid="$g" --init-groups "$bin" --user
fi
exec "$bin" --user`

// userConf is the manager's own configuration ($XDG_CONFIG_HOME/systemd/user.conf).
// With no journald, every unit process (ExecStart and ExecStopPost alike)
// fails to connect its stdout to the journal and says so on the manager's
// console, /dev/console: on a VM's serial port that write takes 0.8-1.5 ms
// of a CPU per process, twice per unit, which a machine with a journald
// never pays. The output went to /dev/null after that failure anyway.
const userConf = "[Manager]\nDefaultStandardOutput=null\n"

func writeUserConf(tmp string) error {
	dir := filepath.Join(tmp, "config", "systemd")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "user.conf"), []byte(userConf), 0o644)
}

func launchPrivate(as *Account) (*Manager, error) {
	bin, err := systemdBinary()
	if err != nil {
		return nil, err
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return nil, fmt.Errorf("unshare (util-linux) not found: %w", err)
	}
	sweepStale()
	tmp, err := os.MkdirTemp(scratchBase(), tmpPrefix)
	if err != nil {
		return nil, err
	}
	m := &Manager{tmp: tmp, done: make(chan struct{}), UID: os.Getuid()}
	if as != nil {
		m.UID = as.UID
		if _, err := exec.LookPath("setpriv"); err != nil {
			os.RemoveAll(tmp)
			return nil, fmt.Errorf("setpriv (util-linux) not found: %w", err)
		}
	}
	fail := func(err error) (*Manager, error) {
		tail := m.LogTail(2048)
		m.removeCgroups()
		os.RemoveAll(tmp)
		if tail != "" {
			err = fmt.Errorf("%w; manager log:\n%s", err, tail)
		}
		return nil, err
	}
	m.RuntimeDir = filepath.Join(tmp, "run")
	if err := os.Mkdir(m.RuntimeDir, 0o700); err != nil {
		return fail(err)
	}
	if err := writeUserConf(tmp); err != nil {
		return fail(err)
	}
	if as != nil {
		// The account must reach its runtime directory (and nothing else
		// of tmp), and own it, as it owns /run/user/UID.
		if err := os.Chmod(tmp, 0o711); err != nil {
			return fail(err)
		}
		if err := os.Chown(m.RuntimeDir, as.UID, as.GID); err != nil {
			return fail(err)
		}
	}
	m.logPath = filepath.Join(tmp, "manager.log")
	logf, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fail(err)
	}
	defer logf.Close()

	procs := m.makeCgroups(filepath.Base(tmp), as)
	cmd := exec.Command(unshare, append([]string{"-m", "--propagation", "private",
		"sh", "-c", startScript, "sh", bin}, procs...)...)
	cmd.Env = ManagerEnv(os.Environ(), tmp, m.RuntimeDir)
	if as != nil {
		cmd.Env = append(cmd.Env, "HOME="+as.Home, "USER="+as.Name, "LOGNAME="+as.Name,
			"SYSTEMDTEST_UID="+strconv.Itoa(as.UID), "SYSTEMDTEST_GID="+strconv.Itoa(as.GID))
	}
	cmd.Stdin = nil
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Dir = "/"
	// Own process group: a ^C to `go test` reaches the test binary, whose
	// cleanups then stop the manager in order. Pdeathsig covers the case
	// where cleanups never run (a -timeout panic, a crash): the manager
	// gets SIGTERM when the test process dies. (The kernel sends it when the
	// starting OS thread exits; Go only ends threads of goroutines that
	// exit while locked to them, which tests calling Launch do not do.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fail(fmt.Errorf("start %s: %w", unshare, err))
	}
	m.PID = cmd.Process.Pid
	go func() {
		_ = cmd.Wait()
		m.state = cmd.ProcessState
		close(m.done)
	}()

	sock := filepath.Join(m.RuntimeDir, "systemd", "private")
	m.Address = "unix:path=" + sock
	deadline := time.Now().Add(startTimeout)
	for {
		// The file appears at bind(), before listen(): wait for a connect.
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return m, nil
		}
		select {
		case <-m.done:
			m.PID = 0
			return fail(fmt.Errorf("%s --user exited before its socket appeared (%v)", bin, m.state))
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = m.stopProcess()
			m.PID = 0
			return fail(fmt.Errorf("%s did not appear within %v", sock, startTimeout))
		}
	}
}

// ManagerEnv returns environ made suitable for a private user manager whose
// scratch directory is tmp and runtime directory runtimeDir: variables that
// would point it (or its units) at another manager, bus, repository or hook
// run are removed; XDG_RUNTIME_DIR is runtimeDir; XDG_CONFIG_HOME and
// XDG_DATA_HOME point into tmp, so the invoking user's own unit files are not
// loaded; the manager logs to its stderr.
func ManagerEnv(environ []string, tmp, runtimeDir string) []string {
	drop := func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "DBUS_SESSION_BUS_ADDRESS",
			"NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "MANAGERPID",
			"INVOCATION_ID", "JOURNAL_STREAM", "SYSTEMD_EXEC_PID", "WATCHDOG_PID", "WATCHDOG_USEC",
			"SYSTEMD_LOG_TARGET", "SYSTEMD_LOG_LEVEL":
			return true
		}
		return strings.HasPrefix(k, "GIT_") || strings.HasPrefix(k, "HOOKRUN_")
	}
	out := make([]string, 0, len(environ)+4)
	for _, kv := range environ {
		if !drop(kv) {
			out = append(out, kv)
		}
	}
	return append(out,
		"XDG_RUNTIME_DIR="+runtimeDir,
		"XDG_CONFIG_HOME="+filepath.Join(tmp, "config"),
		"XDG_DATA_HOME="+filepath.Join(tmp, "data"),
		"SYSTEMD_LOG_TARGET=console",
	)
}

// cgroupRoots are the hierarchies the manager joins: on pure cgroup2 the one
// tree; on legacy and hybrid hosts every mounted hierarchy (name=systemd,
// unified, and the v1 controllers such as memory and cpu). systemd places a
// unit at the same path in each hierarchy, so a manager that moved only in
// name=systemd would create its units' memory cgroups where its limits are
// not applied (MemoryMax then never stops a job).
func cgroupRoots() []string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.procs"); err == nil {
		return []string{"/sys/fs/cgroup"} // pure cgroup2
	}
	var roots []string
	entries, _ := os.ReadDir("/sys/fs/cgroup")
	for _, e := range entries {
		r := filepath.Join("/sys/fs/cgroup", e.Name())
		if fi, err := os.Lstat(r); err != nil || !fi.IsDir() {
			continue // cpu -> cpu,cpuacct style symlinks name the same hierarchy
		}
		if _, err := os.Stat(filepath.Join(r, "cgroup.procs")); err == nil {
			roots = append(roots, r)
		}
	}
	return roots
}

// makeCgroups creates a fresh cgroup named name in each tracking hierarchy
// and returns their cgroup.procs files. Without its own cgroup a manager
// takes "/" as its root and shares /app.slice with every other manager on
// the machine (concurrent test packages, other developers). A manager that
// runs as account as gets its cgroups delegated (owned by it). Failures only
// lose that isolation.
func (m *Manager) makeCgroups(name string, as *Account) []string {
	var procs []string
	for _, root := range cgroupRoots() {
		dir := filepath.Join(root, cgroupPrefix+name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			continue
		}
		if as != nil {
			chownTree(dir, as.UID, as.GID)
		}
		m.cgroups = append(m.cgroups, dir)
		procs = append(procs, filepath.Join(dir, "cgroup.procs"))
	}
	return procs
}

// chownTree gives dir and the files in it (a fresh cgroup's control files)
// to uid:gid, as systemd does when it delegates a cgroup.
func chownTree(dir string, uid, gid int) {
	_ = os.Chown(dir, uid, gid)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		_ = os.Chown(filepath.Join(dir, e.Name()), uid, gid)
	}
}

// scratchBase is where a private manager's scratch directory goes: /dev/shm
// when that is a tmpfs, else os.TempDir, so that its runtime directory is
// on a tmpfs, as /run/user/UID is on a server (logind mounts one). The
// manager writes and removes a file there per unit (its transient unit
// file); on an ext4 without a journal, such as this VM's /tmp, every file
// created scans the inodes removed in the last half minute
// (recently_deleted), which cost the manager some 0.6 ms a unit
// (docs/PERFORMANCE.md).
func scratchBase() string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(shmDir, &st); err == nil && st.Type == tmpfsMagic && syscall.Access(shmDir, 2 /* W_OK */) == nil {
		return shmDir
	}
	return os.TempDir()
}

const (
	shmDir     = "/dev/shm"
	tmpfsMagic = 0x01021994 // TMPFS_MAGIC, linux/magic.h
)

// Names of a private manager's scratch directory (in scratchBase) and of
// its cgroups (cgroupPrefix + the scratch directory's name).
const (
	tmpPrefix    = "hookrun-systemd-"
	cgroupPrefix = "hookrun-test-"
)

// staleAge is how old an orphan must be before sweepStale removes it, so
// that a concurrent Launch between creating its directory and starting its
// manager is never disturbed.
const staleAge = time.Minute

// sweepStale removes what managers whose test process died without cleaning
// up (a -timeout panic, a crash) left behind: their cgroups, once empty of
// processes, and then their scratch directories. Running managers, ours or
// other people's, are never touched: their cgroups hold processes.
func sweepStale() {
	old := func(p string) bool {
		fi, err := os.Stat(p)
		return err == nil && time.Since(fi.ModTime()) > staleAge
	}
	live := map[string]bool{}
	for _, root := range cgroupRoots() {
		matches, _ := filepath.Glob(filepath.Join(root, cgroupPrefix+tmpPrefix+"*"))
		for _, cg := range matches {
			name := strings.TrimPrefix(filepath.Base(cg), cgroupPrefix)
			if !old(cg) || hasProcesses(cg) {
				live[name] = true
				continue
			}
			removeTree(cg, false)
			if _, err := os.Stat(cg); err == nil {
				live[name] = true
			}
		}
	}
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), tmpPrefix+"*"))
	shm, _ := filepath.Glob(filepath.Join(shmDir, tmpPrefix+"*"))
	for _, dir := range append(matches, shm...) {
		if !live[filepath.Base(dir)] && old(dir) {
			os.RemoveAll(dir)
		}
	}
}

// hasProcesses reports whether any cgroup in the tree at dir has a process.
func hasProcesses(dir string) bool {
	found := false
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			if b, err := os.ReadFile(filepath.Join(p, "cgroup.procs")); err == nil && len(bytes.TrimSpace(b)) > 0 {
				found = true
				return filepath.SkipAll
			}
		}
		return nil
	})
	return found
}

// removeCgroups kills whatever is left in the manager's cgroups (units whose
// manager was killed) and removes them, also from the controller hierarchies
// where the manager mirrored its tree.
func (m *Manager) removeCgroups() {
	if len(m.cgroups) == 0 {
		return
	}
	name := filepath.Base(m.cgroups[0])
	dirs := append([]string(nil), m.cgroups...)
	if entries, err := os.ReadDir("/sys/fs/cgroup"); err == nil {
		for _, e := range entries {
			d := filepath.Join("/sys/fs/cgroup", e.Name(), name)
			if _, err := os.Stat(d); err == nil && !slices.Contains(dirs, d) {
				dirs = append(dirs, d)
			}
		}
	}
	for attempt := 0; attempt < 50; attempt++ {
		left := 0
		for _, d := range dirs {
			left += removeTree(d, true)
		}
		if left == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// removeTree removes the cgroup tree at dir bottom-up, first SIGKILLing the
// processes in it if kill is set; it returns how many directories remain.
func removeTree(dir string, kill bool) int {
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	left := 0
	for i := len(dirs) - 1; i >= 0; i-- {
		if b, err := os.ReadFile(filepath.Join(dirs[i], "cgroup.procs")); err == nil && kill {
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		if err := os.Remove(dirs[i]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			left++
		}
	}
	return left
}

// Kill kills a private manager with SIGKILL, as an OOM killer or an
// operator might, and waits for it to be gone. The processes of its units
// are left running (Stop, later, kills them and cleans up).
func (m *Manager) Kill() error {
	if m.PID == 0 {
		return errors.New("not a private manager: not killing it")
	}
	if err := syscall.Kill(m.PID, syscall.SIGKILL); err != nil {
		return err
	}
	select {
	case <-m.done:
		m.killed = true
		return nil
	case <-time.After(stopTimeout):
		return fmt.Errorf("manager %d still running %v after SIGKILL", m.PID, stopTimeout)
	}
}

// Stop stops a private manager by PID (SIGTERM, then SIGKILL after a
// timeout), kills anything left in its cgroups and removes its directories.
// It does nothing for a borrowed manager and is safe to call twice.
func (m *Manager) Stop() error {
	if m.PID == 0 {
		return nil
	}
	var err error
	if !m.killed { // its PID may be another process's by now
		err = m.stopProcess()
	}
	m.PID = 0
	m.removeCgroups()
	if m.tmp != "" {
		if rmErr := os.RemoveAll(m.tmp); rmErr != nil && err == nil {
			err = rmErr
		}
	}
	return err
}

func (m *Manager) stopProcess() error {
	_ = syscall.Kill(m.PID, syscall.SIGTERM)
	select {
	case <-m.done:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = syscall.Kill(m.PID, syscall.SIGKILL)
	select {
	case <-m.done:
		return fmt.Errorf("manager %d ignored SIGTERM for %v and was killed", m.PID, stopTimeout)
	case <-time.After(stopTimeout):
		return fmt.Errorf("manager %d survived SIGKILL", m.PID)
	}
}

// LogTail returns up to the last n bytes of the manager's own log (its
// stderr), for diagnosing a failed test.
func (m *Manager) LogTail(n int) string {
	if m.logPath == "" {
		return ""
	}
	b, err := os.ReadFile(m.logPath)
	if err != nil {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return strings.TrimRight(string(b), "\n")
}

// Cgroup returns the manager process's cgroup as listed in
// /proc/PID/cgroup for the hierarchy with the given ID ("0" is cgroup2), or
// "" if unknown.
func (m *Manager) Cgroup(id string) string {
	if m.PID == 0 {
		return ""
	}
	f, err := os.Open("/proc/" + strconv.Itoa(m.PID) + "/cgroup")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) == 3 && parts[0] == id {
			return parts[2]
		}
	}
	return ""
}
