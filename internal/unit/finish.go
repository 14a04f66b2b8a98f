package unit

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
)

// Service is what systemd tells an ExecStopPost command about the end of
// the unit's main process ($SERVICE_RESULT, $EXIT_CODE, $EXIT_STATUS; see
// systemd.exec(5)). The exec runner has none (nil).
type Service struct {
	Result, Code, Status string
}

// Finished is a unit whose outcome is recorded.
type Finished struct {
	Plan    *plan.Unit
	State   *State
	Outcome notify.Outcome
	// First is true for the one call that recorded the outcome; a unit is
	// notified only by that caller.
	First bool
	// Due: the plan's [notify] settings ask for this outcome to be
	// published (its delivery is pending, else skipped).
	Due bool
	// Unrecorded says why the outcome could not be saved in the unit's
	// state (a full or read-only disk, a damaged state file): it is
	// notified all the same, and the notification says so.
	Unrecorded error
}

// Finish records the outcome of the unit whose plan is at planPath, as
// decided from its state and svc (Decide), appends it to the repository's
// history and prunes the state of old units. Only the first call for a
// unit records; later ones return the recorded outcome with First false.
//
// Recording never gates notifying: when the state cannot be saved (a full
// or read-only disk, a damaged state file), the outcome is decided from
// what can be read and returned with First set and Unrecorded saying why,
// along with the error, so the caller (the unit's one ExecStopPost) still
// notifies it. FinishRecorded is for callers that may not be the only one.
func Finish(planPath string, svc *Service, now func() time.Time) (*Finished, error) {
	return finish(planPath, svc, nil, now, true)
}

// FinishExited is Finish for the exec runner's own process, which knows
// how the job ended (e) even when it could not record it (Run.Exited).
func FinishExited(planPath string, e *Exit, now func() time.Time) (*Finished, error) {
	return finish(planPath, nil, e, now, true)
}

// FinishRecorded is Finish for a caller that is not the unit's own
// ExecStopPost (`hookrun reconcile`): an outcome that cannot be recorded
// is returned as an error only, never as First, since nothing would then
// stop a second caller from notifying it again.
func FinishRecorded(planPath string, svc *Service, now func() time.Time) (*Finished, error) {
	return finish(planPath, svc, nil, now, false)
}

// finish is Finish; exited, when known, is how the job ended, for a state
// that does not say.
func finish(planPath string, svc *Service, exited *Exit, now func() time.Time, unrecorded bool) (*Finished, error) {
	s, name := StoreOf(planPath)
	keptExit, keptDone := takeUnrecordedExit(s.RepoPath, name)
	if exited == nil {
		exited = keptExit // hookrun exec could not record it (a full disk)
	}
	known := func(st *State) {
		if st.Exit == nil && exited != nil {
			st.Exit = exited
		}
	}
	s.Now = now
	u, err := plan.Load(planPath)
	if err != nil {
		return nil, err
	}
	fin := &Finished{Plan: u}
	st, err := s.update(name, nil, func(st *State) error {
		if st.Phase == Ended && st.Outcome != nil {
			return errNoChange
		}
		known(st)
		o := Decide(st, svc, u, s.now())
		st.Phase, st.Ended = Ended, s.now()
		st.Outcome = &Outcome{Kind: o.Kind, Reason: o.Reason, Duration: o.Duration}
		fin.First = true
		fin.Due = u.Notify.Server != "" && notify.ShouldNotify(u.Notify.On, o.Kind)
		st.Delivery = &Delivery{Status: outcome.Skipped, At: s.now()}
		if fin.Due {
			st.Delivery.Status = outcome.Pending
		}
		return nil
	})
	if err != nil && !unrecorded {
		return nil, fmt.Errorf("cannot record the outcome of %s: %w", name, err) // the kept exit stays, for the next try
	}
	defer keptDone() // decided: recorded, recorded before, or kept with the outcome
	if err != nil {
		// Decide from what can be read: the state as it is, or nothing
		// (systemd's word alone).
		if cur, lerr := s.Load(name); lerr == nil {
			st = cur
		} else {
			st = &State{Version: Version, Unit: name, Repo: u.Repo, Job: u.Job, Runner: u.Runner, Manager: u.Manager}
		}
		if st.Phase == Ended && st.Outcome != nil {
			fin.State, fin.Outcome = st, st.Outcome.Notify() // recorded before
			return fin, nil
		}
		known(st)
		o := Decide(st, svc, u, s.now())
		st.Phase, st.Ended = Ended, s.now()
		st.Outcome = &Outcome{Kind: o.Kind, Reason: o.Reason, Duration: o.Duration}
		fin.First, fin.Unrecorded = true, err
		fin.Due = u.Notify.Server != "" && notify.ShouldNotify(u.Notify.On, o.Kind)
		st.Delivery = &Delivery{Status: outcome.Skipped, At: s.now()}
		if fin.Due {
			st.Delivery.Status = outcome.Pending
		}
		fin.State, fin.Outcome = st, st.Outcome.Notify()
		// Kept where the repository's disk is not (a full disk), so that
		// Reconcile, later, records this outcome instead of notifying
		// the unit a second time.
		keepUnrecorded(s.RepoPath, st)
		err = fmt.Errorf("cannot record the outcome of %s in its state (notifying it all the same): %w", name, err)
		if herr := history.Append(layout.History(s.RepoPath), record(u, st)); herr != nil {
			err = fmt.Errorf("%w; nor in the history: %v", err, herr)
		}
		return fin, err
	}
	fin.State, fin.Outcome = st, st.Outcome.Notify()
	if !fin.First {
		return fin, nil
	}
	if err := s.appendHistory(u, st); err != nil {
		fin.Unrecorded = err
		return fin, fmt.Errorf("cannot record the outcome in the history (hookrun reconcile will): %v", err)
	}
	s.Prune()
	s.Restock()
	return fin, nil
}

// Unstarted records the outcome o of a unit that never had a state (it
// could not start on its host): a history record, for the caller to report.
func Unstarted(u *plan.Unit, o notify.Outcome, now time.Time) (*Finished, error) {
	fin := &Finished{Plan: u, Outcome: o, First: true,
		Due: u.Notify.Server != "" && notify.ShouldNotify(u.Notify.On, o.Kind)}
	st := &State{Unit: u.Name, Runner: u.Runner, Started: now,
		Outcome:  &Outcome{Kind: o.Kind, Reason: o.Reason, Duration: o.Duration},
		Delivery: &Delivery{Status: outcome.Skipped}}
	if fin.Due {
		st.Delivery.Status = outcome.Pending
	}
	fin.State = st
	return fin, history.Append(layout.History(u.RepoPath), record(u, st))
}

func record(u *plan.Unit, st *State) history.Record {
	rec := history.Record{
		Unit: u.Name, Repo: u.Repo, Job: u.Job, Runner: string(st.Runner),
		Start: st.JobStart,
	}
	if rec.Start.IsZero() {
		rec.Start = st.Started
	}
	if rec.Start.IsZero() {
		rec.Start = st.Saved // never handed over
	}
	if o := st.Outcome; o != nil {
		rec.Result, rec.Reason, rec.Duration = o.Kind, o.Reason, o.Duration
	}
	if d := st.Delivery; d != nil && d.Status != outcome.Skipped {
		o := d.Outcome()
		rec.Ntfy = &o
	}
	PlanFacts(&rec, u)
	return rec
}

// PlanFacts puts in rec what u's plan says of its run: the first ref and
// its commit, how many refs a per = "push" unit ran for, the host.
func PlanFacts(rec *history.Record, u *plan.Unit) {
	if len(u.Refs) > 0 {
		rec.Ref, rec.Short = u.Refs[0].Ref, u.Refs[0].TargetShort()
	}
	if len(u.Refs) > 1 {
		rec.Refs = len(u.Refs)
	}
	if u.Host != nil {
		rec.Host = u.Host.Name
	}
}

// Decide is the outcome of a unit from what hookrun exec recorded (st.Exit),
// a cancel request (st.Cancel) and systemd's word (svc, nil for the exec
// runner). The same job ending the same way gets the same outcome under
// both runners:
//
//   - the job succeeded: success, even if a cancel came too late;
//   - cancelled (replaced, superseded, stopped by an operator) before or
//     while the job ran: cancelled, with the cancel's reason;
//   - systemd's RuntimeMaxSec or hookrun's own timeout: failure, timed out;
//   - systemd's OOM kill: failure, out of memory;
//   - hookrun exec told to stop (systemctl stop, a manager shutdown):
//     cancelled, "stopped by ...";
//   - the job killed by signal S (TERM, INT and HUP too; core dumps named):
//     failure "killed by signal S";
//   - the job exited N: failure "exit status N" (and the failing step);
//   - hookrun exec could not run the job: failure, with why;
//   - nothing recorded (exec could not start, or was killed): systemd's
//     result, and never success.
func Decide(st *State, svc *Service, u *plan.Unit, now time.Time) notify.Outcome {
	o := decide(st, svc, u)
	o.Duration = duration(st, now)
	if e := st.Exit; e != nil && e.Remote != nil && o.Kind == e.Remote.Kind && e.Remote.Duration > 0 {
		o.Duration = e.Remote.Duration // as long as it ran there, as the host said
	}
	return o
}

func decide(st *State, svc *Service, u *plan.Unit) notify.Outcome {
	e := st.Exit
	memMax := u.Limits.MemoryMax
	failed := func(reason string) notify.Outcome {
		if e != nil && e.Step != "" && len(u.Steps) > 1 {
			reason += " in step " + e.Step
		}
		if e != nil && e.Detail != "" {
			reason += ": " + e.Detail
		}
		return notify.Outcome{Kind: outcome.Failure, Reason: reason}
	}
	svcResult := ""
	if svc != nil {
		svcResult = svc.Result
	}
	switch {
	case e.Success():
		return notify.Outcome{Kind: outcome.Success}
	case st.Cancel != nil && (e == nil || e.NotRun || e.Stopped):
		return notify.CancelledOutcome(st.Cancel.Reason)
	case e != nil && e.Remote != nil:
		return e.Remote.Notify()
	case svcResult == "timeout", e != nil && e.TimedOut:
		return notify.FromService("timeout", "killed", "TERM", u.Limits.Timeout, 0)
	case svcResult == "oom-kill":
		return notify.FromService("oom-kill", "killed", "KILL", 0, memMax)
	case e != nil && e.Stopped:
		what := "stopped by its service manager (systemctl stop, or the manager shut down)"
		if st.Runner == plan.RunnerExec {
			what = "stopped: its hookrun exec process got a stop signal"
		}
		if e.NotRun {
			what += " before it began"
		}
		return notify.CancelledOutcome(what)
	case e != nil && e.Signal != "":
		res, code := "signal", "killed"
		if e.CoreDump {
			res, code = "core-dump", "dumped"
		}
		return failed(notify.FromService(res, code, e.Signal, 0, memMax).Reason)
	case e != nil && e.Error != "":
		return failed(e.Error)
	case e != nil && e.Code != 0:
		return failed(fmt.Sprintf("exit status %d", e.Code))
	case e != nil:
		return failed("ended without running the job")
	case svc == nil:
		return failed("hookrun exec ended without recording how the job ended")
	}
	o := notify.FromService(svc.Result, svc.Code, svc.Status, u.Limits.Timeout, memMax)
	if st.Phase.order() < Running.order() && o.Kind == outcome.Failure {
		o.Reason = "not started: " + o.Reason
		return o
	}
	if o.Kind == outcome.Success {
		// systemd counts TERM, INT, HUP and PIPE as a clean end; hookrun
		// exec records every end of the job, so it was killed itself.
		if svc.Code == "killed" || svc.Code == "dumped" {
			return failed(notify.FromService("signal", svc.Code, svc.Status, 0, memMax).Reason + " (hookrun exec was killed before the job ended)")
		}
		return failed("hookrun exec ended without recording how the job ended")
	}
	return o
}

// duration is how long the job ran: from its start (else from when exec
// took it over, else from its hand-over) to its exit (else now).
func duration(st *State, now time.Time) time.Duration {
	start := st.JobStart
	if start.IsZero() {
		start = st.Running
	}
	if start.IsZero() {
		start = st.Started
	}
	if start.IsZero() {
		return 0
	}
	end := now
	if st.Exit != nil && !st.Exit.At.IsZero() {
		end = st.Exit.At
	}
	if d := end.Sub(start); d > 0 {
		return d
	}
	return 0
}

// RecordDelivery records d, what became of the notification of the unit
// whose plan is at planPath, in its state and its history record.
func RecordDelivery(planPath string, d outcome.Delivery, now func() time.Time) error {
	s, name := StoreOf(planPath)
	s.Now = now
	err := s.RecordDelivery(name, DeliveryOf(d, time.Time{}))
	if errors.Is(err, os.ErrNotExist) {
		err = nil // a unit that never started, or pruned meanwhile: the history has it
	}
	if herr := history.SetNotify(layout.History(s.RepoPath), name, d); err == nil {
		err = herr
	}
	return err
}

// FinishDamaged records the outcome of a unit whose plan cannot be read
// (damaged from outside: a cut or edited file) from its state alone: its
// job did not run, or ran and ended as exec recorded. The caller supplies
// where to notify (n: the repository's current [notify], the plan's being
// lost), and notifies the returned outcome when First.
func FinishDamaged(planPath string, planErr error, svc *Service, n plan.Notify, now func() time.Time) (*Finished, error) {
	s, name := StoreOf(planPath)
	s.Now = now
	var fin *Finished
	st, err := s.update(name, nil, func(st *State) error {
		if st.Phase == Ended && st.Outcome != nil {
			return errNoChange
		}
		u := s.unitOf(st)
		u.Notify = n
		o := Decide(st, svc, u, s.now())
		if !st.Exit.Success() {
			o = notify.Outcome{Kind: outcome.Failure, Reason: "its plan cannot be read, so its job did not run: " + planErr.Error(), Duration: o.Duration}
		}
		st.Phase, st.Ended = Ended, s.now()
		st.Outcome = &Outcome{Kind: o.Kind, Reason: o.Reason, Duration: o.Duration}
		fin = &Finished{Plan: u, First: true, Due: n.Server != "" && notify.ShouldNotify(n.On, o.Kind)}
		st.Delivery = &Delivery{Status: outcome.Skipped, At: s.now()}
		if fin.Due {
			st.Delivery.Status = outcome.Pending
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot record the outcome of %s, whose plan cannot be read either (%v): %w", name, planErr, err)
	}
	if fin == nil {
		return nil, nil // recorded before
	}
	fin.State, fin.Outcome = st, st.Outcome.Notify()
	if err := s.appendHistory(fin.Plan, st); err != nil {
		fin.Unrecorded = err
	}
	return fin, nil
}

// unitOf stands in for the plan of st's unit when the plan cannot be read:
// what its state knows of it.
func (s *Store) unitOf(st *State) *plan.Unit {
	return &plan.Unit{Name: st.Unit, Repo: st.Repo, Job: st.Job, RepoPath: s.RepoPath, Runner: st.Runner}
}
