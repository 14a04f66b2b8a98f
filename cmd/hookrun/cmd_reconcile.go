package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/repoindex"
	"github.com/hookrun/hookrun/internal/report"
)

func cmdReconcile() *command {
	return withOptions(&command{
		name:    "reconcile",
		summary: "record and notify the outcome of every unit nothing else will (run by a timer)",
		usage:   "[--repo DIR]",
		help: `Every unit a push meant to start ends in a recorded, notified outcome, whatever
dies on the way. A unit's outcome is normally recorded and notified by its
ExecStopPost ('hookrun notify'); when the process that would do it is gone
(the push's hook was killed before handing units over, the manager was
stopped or killed, the machine rebooted), this records one: "not started"
or "lost", or the job's own end where hookrun exec recorded it, and notifies
it (or completes its push's digest). It also sends the notifications a push
left in its outbox that no 'hookrun deliver' sent. Units whose manager
cannot be asked are left for a later run.

'hookrun install' sets up a systemd user timer, hookrun-reconcile.timer,
that runs it every 2 minutes and at boot (see docs/operations.md); units
that end also reconcile their repository's abandoned units. 'hookrun status'
shows what the last run found. Without --repo it goes over every repository
hookrun has run in on this server.`,
		exits: []exitDoc{{"0", "done, even when some units were left for later"}, {"1", "a state could not be read or recorded, or the index of repositories could not be read"}, {"2", "usage error"}},
	}, func(fs *pflag.FlagSet, o *reconcileOptions) {
		defineRepo(fs, &o.repo, "bare repository `dir` to reconcile (default: every repository hookrun knows)")
	}, runReconcile)
}

// reconcileOptions are the flags of reconcile.
type reconcileOptions struct {
	repo string
}

func runReconcile(a *app, fs *pflag.FlagSet, o *reconcileOptions) error {
	if fs.NArg() != 0 {
		return usagef("no arguments; name a repository with --repo")
	}
	var repos []string
	if flag := o.repo; flag != "" {
		repo := repoDir(a, flag)
		if err := checkRepository(repo); err != nil {
			return err
		}
		repos = []string{repo}
	} else {
		var err error
		if repos, err = repoindex.List(repoindex.Path(a.getenv)); err != nil {
			return fmt.Errorf("cannot read the index of repositories: %v", err)
		}
	}
	view := report.ManagerView(a.getenv, a.stderr)
	failed := false
	for _, repo := range repos {
		if !a.rep().Reconcile(repo, view, true) {
			failed = true
		}
	}
	if failed {
		return errReported
	}
	return nil
}
