package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/resolve"
	"github.com/hookrun/hookrun/internal/runner"
	"github.com/hookrun/hookrun/internal/suggest"
)

func cmdRun() *command {
	return withOptions(&command{
		name:    "run",
		summary: "start a job by hand for a ref's current tip, as a push would",
		usage:   "[--repo DIR] [--ref REF] JOB",
		help: `Starts JOB for the current tip of REF (default: the branch HEAD names) with
the same plan, unit, limits, concurrency and notifications as a push of
that ref, whatever the rules say; {event} and HOOKRUN_EVENT are "manual".
Prints the unit's name on stdout; follow it with 'hookrun logs -f UNIT'.
The config is checked as the hook checks it: an invalid or unsafe config
starts nothing.`,
		exits: []exitDoc{{"0", "the unit started"}, {"1", "invalid or unsafe config, no such job or ref, or the unit did not start"}, {"2", "usage error, or DIR does not exist"}},
	}, func(fs *pflag.FlagSet, o *runOptions) {
		defineRepo(fs, &o.repo, repoUsage)
		fs.StringVar(&o.ref, "ref", "", "branch or tag to run for, e.g. main, v1.0 or refs/heads/main (default: HEAD's branch)")
		defineHook(fs, &o.config)
	}, runRun)
}

type runOptions struct {
	repo, ref string
	config    configFlags
}

func runRun(a *app, fs *pflag.FlagSet, o *runOptions) error {
	if fs.NArg() != 1 {
		return usagef("name one job")
	}
	job := fs.Arg(0)
	repoFlag, ref := o.repo, o.ref
	repoPath := repoDir(a, repoFlag)
	if err := checkRepository(repoPath); err != nil {
		return err
	}
	if !gitx.IsRepository(repoPath) {
		return notARepository(a, repoPath, repoFlag)
	}
	src := o.config.source(a, repoPath)
	repoFile := src.Repo
	if err := a.checkConfigSafety(src, "nothing was started", nil); err != nil {
		return err
	}
	c, diags, err := src.Load()
	if err != nil {
		return unreadable(err)
	}
	if diags.HasErrors() {
		for _, d := range diags {
			if d.Severity == config.Error {
				fmt.Fprintf(a.stderr, "hookrun: %s\n", d)
			}
		}
		a.hintf("fix the config (check it with: hookrun validate %s); nothing was started", quoteArg(repoFile))
		return errReported
	}
	if c.Jobs[job] == nil {
		names := make([]string, 0, len(c.Jobs))
		for n := range c.Jobs {
			names = append(names, n)
		}
		if m := suggest.Nearest(job, names); m != "" {
			return fmt.Errorf("no job %q in the config (did you mean %q?)", job, m)
		}
		return fmt.Errorf("no job %q in the config; see 'hookrun config --repo %s'", job, quoteArg(repoPath))
	}
	if ref == "" {
		if ref, err = gitx.SymbolicHEAD(repoPath); err != nil {
			return fmt.Errorf("%v; name a ref with --ref", err)
		}
	}
	if ref, err = fullRefName(repoPath, ref); err != nil {
		return err
	}
	tip, err := gitx.RefObject(repoPath, ref)
	if err != nil {
		return fmt.Errorf("%s has no %s: 'hookrun run' starts a job for a ref's current tip", repoPath, ref)
	}
	old := strings.Repeat("0", len(tip))
	if parent, err := gitx.RevParse(repoPath, tip+"~1"); err == nil && !strings.HasPrefix(ref, "refs/tags/") {
		old = parent
	}
	u, err := resolve.Manual(c, resolve.Push{
		RepoPath: repoPath, Repo: gitx.RepoName(repoPath), Now: a.now(), Peel: peeler(repoPath), UnitName: runner.UnitName,
		Changes: gitx.Changes{GitDir: repoPath},
	}, job, match.RefUpdate{Old: old, New: tip, Name: ref})
	if err != nil {
		return err
	}
	return a.startByHand(u)
}
