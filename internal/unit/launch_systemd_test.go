package unit

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/runner"
	"github.com/hookrun/hookrun/internal/systemdtest"
)

// TestLaunchBatchRefusedStartsEachAlone: the units of a push go to the
// manager in one call; when it refuses that call (here: one name is taken
// already), none of them started, and each is started alone, the one
// whose name is taken under a new name. Every unit ends up handed over,
// none twice.
func TestLaunchBatchRefusedStartsEachAlone(t *testing.T) {
	m := systemdtest.Start(t)
	repo := t.TempDir()
	var units []*plan.Unit
	for _, job := range []string{"a", "b", "c"} {
		units = append(units, testUnit(repo, job, plan.Parallel))
	}
	taken := units[1].Name
	run := exec.Command("systemd-run", "--user", "--quiet", "--unit", taken, "sleep", "60")
	run.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+m.RuntimeDir, "DBUS_SESSION_BUS_ADDRESS=")
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("systemd-run --unit %s: %v\n%s", taken, err, out)
	}
	t.Cleanup(func() {
		stop := exec.Command("systemctl", "--user", "stop", taken)
		stop.Env = run.Env
		_ = stop.Run()
	})
	l := &Launcher{Self: "/bin/true", Getenv: m.Getenv, UnitName: func(u *plan.Unit) string {
		return runner.UnitName(u.Job, u.Repo, time.Now())
	}}
	errs := l.Launch(context.Background(), units)
	l.Close()
	for i, err := range errs {
		if err != nil {
			t.Errorf("unit %d: %v", i, err)
		}
	}
	if units[1].Name == taken {
		t.Errorf("the unit whose name was taken kept it")
	}
	sts, err := Open(repo).List()
	if err != nil || len(sts) != len(units) {
		t.Fatalf("%d states (%v), want %d: one per unit, none left of the refused call", len(sts), err, len(units))
	}
	for _, st := range sts {
		if st.Phase.order() < Started.order() || st.Runner != plan.RunnerSystemd {
			t.Errorf("%s: phase %s, runner %s; want handed over to systemd", st.Unit, st.Phase, st.Runner)
		}
	}
}

// TestLaunchClosesBeforeRecording: once the last start call has answered,
// the connection closes before any state of its units is recorded. The
// manager sends every client of its private socket the signals of the
// units just started, which an open connection reads and decodes while
// the hook records them (docs/PERFORMANCE.md). Not parallel: it sets
// testHookRecord.
func TestLaunchClosesBeforeRecording(t *testing.T) {
	m := systemdtest.Start(t)
	for _, n := range []int{1, 3} {
		repo := t.TempDir()
		var units []*plan.Unit
		for _, job := range []string{"a", "b", "c"}[:n] {
			units = append(units, testUnit(repo, job, plan.Parallel))
		}
		l := &Launcher{Self: "/bin/true", Getenv: m.Getenv}
		var records, open int
		testHookRecord = func(hl *Launcher) {
			if hl != l {
				return
			}
			l.mu.Lock()
			defer l.mu.Unlock()
			records++
			if l.conns != nil {
				open++
			}
		}
		errs := l.Launch(context.Background(), units)
		testHookRecord = nil
		l.Close()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("%d units: unit %d: %v", n, i, err)
			}
		}
		if records != n || open != 0 {
			t.Errorf("%d units: %d of %d states recorded with the connection still open, want none", n, open, records)
		}
	}
}
