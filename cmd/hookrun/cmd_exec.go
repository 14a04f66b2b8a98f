package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/report"
	"github.com/hookrun/hookrun/internal/supervise"
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
	// A stop (systemctl stop, a manager shutdown, a replacing push) sends
	// SIGTERM to this process alone (KillMode=mixed): the job is stopped
	// through ctx, and its end is recorded as stopped.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()
	// A journal stream that breaks (the manager was killed) must not kill
	// this process with SIGPIPE before it has recorded and reported the
	// job's end. Caught, not ignored: the job still gets the default.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	run := &supervise.Run{
		// A unit names a plan path that is not UTF-8 in plan.EncodeString
		// form (D-Bus strings must be UTF-8); any other path is its own
		// encoding.
		Plan:      plan.DecodeString(fs.Arg(0)),
		Supervise: o.supervise,
		Stdout:    a.stdout, Stderr: a.stderr, Now: a.now,
		Manager: os.Getppid(),
		Reporter: func(log io.Writer, inLog string) *report.Reporter {
			r := a.rep()
			r.Log, r.InLog = log, inLog
			return r
		},
	}
	err := run.Run(ctx)
	if errors.Is(err, supervise.ErrReported) {
		return fmt.Errorf("%w: %w", errReported, err) // the unit's output says it
	}
	return err
}
