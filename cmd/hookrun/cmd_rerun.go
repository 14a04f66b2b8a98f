package main

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/runner"
	"github.com/hookrun/hookrun/internal/unit"
)

func cmdRerun() *command {
	return withOptions(&command{
		name:    "rerun",
		summary: "run a finished unit's saved plan again, in a new unit",
		usage:   "[--repo DIR] UNIT",
		help: `Starts a new unit from the plan UNIT ran: the same argv, refs, object names,
environment, limits, concurrency and notifications, whatever the config
says now. Prints the new unit's name on stdout. UNIT is found as
'hookrun logs' finds it: in --repo, the current repository, or any
repository hookrun has run in. A unit that has not ended is not rerun; the
plans of old units are pruned (use 'hookrun run JOB --ref REF' then).`,
		exits: []exitDoc{{"0", "the new unit started"}, {"1", "no such unit, it has not ended, its plan is gone, or the new unit did not start"}, {"2", "usage error"}},
	}, func(fs *pflag.FlagSet, o *rerunOptions) {
		defineRepo(fs, &o.repo, repoSearchUsage)
	}, runRerun)
}

// rerunOptions are the flags of rerun.
type rerunOptions struct {
	repo string
}

func runRerun(a *app, fs *pflag.FlagSet, o *rerunOptions) error {
	if fs.NArg() != 1 {
		return usagef("name one unit (see 'hookrun status')")
	}
	name := fs.Arg(0)
	repoFlag := o.repo
	repo, err := a.findUnit(repoFlag, name)
	if err != nil {
		return err
	}
	if st, err := unit.Open(repo).Load(name); err == nil && st.Phase != unit.Ended {
		return fmt.Errorf("%s has not ended (%s): rerun runs finished units; follow it with 'hookrun logs -f %s'", name, st.Phase, name)
	}
	u, err := plan.Load(layout.Plan(repo, name))
	if errors.Is(err, iofs.ErrNotExist) {
		return fmt.Errorf("the plan of %s is gone (only the latest %d ended units keep theirs): start the job again with 'hookrun run --repo %s JOB --ref REF'", name, unit.KeepEnded, quoteArg(repo))
	}
	if err != nil {
		return err
	}
	now := a.now()
	u.Created, u.Seq, u.Notify.Digest = now, 0, ""
	u.Name = runner.UnitName(u.Job, u.Repo, now)
	u.Env = slices.Clone(u.Env)
	for i, e := range u.Env {
		if strings.HasPrefix(e, "HOOKRUN_UNIT=") {
			u.Env[i] = "HOOKRUN_UNIT=" + u.Name
		}
	}
	a.infof("rerunning %s as %s", name, u.Name)
	return a.startByHand(u)
}
