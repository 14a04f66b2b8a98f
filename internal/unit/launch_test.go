package unit

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hookrun/hookrun/internal/plan"
)

// TestConcurrentPushesSupersedeInOrder launches one unit per push from many
// pushes at once, as concurrent hooks do (the exec runner, with a program
// that exits at once, so no unit is ever taken over): numbers follow the
// order of saving, and every unit but the newest is cancelled by a newer
// one — for coalesce no two stay pending, for replace no two survive, and
// the one left is the last push's.
func TestConcurrentPushesSupersedeInOrder(t *testing.T) {
	const pushes = 24
	for _, c := range []plan.Concurrency{plan.Coalesce, plan.Replace, plan.Queue} {
		t.Run(string(c), func(t *testing.T) {
			repo := t.TempDir()
			units := make([]*plan.Unit, pushes)
			for i := range units {
				units[i] = testUnit(repo, "site", c)
				units[i].Runner = plan.RunnerExec
			}
			var wg sync.WaitGroup
			gate := make(chan struct{})
			for _, u := range units {
				wg.Add(1)
				go func() {
					defer wg.Done()
					l := &Launcher{Self: "/bin/true"}
					defer l.Close()
					<-gate
					if errs := l.Launch(context.Background(), []*plan.Unit{u}); errs[0] != nil {
						t.Errorf("launch %s: %v", u.Name, errs[0])
					}
				}()
			}
			close(gate)
			wg.Wait()
			sts, err := Open(repo).List()
			if err != nil || len(sts) != pushes {
				t.Fatalf("%d states (%v), want %d", len(sts), err, pushes)
			}
			slices.SortFunc(sts, func(a, b *State) int { return a.Saved.Compare(b.Saved) })
			for i, st := range sts {
				newest := i == len(sts)-1
				if c.Waits() && st.Seq != uint64(i+1) {
					t.Errorf("unit saved %d. has number %d", i+1, st.Seq)
				}
				switch {
				case c == plan.Queue && st.Cancel != nil:
					t.Errorf("queued unit %d cancelled: %+v", i+1, st.Cancel)
				case c == plan.Queue:
				case newest && st.Cancel != nil:
					t.Errorf("the last push's unit was cancelled: %+v", st.Cancel)
				case !newest && (st.Cancel == nil || !strings.Contains(st.Cancel.Reason, "by a newer push")):
					t.Errorf("unit %d of %d was not superseded by a newer one: cancel %+v", i+1, pushes, st.Cancel)
				}
			}
		})
	}
}

// TestEarlyAuthFailureRedials: a manager socket that takes the connection
// (and maybe its calls), then hangs up without accepting the
// authentication, processed nothing; the start is made again on a
// connection dialled the usual way, which tries the other candidates, and
// runner = "auto" falls back to the exec runner when none answers. Hung
// up at once, the start call's write fails (EPIPE) before anything is
// read: that is the same failure.
func TestEarlyAuthFailureRedials(t *testing.T) {
	if _, err := os.Stat(fmt.Sprintf("/run/user/%d/systemd/private", os.Getuid())); err == nil {
		t.Skip("a real user manager answers at /run/user/UID: the redial would reach it")
	}
	for _, tc := range []struct {
		readFirst bool
		units     int // 1: one start call; 3: one call for the three (startBatch)
	}{{true, 1}, {false, 1}, {true, 3}, {false, 3}} {
		readFirst := tc.readFirst
		t.Run(fmt.Sprintf("read first %v, %d units", readFirst, tc.units), func(t *testing.T) {
			xdg := t.TempDir()
			if err := os.MkdirAll(filepath.Join(xdg, "systemd"), 0o700); err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("unix", filepath.Join(xdg, "systemd", "private"))
			if err != nil {
				t.Fatal(err)
			}
			var accepted atomic.Int32
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					accepted.Add(1)
					if readFirst {
						_, _ = c.Read(make([]byte, 64)) // the authentication, maybe more
					}
					c.Close()
				}
			}()
			defer ln.Close()
			repo := t.TempDir()
			var units []*plan.Unit
			for range tc.units {
				u := testUnit(repo, "site", plan.Parallel)
				u.Runner = plan.RunnerAuto
				u.Env = []string{"X=" + strings.Repeat("x", 600)} // a start call long enough to go out early
				units = append(units, u)
			}
			l := &Launcher{Self: "/bin/true", Getenv: func(k string) string {
				if k == "XDG_RUNTIME_DIR" {
					return xdg
				}
				return ""
			}}
			errs := l.Launch(context.Background(), units)
			l.Close()
			for i, u := range units {
				if errs[i] != nil {
					t.Fatalf("launch %s: %v", u.Name, errs[i])
				}
				st, err := Open(repo).Load(u.Name)
				if err != nil || st.Runner != plan.RunnerExec {
					t.Errorf("state %+v, %v; want the unit started by the exec runner", st, err)
				}
			}
			if n := accepted.Load(); n != 2 {
				t.Errorf("the socket was dialled %d times, want 2 (early, then the usual way)", n)
			}
		})
	}
}

func TestBatches(t *testing.T) {
	mk := func(r plan.Runner, m plan.Manager) *Saved {
		return &Saved{Unit: &plan.Unit{Runner: r, Manager: m}}
	}
	user, system, exec := mk(plan.RunnerSystemd, plan.ManagerUser), mk(plan.RunnerSystemd, plan.ManagerSystem), mk(plan.RunnerExec, "")
	auto := mk(plan.RunnerAuto, plan.ManagerUser)
	many := make([]*Saved, BatchSize+2)
	for i := range many {
		many[i] = user
	}
	cases := []struct {
		name  string
		saved []*Saved
		want  string
	}{
		{"one", []*Saved{user}, "[[0]]"},
		{"same manager", []*Saved{user, user, user}, "[[0 1 2]]"},
		{"not saved", []*Saved{user, nil, user}, "[[0 2]]"},
		{"by manager and runner, in order", []*Saved{user, system, user, auto, system}, "[[0 2] [1 4] [3]]"},
		{"exec alone", []*Saved{exec, user, exec, user}, "[[0] [1 3] [2]]"},
		{"at most BatchSize", many, fmt.Sprintf("[%v [%d %d]]", seq(0, BatchSize), BatchSize, BatchSize+1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			idx := seq(0, len(tc.saved))
			if got := fmt.Sprint(batches(idx, tc.saved)); got != tc.want {
				t.Errorf("batches = %s, want %s", got, tc.want)
			}
		})
	}
}

func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}
