package unit

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/outcome"
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
	dir := layout.Dir(repo)
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
	filler := filepath.Join(dir, "filler")
	if err := os.Truncate(filler, fill(t, filler)-int64(pages)*4096); err != nil {
		t.Fatal(err)
	}
	return repo
}

// fill writes pages to a new file at path until the disk is full, and
// returns its size.
func fill(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Create(path)
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
			fi, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			return fi.Size()
		}
	}
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
			left, _ := os.ReadDir(filepath.Join(layout.Dir(repo), "state"))
			for _, e := range left {
				t.Errorf("state directory holds %s", e.Name())
			}
			if states, err := s.List(); err != nil || len(states) != 0 {
				t.Errorf("List: %d states (%v), want none", len(states), err)
			}
			if err := os.Remove(filepath.Join(layout.Dir(repo), "filler")); err != nil {
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

// TestUnrecordedOutcomeIsStillReported: recording never gates notifying.
// When a unit's end cannot be saved (its state is damaged, the disk is
// full), Finish still returns the outcome as First, with Unrecorded saying
// why, for its ExecStopPost to notify; FinishRecorded (reconcile) does not.
func TestUnrecordedOutcomeIsStillReported(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir()) // where unrecorded outcomes are kept
	for _, tc := range []struct {
		name   string
		breaks func(t *testing.T, s *Store, name string)
		want   string
	}{
		{"damaged state", func(t *testing.T, s *Store, name string) {
			if err := os.WriteFile(s.StatePath(name), []byte(`{"version":1,"unit":`), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "unexpected end of JSON input"},
		{"full disk", func(t *testing.T, s *Store, name string) {
			fillLastPage(t, s.StatePath(name))
			fillUp(t, s.RepoPath)
		}, "no space left on device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := fullDisk(t, 8)
			s := Open(repo)
			s.NoSync = true
			u := testUnit(repo, "site", plan.Queue)
			u.Notify = plan.Notify{Server: "http://ntfy.example", Topic: "t", On: []outcome.Kind{outcome.Failure}}
			saveStarted(t, s, u)
			tc.breaks(t, s, u.Name)
			if _, err := FinishRecorded(s.PlanPath(u.Name), &Service{"exit-code", "exited", "7"}, time.Now); err == nil {
				t.Error("FinishRecorded succeeded with the state unsaveable")
			}
			fin, err := Finish(s.PlanPath(u.Name), &Service{"exit-code", "exited", "7"}, time.Now)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to say %q", err, tc.want)
			}
			if fin == nil || !fin.First || !fin.Due || fin.Unrecorded == nil {
				t.Fatalf("Finish = %+v, want a first, due, unrecorded outcome to notify", fin)
			}
			if fin.Outcome.Kind != outcome.Failure || !strings.Contains(fin.Outcome.Reason, "exit status 7") {
				t.Errorf("outcome %+v, want the failure systemd reported", fin.Outcome)
			}
			if tc.name != "full disk" {
				return
			}
			// Room again: reconcile records the notified outcome and does
			// not notify the unit a second time.
			os.Remove(filepath.Join(layout.Dir(repo), "filler"))
			os.Remove(filepath.Join(layout.Dir(repo), "filler2"))
			s.Now = func() time.Time { return time.Now().Add(time.Hour) }
			fins, rep := s.Reconcile(func(*State) (bool, bool) { return true, false })
			if len(fins) != 0 || len(rep.Damaged) != 0 {
				t.Errorf("Reconcile = %+v, %+v; want nothing to notify", fins, rep)
			}
			st, err := s.Load(u.Name)
			if err != nil || st.Phase != Ended || st.Outcome == nil || !strings.Contains(st.Outcome.Reason, "exit status 7") {
				t.Errorf("state after reconcile %+v, %v; want the notified outcome recorded", st, err)
			}
		})
	}
}

// TestFinishDamagedPlan: a unit whose plan was cut (exec could not load it)
// still ends in a recorded outcome, to be notified where the caller says,
// once.
func TestFinishDamagedPlan(t *testing.T) {
	repo := t.TempDir()
	s := Open(repo)
	u := testUnit(repo, "site", plan.Queue)
	saveStarted(t, s, u)
	if err := os.WriteFile(s.PlanPath(u.Name), []byte(`{"version":1,"na`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Take(context.Background(), s.PlanPath(u.Name), 1, time.Now); err == nil {
		t.Fatal("Take of a cut plan succeeded")
	}
	svc := &Service{"exit-code", "exited", "1"}
	if _, err := Finish(s.PlanPath(u.Name), svc, time.Now); err == nil {
		t.Fatal("Finish of a cut plan succeeded")
	}
	n := plan.Notify{Server: "http://ntfy.example", Topic: "ops"}
	_, perr := plan.Load(s.PlanPath(u.Name))
	fin, err := FinishDamaged(s.PlanPath(u.Name), perr, svc, n, time.Now)
	if err != nil || fin == nil || !fin.First || !fin.Due || fin.Outcome.Kind != outcome.Failure ||
		!strings.Contains(fin.Outcome.Reason, "its plan cannot be read, so its job did not run") || fin.Plan.Job != "site" {
		t.Fatalf("FinishDamaged = %+v, %v", fin, err)
	}
	if again, err := FinishDamaged(s.PlanPath(u.Name), perr, svc, n, time.Now); err != nil || again != nil {
		t.Errorf("second FinishDamaged = %+v, %v; want nothing (notified once)", again, err)
	}
	recs, _ := history.Read(layout.History(repo))
	if len(recs) != 1 || recs[0].Job != "site" || recs[0].Result != outcome.Failure {
		t.Errorf("history %+v", recs)
	}
}

// An exit hookrun exec could not record (the disk filled while the job
// ran) is kept outside the repository: the unit's end decides from how the
// job really ended, not "hookrun exec ended without recording how the job
// ended" (bench -stress -only enospc: 18 of 20 successes were failures).
func TestUnrecordedExitDecides(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	repo := fullDisk(t, 8)
	s := Open(repo)
	s.NoSync = true
	u := testUnit(repo, "site", plan.Queue)
	u.Notify = plan.Notify{Server: "http://ntfy.example", Topic: "t", On: []outcome.Kind{outcome.Success, outcome.Failure}}
	saveStarted(t, s, u)
	r, err := Take(context.Background(), s.PlanPath(u.Name), 4242, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fillLastPage(t, s.StatePath(u.Name))
	fillUp(t, repo)
	if err := r.Exited(&Exit{Code: 0}); err == nil {
		t.Fatal("Exited succeeded on a full disk")
	}
	r.Close()
	fin, _ := Finish(s.PlanPath(u.Name), &Service{"success", "exited", "0"}, time.Now)
	if fin == nil || fin.Outcome.Kind != outcome.Success {
		t.Fatalf("Finish = %+v, want the job's success", fin)
	}
}

// fillLastPage pads the last record of the state file at path with spaces
// up to a page boundary, so that the next record appended needs a page of
// its own: on a full disk, a record that fits in the file's last page is
// still recorded.
func fillLastPage(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pad := (4096 - len(b)%4096) % 4096
	b = append(b[:len(b)-1], append([]byte(strings.Repeat(" ", pad)), '\n')...)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readState(path); err != nil {
		t.Fatalf("padded state: %v", err)
	}
}

// TestMissingHistoryIsAppendedLater: on a full disk an outcome can still
// fit in its state file's last page while the history cannot grow; the
// history record is then appended by the next Reconcile with room, with
// the delivery recorded since.
func TestMissingHistoryIsAppendedLater(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	repo := fullDisk(t, 8)
	s := Open(repo)
	s.NoSync = true
	u := testUnit(repo, "site", plan.Queue)
	u.Notify = plan.Notify{Server: "http://ntfy.example", Topic: "t", On: []outcome.Kind{outcome.Failure}}
	saveStarted(t, s, u)
	fillUp(t, repo)
	fin, err := Finish(s.PlanPath(u.Name), &Service{"exit-code", "exited", "7"}, time.Now)
	if err == nil || !strings.Contains(err.Error(), "history") || fin == nil || !fin.First || fin.Unrecorded == nil {
		t.Fatalf("Finish on a full disk = %+v, %v; want the outcome recorded in its state only, to notify", fin, err)
	}
	if st, err := s.Load(u.Name); err != nil || st.Phase != Ended {
		t.Fatalf("state %+v, %v; want ended (it fits in the file's last page)", st, err)
	}
	if recs, _ := history.Read(layout.History(repo)); len(recs) != 0 {
		t.Fatalf("history %+v on a full disk", recs)
	}
	os.Remove(filepath.Join(layout.Dir(repo), "filler"))
	os.Remove(filepath.Join(layout.Dir(repo), "filler2"))
	if err := s.RecordDelivery(u.Name, Delivery{Status: outcome.Delivered}); err != nil {
		t.Fatal(err)
	}
	s.Reconcile(func(*State) (bool, bool) { return true, false })
	recs, _ := history.Read(layout.History(repo))
	if len(recs) != 1 || recs[0].Unit != u.Name || recs[0].Result != outcome.Failure || recs[0].Ntfy == nil || recs[0].Ntfy.State != outcome.Delivered {
		t.Fatalf("history after Reconcile with room: %+v; want the unit's failure, delivered", recs)
	}
	s.Reconcile(func(*State) (bool, bool) { return true, false })
	if recs, _ := history.Read(layout.History(repo)); len(recs) != 1 {
		t.Errorf("a second Reconcile appended it again: %d records", len(recs))
	}
}

// TestHistoryRecordedOnce: a unit's history record is appended once
// whichever way its end was recorded late.
//
//   - The state could not take the outcome (its last page full) while the
//     history could (room in its last page): Finish appended the history
//     record and kept the outcome for Reconcile, which records it in the
//     state and must not append the record again.
//   - A history append whose write went through and whose fsync failed
//     leaves the record and a mark: Reconcile must not append it again.
func TestHistoryRecordedOnce(t *testing.T) {
	count := func(t *testing.T, repo, name string) int {
		t.Helper()
		recs, _ := history.Read(layout.History(repo))
		n := 0
		for _, r := range recs {
			if r.Unit == name {
				n++
			}
		}
		return n
	}
	view := func(*State) (bool, bool) { return true, false }
	t.Run("state full, history not", func(t *testing.T) {
		t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
		repo := fullDisk(t, 8)
		s := Open(repo)
		s.NoSync = true
		if err := history.Append(layout.History(repo), history.Record{Unit: "earlier", Result: outcome.Success}); err != nil {
			t.Fatal(err)
		}
		u := testUnit(repo, "site", plan.Queue)
		saveStarted(t, s, u)
		fillLastPage(t, s.StatePath(u.Name))
		fillUp(t, repo)
		fin, err := Finish(s.PlanPath(u.Name), &Service{"exit-code", "exited", "7"}, time.Now)
		if err == nil || fin == nil || !fin.First || fin.Unrecorded == nil {
			t.Fatalf("Finish = %+v, %v; want an unrecorded first outcome", fin, err)
		}
		if n := count(t, repo, u.Name); n != 1 {
			t.Fatalf("%d history records of the unit after Finish, want 1 (its last page had room)", n)
		}
		os.Remove(filepath.Join(layout.Dir(repo), "filler"))
		os.Remove(filepath.Join(layout.Dir(repo), "filler2"))
		s.Now = func() time.Time { return time.Now().Add(time.Hour) }
		if fins, _ := s.Reconcile(view); len(fins) != 0 {
			t.Errorf("Reconcile returned %d to notify, want none", len(fins))
		}
		if st, err := s.Load(u.Name); err != nil || st.Phase != Ended {
			t.Fatalf("state after Reconcile %+v, %v; want the kept outcome recorded", st, err)
		}
		if n := count(t, repo, u.Name); n != 1 {
			t.Errorf("%d history records of the unit after Reconcile, want 1", n)
		}
	})
	t.Run("mark of a record that was written", func(t *testing.T) {
		t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
		repo := t.TempDir()
		s := Open(repo)
		u := testUnit(repo, "site", plan.Queue)
		saveStarted(t, s, u)
		if _, err := Finish(s.PlanPath(u.Name), &Service{"exit-code", "exited", "7"}, time.Now); err != nil {
			t.Fatal(err)
		}
		// What appendHistory leaves when history.Append returns an error
		// after its write (the fsync failed).
		b, _ := json.Marshal(missingHistory{repo, u.Name})
		if err := os.MkdirAll(unrecordedDir(), 0o700); err != nil {
			t.Fatal(err)
		}
		mark := missingHistoryPath(repo, u.Name)
		if err := os.WriteFile(mark, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s.Reconcile(view)
		if n := count(t, repo, u.Name); n != 1 {
			t.Errorf("%d history records of the unit after Reconcile, want 1", n)
		}
		if _, err := os.Stat(mark); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the mark is still there (%v)", err)
		}
	})
}

// TestMissingHistoryOfDamagedPlan: the history record of a unit whose plan
// cannot be read (FinishDamaged) that a full disk refused is appended by
// the next Reconcile too, from its state, as FinishDamaged builds it; the
// mark is dropped only once the state is gone.
func TestMissingHistoryOfDamagedPlan(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	repo := fullDisk(t, 8)
	s := Open(repo)
	s.NoSync = true
	u := testUnit(repo, "site", plan.Queue)
	saveStarted(t, s, u)
	if err := os.WriteFile(s.PlanPath(u.Name), []byte(`{"version":1,"na`), 0o600); err != nil {
		t.Fatal(err)
	}
	fillUp(t, repo)
	_, perr := plan.Load(s.PlanPath(u.Name))
	fin, err := FinishDamaged(s.PlanPath(u.Name), perr, &Service{"exit-code", "exited", "1"}, plan.Notify{}, time.Now)
	if err != nil || fin == nil || !fin.First || fin.Unrecorded == nil {
		t.Fatalf("FinishDamaged on a full disk = %+v, %v; want the outcome recorded in its state only", fin, err)
	}
	os.Remove(filepath.Join(layout.Dir(repo), "filler"))
	os.Remove(filepath.Join(layout.Dir(repo), "filler2"))
	s.Reconcile(func(*State) (bool, bool) { return true, false })
	recs, _ := history.Read(layout.History(repo))
	if len(recs) != 1 || recs[0].Unit != u.Name || recs[0].Job != "site" || recs[0].Result != outcome.Failure {
		t.Fatalf("history after Reconcile with room: %+v; want the unit's failure", recs)
	}
}

// fillUp fills what room is left on the full disk of repo (fullDisk) with
// the file filler2, which a test removes to make room again.
func fillUp(t *testing.T, repo string) {
	t.Helper()
	fill(t, filepath.Join(layout.Dir(repo), "filler2"))
}
