package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/job"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/queue"
)

func cmdExec() *command {
	return &command{
		name:    "exec",
		summary: "internal: run a saved plan (a unit's ExecStart)",
		usage:   "[--supervise] PLAN",
		help: `Runs the plan saved at push time, step by step, argv only, with no GIT_*
variables in the environment. Used as the ExecStart of hookrun's units; its
exit status is the failing step's. With --supervise (the exec runner, used
where no systemd is reachable) it also enforces the timeout and sends the
notification itself.`,
		exits: []exitDoc{{"0", "the job succeeded"}, {"N", "the failing step's own exit status"}, {"1", "the plan could not be read, or the unit was stopped while queued"}, {"2", "usage error"}},
		flags: func(fs *pflag.FlagSet) {
			fs.Bool("supervise", false, "also enforce the timeout and notify (exec runner)")
		},
		run: runExec,
	}
}

func runExec(a *app, fs *pflag.FlagSet) error {
	if fs.NArg() != 1 {
		return usagef("want the path of one plan")
	}
	// A unit names a plan path that is not UTF-8 in plan.EncodeString form
	// (D-Bus strings must be UTF-8); any other path is its own encoding.
	path := plan.DecodeString(fs.Arg(0))
	u, err := plan.Load(path)
	if err != nil {
		return err
	}
	supervise, _ := fs.GetBool("supervise")
	// Holding our plan's lock tells queued units of the same job that we
	// have not ended (see internal/queue).
	if lock, err := queue.Hold(path); err == nil {
		defer lock.Close()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if supervise {
		_ = os.WriteFile(path+".pid", []byte(strconv.Itoa(os.Getpid())), 0o600)
		// Without systemd the limits that can apply are the timeout (below)
		// and the priority, which the job's processes inherit.
		if n := u.Limits.Nice; n != nil {
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, 0, *n); err != nil {
				a.warnf("nice %d: %v", *n, err)
			}
		}
	}
	stdout, stderr := a.stdout, a.stderr
	if u.Host != nil && !supervise {
		// The job runs on its host; this unit is its watcher.
		log := io.Writer(stdout)
		if lf, err := openLog(u); err == nil {
			defer lf.Close()
			log = io.MultiWriter(stdout, lf)
		}
		return a.watchRemote(ctx, u, path, log)
	}
	if !supervise {
		// Under systemd the output goes to the journal; a copy in the repo's
		// log file keeps it readable where no journal is (hookrun logs).
		if lf, err := openLog(u); err == nil {
			defer lf.Close()
			stdout, stderr = io.MultiWriter(stdout, lf), io.MultiWriter(stderr, lf)
		} else {
			a.warnf("no log file: %v", err)
		}
	}
	if u.Concurrency == "queue" {
		err := queue.WaitTurn(ctx, u, func(ahead []string) {
			fmt.Fprintf(stdout, "hookrun: queued behind %s\n", strings.Join(ahead, ", "))
		})
		if err != nil {
			if supervise { // no ExecStopPost will report it
				a.finish(u, path, notify.CancelledOutcome("stopped while queued"), a.now())
			}
			return fmt.Errorf("stopped while queued: %v", err)
		}
	}
	start := a.now()
	markStarted(path, start)
	// The timeout counts from when the job starts, not from when its unit
	// started waiting in the queue; the exec runner has no RuntimeMaxSec.
	if (supervise || u.Concurrency == "queue") && u.Limits.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, u.Limits.Timeout)
		defer cancel()
	}
	runErr := job.Run(ctx, u, stdout, stderr)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		_ = os.WriteFile(path+".timedout", nil, 0o600)
	}
	var failed *job.ExitError
	if len(u.Steps) > 1 && errors.As(runErr, &failed) {
		// notify names the step that failed a sequence.
		_ = os.WriteFile(path+".step", []byte(failed.Step), 0o600)
	}
	if errors.As(runErr, &failed) && failed.Detail != "" {
		// notify adds the program's own word on the failure.
		_ = os.WriteFile(path+".detail", []byte(failed.Detail), 0o600)
	}
	if !supervise {
		var ee *job.ExitError
		if errors.As(runErr, &ee) && ee.Code > 128 && ee.Code < 128+65 && ctx.Err() == nil {
			// The job was killed by a signal (a memory limit's SIGKILL, say):
			// die the same way so systemd reports the signal, not a status.
			fmt.Fprintf(stderr, "hookrun: %v\n", runErr)
			reraise(syscall.Signal(ee.Code - 128))
		}
		return runErr // a *job.ExitError: exitCode passes its status on
	}
	o := supervisedOutcome(ctx, u, runErr)
	o.Duration = a.now().Sub(start)
	a.finish(u, path, o, start)
	return runErr
}

// supervisedOutcome is what systemd would have reported for the exec runner.
func supervisedOutcome(ctx context.Context, u *plan.Unit, err error) notify.Outcome {
	switch {
	case err == nil:
		return notify.Outcome{Kind: notify.Success}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return notify.FromService("timeout", "killed", "TERM", u.Limits.Timeout, u.Limits.MemoryMax)
	case ctx.Err() != nil:
		return notify.CancelledOutcome("stopped")
	}
	var ee *job.ExitError
	if errors.As(err, &ee) {
		if ee.Code > 128 {
			// FromService names the signal from its number.
			return notify.FromService("signal", "killed", strconv.Itoa(ee.Code-128), 0, u.Limits.MemoryMax)
		}
		return notify.FromService("exit-code", "exited", fmt.Sprint(ee.Code), 0, 0)
	}
	return notify.Outcome{Kind: notify.Failure, Reason: err.Error()}
}

// reraise ends this process with sig, as the job ended.
func reraise(sig syscall.Signal) {
	signal.Reset(sig)
	_ = syscall.Kill(os.Getpid(), sig)
	time.Sleep(time.Second) // a blocked or ignored signal: fall back to the exit status
}
