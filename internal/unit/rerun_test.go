package unit

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/plan"
)

func TestRerun(t *testing.T) {
	repo := t.TempDir()
	if _, err := Rerun(repo, "hookrun-build-gone", time.Now()); !errors.Is(err, ErrPlanGone) {
		t.Fatalf("Rerun of a unit without a plan: %v; want ErrPlanGone", err)
	}
	old := &plan.Unit{Version: plan.Version, Name: "hookrun-build-old", Job: "build", Repo: "web", Seq: 3,
		Env: []string{"A=1", "HOOKRUN_UNIT=hookrun-build-old"}}
	old.Notify.Digest = "d1"
	b, err := old.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p := layout.Plan(repo, old.Name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)
	u, err := Rerun(repo, old.Name, now)
	if err != nil {
		t.Fatal(err)
	}
	if u.Name == old.Name || u.Seq != 0 || u.Notify.Digest != "" || !u.Created.Equal(now) {
		t.Errorf("rerun plan: name %s, seq %d, digest %q, created %v", u.Name, u.Seq, u.Notify.Digest, u.Created)
	}
	if want := []string{"A=1", "HOOKRUN_UNIT=" + u.Name}; !slices.Equal(u.Env, want) {
		t.Errorf("rerun env = %q, want %q", u.Env, want)
	}
}
