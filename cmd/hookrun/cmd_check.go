package main

import (
	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/policy"
)

func cmdCheck() *command {
	return withOptions(&command{
		name:    "check",
		summary: "check the [[policy]] tables against commits already in a repository",
		usage:   "--ref REF [--old SHA] [--new SHA] [--repo DIR] [--file FILE]",
		help: `Evaluates the policies as the pre-receive hook would for an update of REF
from --old to --new (default: the ref's tip over its parent; the ref's whole
history with --old 0), reading the commits between them from the
repository. Use it to try a regexp or a new policy on real history before
enabling it: --file names a config that need not be installed yet. Every
violation is printed, one line each, as a pusher would see it. Check jobs
are listed, not run.`,
		exits: []exitDoc{{"0", "no policy refuses the update"}, {"1", "a policy refuses it, or the config is invalid"}, {"2", "usage error, unreadable config file, or a ref not in the repository"}},
	}, func(fs *pflag.FlagSet, o *updateOptions) {
		o.define(fs, "refname to check, e.g. refs/heads/main or main",
			"old object name (default: the parent of --new; 0 for the ref's whole history)",
			"new object name (default: the ref's tip)")
	}, runCheck)
}

// updateOptions are the flags plan and check share: the repository, its
// config, and one ref update (--ref, --old, --new), which each reads its
// own way.
type updateOptions struct {
	repo          string
	config        configFlags
	ref, old, new string
}

func (o *updateOptions) define(fs *pflag.FlagSet, refUsage, oldUsage, newUsage string) {
	defineRepo(fs, &o.repo, repoUsage)
	o.config.defineFile(fs)
	o.config.define(fs)
	fs.StringVar(&o.ref, "ref", "", refUsage)
	fs.StringVar(&o.old, "old", "", oldUsage)
	fs.StringVar(&o.new, "new", "", newUsage)
}

func runCheck(a *app, fs *pflag.FlagSet, o *updateOptions) error {
	ref, old, new := o.ref, o.old, o.new
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if ref == "" {
		return usagef("--ref is required")
	}
	repoPath := repoDir(a, o.repo)
	c, file, err := loadNamedConfig(a, o.config.source(a, repoPath))
	if err != nil {
		return err
	}
	if c == nil {
		return errReported
	}
	if len(c.Policies) == 0 {
		a.infof("no [[policy]] tables in %s or the global config: nothing to check", file)
		return nil
	}
	u, err := gitx.ExistingUpdate(repoPath, ref, old, new)
	if err != nil {
		return usagef("%v", err)
	}
	rep, err := policy.Judge(repoPath, c, []match.RefUpdate{u}, true, match.PushCert{}, match.PusherFromEnv(a.getenv))
	if err != nil {
		return err
	}
	rep.Print(a.stdout)
	if len(rep.Violations) > 0 {
		return errReported
	}
	return nil
}
