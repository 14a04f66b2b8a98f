package unit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hookrun/hookrun/internal/plan"
)

// fullDisk mounts a 64 KiB tmpfs as a repository's state directory and
// fills it up to leave pages free (4 KiB each; 0 leaves nothing). It needs
// root, as CI has; elsewhere the test is skipped.
func fullDisk(t *testing.T, pages int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	repo := t.TempDir()
	dir := plan.StateDir(repo)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k,mode=0700"); err != nil {
		t.Fatalf("mount a tmpfs on %s (as root): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	for _, d := range []string{"units", "state"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	page := make([]byte, 4096)
	for {
		if _, err := f.Write(page); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	fi, _ := f.Stat()
	if err := f.Truncate(fi.Size() - int64(pages)*4096); err != nil {
		t.Fatal(err)
	}
	return repo
}

// TestFullDiskLeavesNoPlan: a hook that cannot write a unit's plan, or can
// write the plan but not its state, gets an error naming the cause and
// leaves neither file behind, so nothing is ever run or waited on from a
// half-written unit. With room again, the same Store saves normally.
func TestFullDiskLeavesNoPlan(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pages int
		want  string // in the error: which write failed
	}{
		{"no room for the plan", 0, "saving its plan: write " + string(filepath.Separator)},
		{"room for the plan, not its state", 1, "write unit state "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := fullDisk(t, tc.pages)
			s := Open(repo)
			s.NoSync = true
			u := testUnit(repo, "site", plan.Queue)
			sv, err := s.Save(u)
			if err == nil {
				sv.Close()
				t.Fatal("Save on a full disk succeeded")
			}
			if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to wrap ENOSPC and say %q", err, tc.want)
			}
			for _, p := range []string{s.PlanPath(u.Name), s.StatePath(u.Name)} {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s left behind (%v)", p, err)
				}
			}
			left, _ := os.ReadDir(filepath.Join(plan.StateDir(repo), "state"))
			for _, e := range left {
				t.Errorf("state directory holds %s", e.Name())
			}
			if states, err := s.List(); err != nil || len(states) != 0 {
				t.Errorf("List: %d states (%v), want none", len(states), err)
			}
			if err := os.Remove(filepath.Join(plan.StateDir(repo), "filler")); err != nil {
				t.Fatal(err)
			}
			sv, err = s.Save(testUnit(repo, "site", plan.Queue))
			if err != nil {
				t.Fatalf("Save with room again: %v", err)
			}
			sv.Close()
		})
	}
}
