package main

import (
	"os"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/unit"
)

func cmdNotify() *command {
	return &command{
		name:    "notify",
		summary: "internal: report a finished unit (a unit's ExecStopPost)",
		usage:   "PLAN",
		help: `Runs as the unit's ExecStopPost, for every outcome: decides the outcome from
what 'hookrun exec' recorded and from $SERVICE_RESULT, $EXIT_CODE and
$EXIT_STATUS, records it for 'hookrun status', and publishes it to ntfy when
the plan's [notify] settings ask for it. The token comes from token_file or
HOOKRUN_NTFY_TOKEN and is never printed. A failed delivery is logged and
recorded, and never changes the job's result (exit status 0).`,
		exits: []exitDoc{{"0", "always, even when delivery failed (the job's result stands)"}, {"2", "usage error"}},
		run:   runNotify,
	}
}

func runNotify(a *app, fs *pflag.FlagSet) error {
	if fs.NArg() != 1 {
		return usagef("want the path of one plan")
	}
	svc := &unit.Service{Result: a.getenv("SERVICE_RESULT"), Code: a.getenv("EXIT_CODE"), Status: a.getenv("EXIT_STATUS")}
	// A unit names a plan path that is not UTF-8 in plan.EncodeString form
	// (D-Bus strings must be UTF-8); any other path is its own encoding.
	path := plan.DecodeString(fs.Arg(0))
	// The outcome and delivery lines belong in the unit's log beside the
	// job's output, as with the exec runner.
	if _, err := os.Stat(path); err == nil {
		s, name := unit.StoreOf(path)
		// A few lines past the log's bound: appended, never cut.
		if lf := a.teeLog(&plan.Unit{RepoPath: s.RepoPath, Name: name, Limits: plan.Limits{LogMax: plan.Infinity}}); lf != nil {
			defer lf.Close()
		}
	}
	a.rep().Finish(path, svc)
	s, _ := unit.StoreOf(path)
	a.rep().ReconcileAfter(s.RepoPath)
	return nil // never fail the unit over its report
}
