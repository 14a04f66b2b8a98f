package systemdtest_test

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	godbus "github.com/godbus/dbus/v5"

	"github.com/hookrun/hookrun/internal/systemdtest"
)

// dial connects to the manager's private socket the way systemctl does:
// EXTERNAL auth, no Hello.
func dial(t *testing.T, m *systemdtest.Manager) *godbus.Conn {
	t.Helper()
	c, err := godbus.Dial(m.Address)
	if err != nil {
		t.Fatalf("dial %s: %v", m.Address, err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Auth([]godbus.Auth{godbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		t.Fatalf("auth: %v", err)
	}
	return c
}

func TestStartReachableAndStopped(t *testing.T) {
	var m *systemdtest.Manager
	var pid int
	var tmp string
	t.Run("running", func(t *testing.T) {
		start := time.Now()
		m = systemdtest.Start(t)
		t.Logf("manager up in %v (pid %d, private %v)", time.Since(start), m.PID, m.Private())
		pid, tmp = m.PID, m.RuntimeDir
		c := dial(t, m)
		v, err := c.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").
			GetProperty("org.freedesktop.systemd1.Manager.Version")
		if err != nil {
			t.Fatalf("read Version: %v", err)
		}
		t.Logf("systemd version %v", v.Value())
		if got := m.Getenv("XDG_RUNTIME_DIR"); got != m.RuntimeDir {
			t.Errorf("Getenv(XDG_RUNTIME_DIR) = %q, want %q", got, m.RuntimeDir)
		}
		if got := m.Getenv("DBUS_SESSION_BUS_ADDRESS"); got != "" {
			t.Errorf("Getenv(DBUS_SESSION_BUS_ADDRESS) = %q, want empty", got)
		}
		if m.Private() {
			// Units' stdout is /dev/null, never the journal it cannot
			// reach (whose failure lands on the serial console).
			out, err := c.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").
				GetProperty("org.freedesktop.systemd1.Manager.DefaultStandardOutput")
			if err != nil || out.Value() != "null" {
				t.Errorf("DefaultStandardOutput = %v (%v), want null", out.Value(), err)
			}
			// The runtime directory is a tmpfs, as /run/user/UID is.
			var shm, run syscall.Statfs_t
			if syscall.Statfs("/dev/shm", &shm) == nil && shm.Type == 0x01021994 {
				if err := syscall.Statfs(m.RuntimeDir, &run); err != nil || run.Type != shm.Type {
					t.Errorf("runtime directory %s: file system type %#x (%v), want a tmpfs", m.RuntimeDir, run.Type, err)
				}
			}
			if cg := m.Cgroup("0"); !strings.Contains(cg, "/hookrun-test-") {
				t.Errorf("manager cgroup %q: want its own hookrun-test-* subtree", cg)
			}
		}
	})
	if t.Failed() || pid == 0 {
		return
	}
	// The subtest's cleanup has run: the manager and its directory are gone.
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("manager pid %d still exists after cleanup (kill 0: %v)", pid, err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("runtime dir %s still exists after cleanup (%v)", tmp, err)
	}
}

func TestManagerEnv(t *testing.T) {
	env := systemdtest.ManagerEnv([]string{
		"PATH=/bin", "GIT_DIR=.", "HOOKRUN_ACTIVE=1", "XDG_RUNTIME_DIR=/run/user/0",
		"DBUS_SESSION_BUS_ADDRESS=unix:path=/x", "NOTIFY_SOCKET=/y", "HOME=/root",
	}, "/tmp/t", "/tmp/t/run")
	got := strings.Join(env, " ")
	want := "PATH=/bin HOME=/root XDG_RUNTIME_DIR=/tmp/t/run XDG_CONFIG_HOME=/tmp/t/config " +
		"XDG_DATA_HOME=/tmp/t/data SYSTEMD_LOG_TARGET=console"
	if got != want {
		t.Errorf("ManagerEnv:\n got %s\nwant %s", got, want)
	}
}
