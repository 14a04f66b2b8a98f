package unit

import (
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
)

func TestDecide(t *testing.T) {
	u := &plan.Unit{Limits: plan.Limits{Timeout: 30 * time.Second, MemoryMax: 20 << 20},
		Steps: []plan.Step{{Name: "a"}, {Name: "b"}}}
	one := &plan.Unit{Steps: []plan.Step{{Name: "a"}}}
	cancel := &Cancel{Reason: "replaced by a newer push (3f9a1c2)"}
	sd := func(r, c, s string) *Service { return &Service{r, c, s} }
	running := Running
	cases := []struct {
		name   string
		st     State
		svc    *Service
		u      *plan.Unit
		kind   outcome.Kind
		reason string
	}{
		{"success", State{Exit: &Exit{}}, sd("success", "exited", "0"), u, outcome.Success, ""},
		{"success despite a late cancel", State{Exit: &Exit{}, Cancel: cancel}, sd("success", "exited", "0"), u, outcome.Success, ""},
		{"exit 7", State{Exit: &Exit{Code: 7}}, sd("exit-code", "exited", "7"), one, outcome.Failure, "exit status 7"},
		{"exit 7 in a step", State{Exit: &Exit{Code: 7, Step: "b"}}, sd("exit-code", "exited", "7"), u, outcome.Failure, "exit status 7 in step b"},
		{"job killed by TERM is no success", State{Exit: &Exit{Signal: "TERM"}}, sd("exit-code", "exited", "143"), one, outcome.Failure, "killed by signal TERM"},
		{"INT", State{Exit: &Exit{Signal: "INT"}}, sd("exit-code", "exited", "130"), one, outcome.Failure, "killed by signal INT"},
		{"HUP", State{Exit: &Exit{Signal: "HUP"}}, sd("exit-code", "exited", "129"), one, outcome.Failure, "killed by signal HUP"},
		{"SEGV core", State{Exit: &Exit{Signal: "SEGV", CoreDump: true}}, sd("exit-code", "exited", "139"), one, outcome.Failure, "killed by signal SEGV (core dumped)"},
		{"USR1", State{Exit: &Exit{Signal: "USR1"}}, sd("exit-code", "exited", "138"), one, outcome.Failure, "killed by signal USR1"},
		{"KILL with a memory limit", State{Exit: &Exit{Signal: "KILL"}}, sd("exit-code", "exited", "137"), u, outcome.Failure, "killed by signal KILL (the memory limit MemoryMax=20M may have been reached)"},
		{"RuntimeMaxSec", State{Exit: &Exit{Stopped: true, Signal: "TERM"}}, sd("timeout", "exited", "143"), u, outcome.Failure, "timed out after 30s"},
		{"exec's own timeout", State{Exit: &Exit{TimedOut: true, Signal: "TERM"}}, nil, u, outcome.Failure, "timed out after 30s"},
		{"oom-kill", State{Exit: &Exit{Stopped: true}}, sd("oom-kill", "killed", "KILL"), u, outcome.Failure, "killed: out of memory"},
		{"systemctl stop", State{Exit: &Exit{Stopped: true, Signal: "TERM"}, Runner: plan.RunnerSystemd}, sd("exit-code", "exited", "143"), one, outcome.Cancelled, "stopped by its service manager (systemctl stop, or the manager shut down)"},
		{"exec runner stopped", State{Exit: &Exit{Stopped: true, Signal: "TERM"}, Runner: plan.RunnerExec}, nil, one, outcome.Cancelled, "stopped: its hookrun exec process got a stop signal"},
		{"replaced while running", State{Exit: &Exit{Stopped: true, Signal: "TERM"}, Cancel: cancel}, sd("exit-code", "exited", "143"), one, outcome.Cancelled, cancel.Reason},
		{"replaced before it began", State{Exit: &Exit{NotRun: true}, Cancel: cancel}, sd("success", "exited", "0"), one, outcome.Cancelled, cancel.Reason},
		{"cancelled, exec killed", State{Phase: running, Cancel: cancel}, sd("signal", "killed", "KILL"), one, outcome.Cancelled, cancel.Reason},
		{"command not found", State{Exit: &Exit{Code: 127}}, sd("exit-code", "exited", "127"), one, outcome.Failure, "exit status 127"},
		{"exec could not run it", State{Exit: &Exit{NotRun: true, Error: "plan damaged"}}, sd("exit-code", "exited", "1"), one, outcome.Failure, "plan damaged"},
		{"exec never started (203)", State{Phase: Started}, sd("exit-code", "exited", "203"), one, outcome.Failure, "not started: exit status 203 (systemd: could not execute the program)"},
		{"exec killed by TERM from outside", State{Phase: running}, sd("success", "killed", "TERM"), one, outcome.Failure,
			"killed by signal TERM (hookrun exec was killed before the job ended)"},
		{"exec killed by SEGV", State{Phase: running}, sd("core-dump", "dumped", "SEGV"), one, outcome.Failure,
			"killed by signal SEGV (core dumped)"},
		{"the whole unit killed by its memory limit", State{Phase: running}, sd("signal", "killed", "KILL"), u, outcome.Failure,
			"killed by signal KILL (the memory limit MemoryMax=20M may have been reached)"},
		{"exec ended 0 without a record", State{Phase: running}, sd("success", "exited", "0"), one, outcome.Failure, "hookrun exec ended without recording how the job ended"},
		{"exec runner, nothing recorded", State{Phase: running}, nil, one, outcome.Failure, "hookrun exec ended without recording how the job ended"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(&tc.st, tc.svc, tc.u, time.Now())
			if got.Kind != tc.kind || got.Reason != tc.reason {
				t.Errorf("Decide = %s %q, want %s %q", got.Kind, got.Reason, tc.kind, tc.reason)
			}
		})
	}
}

func TestDecideDuration(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	st := &State{Started: t0, Running: t0.Add(time.Second), JobStart: t0.Add(5 * time.Second), Exit: &Exit{At: t0.Add(65 * time.Second)}}
	if d := Decide(st, nil, &plan.Unit{}, t0.Add(time.Hour)).Duration; d != time.Minute {
		t.Errorf("duration %v, want from the job's start to its exit (1m)", d)
	}
	st = &State{Started: t0}
	if d := Decide(st, &Service{Result: "exit-code", Code: "exited", Status: "203"}, &plan.Unit{}, t0.Add(3*time.Second)).Duration; d != 3*time.Second {
		t.Errorf("duration %v, want from the hand-over to now (3s)", d)
	}
}

// TestDecideLostContactDuration: a remote job whose watcher lost contact
// (the host's word has no duration) lasted as long as it was followed, not
// 0 s (issue 21).
func TestDecideLostContactDuration(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	st := &State{Started: t0, JobStart: t0.Add(time.Second), Exit: &Exit{At: t0.Add(91 * time.Second),
		Remote: &Outcome{Kind: outcome.Failure, Reason: "lost contact with builder"}}}
	if o := Decide(st, nil, &plan.Unit{}, t0.Add(time.Hour)); o.Duration != 90*time.Second || o.Reason != "lost contact with builder" {
		t.Errorf("Decide = %+v, want lost contact after 1m30s", o)
	}
	st.Exit.Remote.Duration = 42 * time.Second // the host's own count wins
	if o := Decide(st, nil, &plan.Unit{}, t0.Add(time.Hour)); o.Duration != 42*time.Second {
		t.Errorf("duration %v, want the host's 42s", o.Duration)
	}
}
