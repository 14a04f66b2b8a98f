package remote_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/hosttest"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/remote"
	"github.com/hookrun/hookrun/internal/runner"
	"github.com/hookrun/hookrun/internal/waittest"
)

// remoteHost is the remote.Host of a hosttest host.
func remoteHost(h *hosttest.Host) *remote.Host {
	return &remote.Host{Name: "builder", SSH: h.Dest, SSHOptions: h.Options(), RuntimeDir: h.RuntimeDir}
}

// fakeHookrun writes, into a directory the host's user owns, an executable
// standing in for hookrun: `SELF exec PLAN` writes PLAN.ran, sleeps for
// the seconds in PLAN (if any) and exits with status 3. It returns the
// path and the directory.
func fakeHookrun(t *testing.T, h *hosttest.Host) (self, dir string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "hookrun-remote-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, h.Account.UID, h.Account.GID); err != nil {
		t.Fatal(err)
	}
	self = filepath.Join(dir, "hookrun")
	script := "#!/bin/sh\n[ \"$1\" = exec ] || exit 0\nid -u > \"$2.ran\"\nsleep \"$(cat \"$2\" 2>/dev/null || echo 0)\"\nexit 3\n"
	if err := os.WriteFile(self, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return self, dir
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waittest.Until(t, 30*time.Second, what, func() (bool, string) { return cond(), "not yet" })
}

func TestBridgeStartsUnitsOnTheRemoteUserManager(t *testing.T) {
	h := hosttest.Start(t)
	self, dir := fakeHookrun(t, h)
	ctx := context.Background()

	b, err := remote.Dial(ctx, remoteHost(h))
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.Systemd(self)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	// Limits travel with the unit, as locally.
	u := &plan.Unit{Version: plan.Version, Name: "git-remote-test-1.service", Job: "build", Repo: "repo",
		RepoPath: dir, Env: []string{"HOOKRUN_JOB=build"},
		Limits: plan.Limits{MemoryMax: 256 << 20, TasksMax: 42, Timeout: time.Hour}}
	planPath := filepath.Join(dir, "plan-1")
	if err := os.WriteFile(planPath, []byte("60"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx, u, planPath); err != nil {
		t.Fatal(err)
	}
	var ran []byte
	waitFor(t, "the unit to run", func() bool {
		ran, _ = os.ReadFile(planPath + ".ran")
		return strings.HasSuffix(string(ran), "\n")
	})
	if got := strings.TrimSpace(string(ran)); got != strconv.Itoa(h.Account.UID) {
		t.Errorf("the unit ran as uid %s, want the remote user's %d", got, h.Account.UID)
	}
	out := h.Run(t, "systemctl", "--user", "show", "--property=MemoryMax,TasksMax,RuntimeMaxUSec", u.Name)
	for _, want := range []string{"MemoryMax=268435456", "TasksMax=42", "RuntimeMaxUSec=1h"} {
		if !strings.Contains(out, want) {
			t.Errorf("systemctl --user show on the host:\n%s\nwant %s", out, want)
		}
	}
	if n := h.Manager.PID; n == 0 {
		t.Fatal("no manager")
	}

	// Losing the connection mid-job (sshd's side of it killed, as a
	// network failure would end it) leaves the unit running; a new bridge
	// finds it and can stop it.
	if n := h.SSH.DropSessions(); n == 0 {
		t.Fatal("no ssh session to drop")
	}
	select {
	case <-b.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("ssh still running after its session was killed")
	}
	if _, err := s.UnitProperties(ctx, u.Name, "Unit"); !errors.Is(err, runner.ErrManagerUnreachable) {
		t.Errorf("a call over the dead bridge = %v, want ErrManagerUnreachable", err)
	}
	s.Close()
	b2, err := remote.Dial(ctx, remoteHost(h))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := b2.Systemd(self)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if st := activeState(t, s2, u.Name); st != "active" {
		t.Errorf("after the connection died the unit is %q, want still active", st)
	}
	if err := s2.StopUnit(ctx, u.Name); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the unit to stop", func() bool {
		st := activeState(t, s2, u.Name)
		return st == "inactive" || st == "failed"
	})
}

// activeState is the unit's ActiveState ("inactive" once collected).
func activeState(t *testing.T, s *runner.Systemd, name string) string {
	t.Helper()
	props, err := s.UnitProperties(context.Background(), name, "Unit")
	if err != nil {
		t.Fatal(err)
	}
	st, _ := props["ActiveState"].(string)
	return st
}

func TestBridgeDiscoversTheRuntimeDir(t *testing.T) {
	h := hosttest.Start(t)
	host := remoteHost(h)
	host.RuntimeDir = ""
	got, err := host.DiscoverRuntimeDir(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := "/run/user/" + strconv.Itoa(h.Account.UID); got != want {
		t.Errorf("DiscoverRuntimeDir = %q, want %q", got, want)
	}
	// Nothing listens there (the test's manager has its own runtime
	// directory): the error says where it looked and what to do.
	_, err = remote.Dial(context.Background(), host)
	if !errors.Is(err, remote.ErrUnreachable) || !errors.Is(err, runner.ErrManagerUnreachable) ||
		!strings.Contains(err.Error(), "reached over ssh, but not its user manager: no user manager at unix:path="+got+"/systemd/private") ||
		!strings.Contains(err.Error(), "enable-linger") {
		t.Fatalf("Dial without a manager = %v", err)
	}
}

func TestBridgeUnreachable(t *testing.T) {
	h := hosttest.Start(t)
	host := remoteHost(h)
	h.SSH.Stop()
	start := time.Now()
	_, err := remote.Dial(context.Background(), host)
	if !errors.Is(err, remote.ErrUnreachable) || !strings.Contains(err.Error(), "host builder ("+h.Dest+") unreachable: ssh: connect to host 127.0.0.1") {
		t.Fatalf("Dial to a stopped sshd = %v", err)
	}
	t.Logf("failed in %v: %v", time.Since(start), err)
}

func TestHostCheck(t *testing.T) {
	for _, tc := range []struct {
		h    remote.Host
		want string
	}{
		{remote.Host{Name: "a", SSH: "builder@buildhost"}, ""},
		{remote.Host{Name: "a"}, "no ssh destination"},
		{remote.Host{Name: "a", SSH: "-oProxyCommand=x"}, "starts with '-'"},
		{remote.Host{Name: "a", SSH: "a b"}, "white space"},
		{remote.Host{Name: "a", SSH: "host:22"}, "contains '/' or ':'"},
		{remote.Host{Name: "a", SSH: "h", SSHOptions: []string{"a\x00"}}, "NUL"},
	} {
		err := tc.h.Check()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Check(%+v) = %v, want %q", tc.h, err, tc.want)
		}
	}
}
