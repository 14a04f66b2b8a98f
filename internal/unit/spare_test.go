package unit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/plan"
)

func spares(t *testing.T, repo string) int {
	t.Helper()
	n, err := countEntries(layout.SpareDir(repo))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSaveTakesSpares: the hook's store saves a unit's plan and state into
// two spare files, which the end of a unit makes again; the unit is saved
// as without them (plan, queued state, owner lock) and goes on as usual.
func TestSaveTakesSpares(t *testing.T) {
	repo := t.TempDir()
	c := newClock()
	hook := &Store{RepoPath: repo, Now: c.now, NoSync: true}
	first := testUnit(repo, "site", plan.Parallel)
	saveStarted(t, hook, first) // no spares yet: created
	hook.Restock()
	hook.Restock()
	if n := spares(t, repo); n != spareStock {
		t.Fatalf("after Restock: %d spares, want %d", n, spareStock)
	}
	u := testUnit(repo, "site", plan.Parallel)
	sv, err := hook.Save(u)
	if err != nil {
		t.Fatal(err)
	}
	if n := spares(t, repo); n != spareStock-2 {
		t.Errorf("after Save: %d spares, want %d", n, spareStock-2)
	}
	if got, err := plan.Load(hook.PlanPath(u.Name)); err != nil || got.Name != u.Name {
		t.Fatalf("plan: %v, %v", got, err)
	}
	if p := phase(t, hook, u.Name); p != Queued {
		t.Errorf("phase %s, want queued", p)
	}
	if l, _ := hook.liveness(u.Name); l != Owned {
		t.Errorf("liveness %v, want Owned (the hook holds the owner lock)", l)
	}
	if err := sv.Started(plan.RunnerSystemd); err != nil {
		t.Fatal(err)
	}
	if p := phase(t, hook, u.Name); p != Started {
		t.Errorf("phase %s, want started", p)
	}
	if fi, err := os.Stat(hook.PlanPath(u.Name)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("plan file: %v, %v; want mode 0600", fi, err)
	}
	entries, _ := os.ReadDir(hook.StateDir())
	for _, e := range entries {
		if filepath.Ext(e.Name()) != ".json" {
			t.Errorf("left in state/: %s", e.Name())
		}
	}
}

// TestSaveSpareNameTaken: a spare never replaces a plan already there (a
// name taken is an error, as a created file's O_EXCL); the spare it wrote
// is removed.
func TestSaveSpareNameTaken(t *testing.T) {
	repo := t.TempDir()
	hook := &Store{RepoPath: repo, NoSync: true}
	u := testUnit(repo, "site", plan.Parallel)
	saveStarted(t, hook, u)
	before, _ := os.ReadFile(hook.PlanPath(u.Name))
	hook.Restock()
	if _, err := hook.Save(u); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Save of a name taken: %v, want ErrExist", err)
	}
	if after, _ := os.ReadFile(hook.PlanPath(u.Name)); string(after) != string(before) {
		t.Error("the plan already there changed")
	}
	if n := spares(t, repo); n != spareStock-1 {
		t.Errorf("%d files in spare/, want %d", n, spareStock-1)
	}
}

// TestSaveSkipsBadSpares: a file in spare/ that is not empty (a hook died
// writing into it) or was not made by Restock (another mode) is removed,
// never written into place.
func TestSaveSkipsBadSpares(t *testing.T) {
	repo := t.TempDir()
	hook := &Store{RepoPath: repo, NoSync: true}
	dir := layout.SpareDir(repo)
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "a-written"), []byte(strings.Repeat("half a plan\n", 1000)), 0o600)
	os.WriteFile(filepath.Join(dir, "b-readable"), nil, 0o644)
	os.Mkdir(filepath.Join(dir, "c-dir"), 0o700)
	os.MkdirAll(hook.StateDir(), 0o700)
	os.MkdirAll(filepath.Dir(hook.PlanPath("x")), 0o700)
	u := testUnit(repo, "site", plan.Parallel)
	saveStarted(t, hook, u)
	if got, err := plan.Load(hook.PlanPath(u.Name)); err != nil || got.Name != u.Name {
		t.Fatalf("plan: %v, %v", got, err)
	}
	if fi, err := os.Stat(hook.PlanPath(u.Name)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("plan file: %v, %v; want mode 0600", fi, err)
	}
	if p := phase(t, hook, u.Name); p != Started {
		t.Errorf("phase %s, want started", p)
	}
	for _, n := range []string{"a-written", "b-readable"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			t.Errorf("spare/%s is still there", n)
		}
	}
}

// TestConcurrentSavesShareNoSpare: pushes saving at once, fewer spares
// than units: each spare goes to one unit, every plan and state is its
// own unit's.
func TestConcurrentSavesShareNoSpare(t *testing.T) {
	repo := t.TempDir()
	hook := &Store{RepoPath: repo, NoSync: true}
	saveStarted(t, hook, testUnit(repo, "first", plan.Parallel))
	hook.Restock()
	units := make([]*plan.Unit, 24)
	for i := range units {
		units[i] = testUnit(repo, "site", plan.Parallel)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(units))
	for i, u := range units {
		wg.Go(func() {
			s := &Store{RepoPath: repo, NoSync: true}
			sv, err := s.Save(u)
			if err == nil {
				err = sv.Started(plan.RunnerSystemd)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, u := range units {
		if errs[i] != nil {
			t.Fatalf("%s: %v", u.Name, errs[i])
		}
		p, err := plan.Load(hook.PlanPath(u.Name))
		if err != nil || p.Name != u.Name {
			t.Errorf("plan of %s: %v, %v", u.Name, p, err)
		}
		st, err := hook.Load(u.Name)
		if err != nil || st.Unit != u.Name || st.Phase != Started {
			t.Errorf("state of %s: %+v, %v", u.Name, st, err)
		}
	}
	if n := spares(t, repo); n != 0 {
		t.Errorf("%d spares left, want all %d taken", n, spareStock)
	}
}

// TestRestockDropsOldClaims: a spare claimed by a hook that was killed
// before placing it goes once it is old; a fresh claim stays.
func TestRestockDropsOldClaims(t *testing.T) {
	repo := t.TempDir()
	s := &Store{RepoPath: repo, NoSync: true}
	s.Restock()
	dir := layout.SpareDir(repo)
	old, fresh := filepath.Join(dir, claimPrefix+"old.json"), filepath.Join(dir, claimPrefix+"fresh.json")
	os.WriteFile(old, []byte("half"), 0o600)
	os.WriteFile(fresh, []byte("half"), 0o600)
	long := time.Now().Add(-2 * orphanAge)
	os.Chtimes(old, long, long)
	s.Restock()
	if _, err := os.Stat(old); err == nil {
		t.Error("an old claimed spare is still there")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("a fresh claim was removed")
	}
	if n := spares(t, repo); n != spareStock+1 {
		t.Errorf("%d files in spare/, want %d spares and the fresh claim", n, spareStock+1)
	}
}

// TestRestockTrimsSurplus: units ending together may each make the spares
// they counted missing; past twice the stock, a Restock takes it back down.
func TestRestockTrimsSurplus(t *testing.T) {
	repo := t.TempDir()
	s := &Store{RepoPath: repo}
	s.Restock()
	for i := range 2 * spareStock { // two more units' worth, made at once
		os.WriteFile(filepath.Join(layout.SpareDir(repo), "extra"+strconv.Itoa(i)), nil, 0o600)
	}
	s.Restock()
	if n := spares(t, repo); n != spareStock {
		t.Errorf("%d spares after Restock, want %d", n, spareStock)
	}
}
