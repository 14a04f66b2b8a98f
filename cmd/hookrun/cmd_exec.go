package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"golang.org/x/sys/unix"

	"github.com/hookrun/hookrun/internal/job"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/report"
	"github.com/hookrun/hookrun/internal/unit"
)

func cmdExec() *command {
	return withOptions(&command{
		name:    "exec",
		summary: "internal: run a saved plan (a unit's ExecStart)",
		usage:   "[--supervise] PLAN",
		help: `Runs the plan saved at push time, step by step, argv only, with no GIT_*
variables in the environment. Used as the ExecStart of hookrun's units; its
exit status is the failing step's. With --supervise (the exec runner, used
where no systemd is reachable) it also enforces the timeout and sends the
notification itself. How the job ended is recorded in the unit's state for
'hookrun notify'.`,
		exits: []exitDoc{{"0", "the job succeeded, or was cancelled before it began"}, {"N", "the failing step's own exit status"}, {"1", "the plan could not be read, or the unit was stopped while queued"}, {"2", "usage error"}},
	}, func(fs *pflag.FlagSet, o *execOptions) {
		fs.BoolVar(&o.supervise, "supervise", false, "also enforce the timeout and notify (exec runner)")
	}, runExec)
}

// execOptions are the flags of exec.
type execOptions struct {
	supervise bool
}

func runExec(a *app, fs *pflag.FlagSet, o *execOptions) error {
	if fs.NArg() != 1 {
		return usagef("want the path of one plan")
	}
	// A unit names a plan path that is not UTF-8 in plan.EncodeString form
	// (D-Bus strings must be UTF-8); any other path is its own encoding.
	path := plan.DecodeString(fs.Arg(0))
	supervise := o.supervise
	// A stop (systemctl stop, a manager shutdown, a replacing push) sends
	// SIGTERM to this process alone (KillMode=mixed): the job is stopped
	// through ctx, and its end is recorded as stopped.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()
	// A journal stream that breaks (the manager was killed) must not kill
	// this process with SIGPIPE before it has recorded and reported the
	// job's end. Caught, not ignored: the job still gets the default.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	// Our parent is the service manager that runs the unit (or, for the
	// exec runner, the process that started us): if it is gone when the
	// job ends, no ExecStopPost will report it.
	manager := os.Getppid()
	r, err := unit.Take(ctx, path, os.Getpid(), a.now)
	if r == nil {
		if supervise && !errors.Is(err, unit.ErrEnded) {
			// No ExecStopPost: report it here (a damaged plan included).
			a.rep().Finish(path, nil)
		}
		return fmt.Errorf("cannot run %s: %v", path, err)
	}
	defer r.Close()
	u := r.Plan
	if supervise {
		// The exec runner points stdout and stderr at the log file.
		if lf := a.ownLog(u); lf != nil {
			defer lf.Close()
		}
	} else if lf := a.teeLog(u); lf != nil {
		defer lf.Close()
	}
	stdout, stderr := a.stdout, a.stderr
	// The forge's "pending": from the unit's own process, never the push.
	report.Started(u, a.now(), stderr)
	end := func(e *unit.Exit, runErr error) error {
		if err := r.Exited(e); err != nil {
			fmt.Fprintf(stderr, "hookrun: error: cannot record how the job ended: %v\n", err)
		}
		// The queue moves on now, not once the notification is delivered.
		r.Close()
		switch {
		case supervise: // no ExecStopPost: report it ourselves
			a.rep().FinishExited(path, e)
			a.rep().ReconcileAfter(u.RepoPath)
		case u.Host == nil && os.Getppid() != manager:
			// The manager was stopped or killed under us: its ExecStopPost
			// will never run. Report it ourselves, once (unit.Finish).
			fmt.Fprintf(stderr, "hookrun: the unit's service manager is gone (stopped or killed): recording and notifying the outcome from here\n")
			a.rep().FinishExited(path, e)
			a.rep().ReconcileAfter(u.RepoPath)
		}
		return exitStatus(runErr)
	}
	watcher := u.Host != nil && !supervise // the job runs on its host (its queue is there)
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
			return end(&unit.Exit{Stopped: true}, errReported)
		}
		var failed error
		if ro.Kind != outcome.Success {
			fmt.Fprintf(stderr, "hookrun: error: on host %s: %s\n", u.Host.Name, ro.Reason)
			failed = errReported
		}
		return end(&unit.Exit{Remote: ro}, failed)
	}
	if supervise {
		// Without systemd the limits that can apply are the timeout (below)
		// and the priority, which the job's processes inherit.
		if n := u.Limits.Nice; n != nil {
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, 0, *n); err != nil {
				a.warnf("nice %d: %v", *n, err)
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
			return end(&unit.Exit{NotRun: true, Stopped: true}, errReported)
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
	if (supervise || u.Concurrency.Waits()) && u.Limits.Timeout > 0 {
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
	return end(exitOf(runErr, ctx.Err() != nil, errors.Is(jobCtx.Err(), context.DeadlineExceeded)), runErr)
}

// exitStatus is exec's result: the job's own status, already reported in
// the unit's log.
func exitStatus(err error) error {
	if err == nil || errors.Is(err, errReported) {
		return err
	}
	return fmt.Errorf("%w: %w", errReported, err)
}

// exitOf is how the job ended: runErr is job.Run's error, stopped whether
// this process was told to stop, timedOut whether the job hit its timeout.
func exitOf(runErr error, stopped, timedOut bool) *unit.Exit {
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
