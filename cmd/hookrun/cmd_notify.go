package main

import (
	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/plan"
)

func cmdNotify() *command {
	return &command{
		name:    "notify",
		summary: "internal: report a finished unit (a unit's ExecStopPost)",
		usage:   "PLAN",
		help: `Runs as the unit's ExecStopPost, for every outcome: reads $SERVICE_RESULT,
$EXIT_CODE and $EXIT_STATUS, records the outcome for 'hookrun status', and
publishes it to ntfy when the plan's [notify] settings ask for it. The token
comes from token_file or HOOKRUN_NTFY_TOKEN and is never printed. A failed
delivery is logged and never changes the job's result (exit status 0).`,
		exits: []exitDoc{{"0", "always, even when delivery failed (the job's result stands)"}, {"2", "usage error"}},
		run:   runNotify,
	}
}

func runNotify(a *app, fs *pflag.FlagSet) error {
	if fs.NArg() != 1 {
		return usagef("want the path of one plan")
	}
	// A unit names a plan path that is not UTF-8 in plan.EncodeString form
	// (D-Bus strings must be UTF-8); any other path is its own encoding.
	path := plan.DecodeString(fs.Arg(0))
	u, err := plan.Load(path)
	if err != nil {
		a.errorf("%v", err)
		return nil // never fail the unit over its report
	}
	start := startedAt(path, u.Created)
	o := notify.FromService(a.getenv("SERVICE_RESULT"), a.getenv("EXIT_CODE"), a.getenv("EXIT_STATUS"), u.Limits.Timeout, u.Limits.MemoryMax)
	o.Duration = a.now().Sub(start)
	if ro, ok := remoteOutcome(path); ok && !marked(path, "cancelled") {
		o = ro // the outcome on the job's host, as its watcher learned it
	}
	a.finish(u, path, o, start)
	return nil
}
