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
