package runner

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/plan"
)

func TestExecStart(t *testing.T) {
	repo := t.TempDir()
	t.Setenv("GIT_DIR", ".")
	t.Setenv("GIT_QUARANTINE_PATH", "/q")
	name := UnitName("site", "web", time.Now())
	u := &plan.Unit{
		Name: name, Job: "site", Repo: "web", RepoPath: repo, Runner: "exec",
		Env: []string{"HOOKRUN_UNIT=" + name, "HOOKRUN_JOB=site", helperOutEnv + "=" + repo},
	}
	e := &Exec{Self: testBinary(t)}
	planPath := filepath.Join(repo, "hookrun", "units", name+".json")
	if err := e.Start(context.Background(), u, planPath); err != nil {
		t.Fatal(err)
	}
	rec := waitRecord(t, repo, name, "exec", 10*time.Second)
	if want := []string{e.Self, "exec", "--supervise", planPath}; !slices.Equal(rec.Args, want) {
		t.Errorf("argv %q, want %q", rec.Args, want)
	}
	for _, kv := range rec.Env {
		if strings.HasPrefix(kv, "GIT_") {
			t.Errorf("GIT_* variable reached the job: %s", kv)
		}
	}
	for _, kv := range u.Env {
		if !slices.Contains(rec.Env, kv) {
			t.Errorf("job environment lacks %s", kv)
		}
	}
	if rec.Dir != repo {
		t.Errorf("working directory %q, want %q", rec.Dir, repo)
	}
	if rec.SID != rec.PID {
		t.Errorf("process %d is in session %d: want its own session (Setsid)", rec.PID, rec.SID)
	}
	fi, err := os.Stat(layout.Log(repo, name))
	if err != nil {
		t.Fatalf("log file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("log file mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestExecStartMissingBinary(t *testing.T) {
	repo := t.TempDir()
	e := &Exec{Self: filepath.Join(repo, "no-such-hookrun")}
	u := &plan.Unit{Name: "git-x-y-20260101-000000-00000000.service", RepoPath: repo}
	err := e.Start(context.Background(), u, "/p.json")
	if err == nil || !strings.Contains(err.Error(), "no-such-hookrun") {
		t.Errorf("Start with a missing binary: %v", err)
	}
}

func TestExecEnv(t *testing.T) {
	got := ExecEnv([]string{"PATH=/bin", "GIT_DIR=.", "GIT_PUSH_OPTION_COUNT=0", "HOME=/h", "GITX=1"},
		[]string{"HOOKRUN_JOB=j", "HOME=/other"})
	want := []string{"PATH=/bin", "HOME=/h", "GITX=1", "HOOKRUN_JOB=j", "HOME=/other"}
	if !slices.Equal(got, want) {
		t.Errorf("ExecEnv = %q, want %q", got, want)
	}
}
