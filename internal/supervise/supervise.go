// Package supervise runs one unit's job from its start to its recorded end:
// what `hookrun exec` does as a transient unit's ExecStart, or as the exec
// runner's detached process (Supervise). It takes the unit (internal/unit),
// posts the forge's "pending" (internal/report), waits the unit's turn in
// its queue, runs the plan's steps (internal/job) or watches them on their
// host, records how the job ended, and reports the outcome itself whenever
// no ExecStopPost will: under the exec runner, and when the service manager
// died under the job.
//
// A job that never ran (cancelled before it began, while queued, or by a
// newer push before its host began it) ends in one place, cancelled.
package supervise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hookrun/hookrun/internal/job"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/report"
	"github.com/hookrun/hookrun/internal/unit"
)

// ErrReported is in the chain of an error whose problem Run has written
// to the unit's output already.
var ErrReported = errors.New("failed; the problems are reported above")

// Run is one run of the plan at Plan.
type Run struct {
	Plan string // the plan's path
	// Supervise: the exec runner, with no systemd around the job: Run
	// enforces the timeout and the priority, and reports the outcome.
	Supervise bool
	Stdout    io.Writer // before the unit's log is open
	Stderr    io.Writer
	Now       func() time.Time
	// Manager is the process that runs the unit (systemd, or the exec
	// runner's parent) when Run began: if it is gone when the job ends, no
	// ExecStopPost will report it.
	Manager int
	// Reporter makes the reporter of the unit's end writing to log;
	// inLog names the unit whose log file log reaches already ("": none).
	Reporter func(log io.Writer, inLog string) *report.Reporter
}

// Run runs the job and records its end. Its error is the job's (a
// *job.ExitError carries the failing step's status) or Run's own, wrapped
// with ErrReported where the unit's output says it already.
func (x *Run) Run(ctx context.Context) error {
	r, err := unit.Take(ctx, x.Plan, os.Getpid(), x.Now)
	if r == nil {
		if x.Supervise && !errors.Is(err, unit.ErrEnded) {
			// No ExecStopPost: report it here (a damaged plan included).
			x.Reporter(x.Stderr, "").Finish(x.Plan, nil)
		}
		return fmt.Errorf("cannot run %s: %v", x.Plan, err)
	}
	defer r.Close()
	u := r.Plan
	stdout, stderr, inLog, closeLog := x.openLog(u)
	defer closeLog()
	rep := func() *report.Reporter { return x.Reporter(stderr, inLog) }
	// The forge's "pending": from the unit's own process, never the push.
	report.Started(u, x.Now(), stderr)
	end := func(e *unit.Exit, runErr error) error {
		if err := r.Exited(e); err != nil {
			fmt.Fprintf(stderr, "hookrun: error: cannot record how the job ended: %v\n", err)
		}
		// The queue moves on now, not once the notification is delivered.
		r.Close()
		switch {
		case x.Supervise: // no ExecStopPost: report it ourselves
			rep().FinishExited(x.Plan, e)
			rep().ReconcileAfter(u.RepoPath)
		case u.Host == nil && os.Getppid() != x.Manager:
			// The manager was stopped or killed under us: its ExecStopPost
			// will never run. Report it ourselves, once (unit.Finish).
			fmt.Fprintf(stderr, "hookrun: the unit's service manager is gone (stopped or killed): recording and notifying the outcome from here\n")
			rep().FinishExited(x.Plan, e)
			rep().ReconcileAfter(u.RepoPath)
		}
		return reported(runErr)
	}
	watcher := u.Host != nil && !x.Supervise // the job runs on its host (its queue is there)
	// cancelled ends a unit whose job never ran: when says where it was.
	cancelled := func(when string) error {
		fmt.Fprintf(stdout, "hookrun: cancelled %s: %s\n", when, r.State.Cancel.Reason)
		if watcher {
			report.StopOnHost(u, stdout) // started there already
		}
		return end(&unit.Exit{NotRun: true}, nil)
	}
	if errors.Is(err, unit.ErrCancelled) {
		return cancelled("before it began")
	}
	if watcher {
		if err := r.BeginJob(); errors.Is(err, unit.ErrCancelled) {
			return cancelled("before it began")
		}
		ro, err := report.WatchRemote(ctx, u, stdout)
		if err != nil {
			return end(&unit.Exit{Stopped: true}, ErrReported)
		}
		var failed error
		if ro.Kind != outcome.Success {
			fmt.Fprintf(stderr, "hookrun: error: on host %s: %s\n", u.Host.Name, ro.Reason)
			failed = ErrReported
		}
		return end(&unit.Exit{Remote: ro}, failed)
	}
	if x.Supervise {
		// Without systemd the limits that can apply are the timeout (below)
		// and the priority, which the job's processes inherit.
		if n := u.Limits.Nice; n != nil {
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, 0, *n); err != nil {
				fmt.Fprintf(stderr, "hookrun: warning: nice %d: %v\n", *n, err)
			}
		}
	}
	if u.Concurrency.Waits() {
		err := r.WaitTurn(ctx, func(ahead []string) {
			fmt.Fprintf(stdout, "hookrun: queued behind %s\n", strings.Join(ahead, ", "))
		})
		switch {
		case errors.Is(err, unit.ErrCancelled):
			return cancelled("while queued")
		case err != nil:
			fmt.Fprintf(stderr, "hookrun: stopped while queued\n")
			return end(&unit.Exit{NotRun: true, Stopped: true}, ErrReported)
		}
	}
	if err := r.BeginJob(); errors.Is(err, unit.ErrCancelled) {
		return cancelled("before it began")
	} else if err != nil {
		fmt.Fprintf(stderr, "hookrun: warning: cannot record the job's start: %v\n", err)
	}
	// The timeout counts from when the job starts, not from when its unit
	// started waiting in the queue; the exec runner has no RuntimeMaxSec.
	jobCtx := ctx
	if (x.Supervise || u.Concurrency.Waits()) && u.Limits.Timeout > 0 {
		var cancel context.CancelFunc
		jobCtx, cancel = context.WithTimeout(ctx, u.Limits.Timeout)
		defer cancel()
	}
	runErr := job.Run(jobCtx, u, stdout, stderr)
	if runErr != nil {
		// exec's own errors (a missing program, working directory) belong
		// in the unit's log as much as the job's output.
		fmt.Fprintf(stderr, "hookrun: error: %v\n", runErr)
	}
	return end(ExitOf(runErr, ctx.Err() != nil, errors.Is(jobCtx.Err(), context.DeadlineExceeded)), runErr)
}

// openLog points the job's output at u's bounded log file: under the exec
// runner stdout and stderr are that file already, and everything goes
// through the bounding unit.Log instead; under systemd they are the
// journal, and the log file gets a copy (unit.Tee). inLog names the unit
// when stderr reaches its log file. closeLog says, before it closes the
// file, when the log missed output.
func (x *Run) openLog(u *plan.Unit) (stdout, stderr io.Writer, inLog string, closeLog func()) {
	if x.Supervise {
		lf, err := unit.OpenLog(u.RepoPath, u.Name, u.Limits.LogMax)
		if err != nil {
			fmt.Fprintf(x.Stderr, "hookrun: warning: the log file is not bounded: %v\n", err)
			return x.Stdout, x.Stderr, u.Name, func() {}
		}
		return lf, lf, u.Name, closer(lf, lf)
	}
	lf, stdout, stderr, err := unit.Tee(u.RepoPath, u.Name, u.Limits.LogMax, x.Stdout, x.Stderr)
	if err != nil {
		fmt.Fprintf(x.Stderr, "hookrun: warning: no log file: %v\n", err)
		return x.Stdout, x.Stderr, "", func() {}
	}
	return stdout, stderr, u.Name, closer(lf, stderr)
}

// closer closes lf, saying first on warn when the log missed output.
func closer(lf *unit.Log, warn io.Writer) func() {
	return func() {
		if err := lf.Err(); err != nil {
			fmt.Fprintf(warn, "hookrun: warning: the log file %s misses part of the output: %v\n", lf.Name(), err)
		}
		lf.Close()
	}
}

// reported is the job's error for exec's exit status, its problem already
// in the unit's output.
func reported(err error) error {
	if err == nil || errors.Is(err, ErrReported) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrReported, err)
}

// ExitOf is how the job ended: runErr is job.Run's error, stopped whether
// the run was told to stop, timedOut whether the job hit its timeout.
func ExitOf(runErr error, stopped, timedOut bool) *unit.Exit {
	if runErr == nil {
		return &unit.Exit{} // it ended on its own, even if a stop came late
	}
	e := &unit.Exit{Stopped: stopped, TimedOut: timedOut && !stopped}
	var ee *job.ExitError
	if !errors.As(runErr, &ee) {
		e.Error = runErr.Error()
		return e
	}
	e.Step, e.Detail = ee.Step, ee.Detail
	if ee.Signal != 0 {
		e.Signal = strings.TrimPrefix(unix.SignalName(ee.Signal), "SIG")
		if e.Signal == "" {
			e.Signal = strconv.Itoa(int(ee.Signal))
		}
		e.CoreDump = ee.CoreDump
		return e
	}
	e.Code = ee.Code
	return e
}
