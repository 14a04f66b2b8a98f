package runner

import (
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/plan"
)

func TestSyncProperties(t *testing.T) {
	u := &plan.Unit{Name: "git-check-r-1.service", Job: "check", Repo: "r", RepoPath: "/srv/r.git",
		Limits: plan.Limits{Timeout: 10 * time.Second, MemoryMax: 32 << 20}, Env: []string{"HOOKRUN_ACTIVE=1"}}
	props := SyncProperties(u, []string{"/bin/sh", "-c", "echo $HOME"}, 7)
	got := map[string]any{}
	for _, p := range props {
		if _, dup := got[p.Name]; dup {
			t.Errorf("property %s set twice", p.Name)
		}
		got[p.Name] = p.Value.Value()
	}
	if _, ok := got["ExecStopPost"]; ok {
		t.Error("a synchronous run notifies nothing: no ExecStopPost")
	}
	ex := got["ExecStart"].([]execCommand)
	if len(ex) != 1 || ex[0].Path != "/bin/sh" || len(ex[0].Args) != 3 || ex[0].Args[2] != "echo $$HOME" || ex[0].IgnoreFailure {
		t.Errorf("ExecStart = %+v", ex)
	}
	for name, want := range map[string]any{
		"RemainAfterExit": true, "CollectMode": "inactive", "StandardInput": "null",
		"RuntimeMaxUSec": uint64(10_000_000), "MemoryMax": uint64(32 << 20), "WorkingDirectory": "/srv/r.git",
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
	if _, ok := got["StandardOutputFileDescriptor"]; !ok {
		t.Error("no StandardOutputFileDescriptor")
	}
}

func TestIsolatedProperties(t *testing.T) {
	u := &plan.Unit{Name: "git-check-r-1.service", Job: "check", Repo: "r", RepoPath: "/srv/r.git",
		Sandbox: plan.Sandbox{NoNewPrivileges: true, PrivateTmp: true, ProtectSystem: "full", ReadWritePaths: []string{"/srv/cache"}}}
	iso := Isolation{ReadOnly: []string{"/srv/r.git", "-/etc/hookrun/config.toml", "bad\xff"},
		HiddenDirs: []string{"/run/user/1000"}, HiddenSockets: []string{"/run/dbus/system_bus_socket"}, Writable: []string{"/tmp/hookrun-check-1"}}
	props := IsolatedProperties(u, []string{"/usr/bin/hookrun", "check-exec"}, 7, iso)
	got := map[string]any{}
	for _, p := range props {
		if _, dup := got[p.Name]; dup {
			t.Errorf("property %s set twice", p.Name)
		}
		got[p.Name] = p.Value.Value()
	}
	for name, want := range map[string]any{
		"PrivateUsers": true, "NoNewPrivileges": true, "CapabilityBoundingSet": uint64(0), "AmbientCapabilities": uint64(0),
		"KillMode": "control-group", "KillSignal": int32(9), "RemainAfterExit": true, "ProtectSystem": "strict",
		"ProtectHome": "read-only", "ProtectControlGroups": true,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
	if rw := got["ReadWritePaths"].([]string); len(rw) != 2 || rw[0] != "/srv/cache" || rw[1] != "/tmp/hookrun-check-1" {
		t.Errorf("ReadWritePaths = %q", rw)
	}
	if ro := got["ReadOnlyPaths"].([]string); len(ro) != 2 || ro[0] != "/srv/r.git" || ro[1] != "-/etc/hookrun/config.toml" {
		t.Errorf("ReadOnlyPaths = %q (a path that is not UTF-8 is left out)", ro)
	}
	if d := got["TemporaryFileSystem"].([]tmpfsMount); len(d) != 1 || d[0] != (tmpfsMount{"/run/user/1000", "ro"}) {
		t.Errorf("TemporaryFileSystem = %+v", d)
	}
	if b := got["BindReadOnlyPaths"].([]bindMount); len(b) != 1 || b[0] != (bindMount{"/dev/null", "/run/dbus/system_bus_socket", false, 0}) {
		t.Errorf("BindReadOnlyPaths = %+v", b)
	}
	if _, ok := got["PrivateTmp"]; ok {
		t.Error("PrivateTmp would hide a scratch directory under /tmp: not set")
	}
	if _, ok := got["InaccessiblePaths"]; ok {
		t.Error("InaccessiblePaths fails with 226/NAMESPACE in a user manager of its own namespace: not used")
	}
}
