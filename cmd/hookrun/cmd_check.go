package main

import (
	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/match"
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
	}, func(fs *pflag.FlagSet, o *checkOptions) {
		defineRepo(fs, &o.repo, repoUsage)
		o.config.defineFile(fs)
		o.config.define(fs)
		fs.StringVar(&o.ref, "ref", "", "refname to check, e.g. refs/heads/main or main")
		fs.StringVar(&o.old, "old", "", "old object name (default: the parent of --new; 0 for the ref's whole history)")
		fs.StringVar(&o.new, "new", "", "new object name (default: the ref's tip)")
	}, runCheck)
}

type checkOptions struct {
	repo          string
	config        configFlags
	ref, old, new string
}

func runCheck(a *app, fs *pflag.FlagSet, o *checkOptions) error {
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
	full, err := fullRefName(repoPath, ref)
	if err != nil {
		return err
	}
	if new == "" {
		// A ref not in the repository has no commits to check.
		if new, err = gitx.RevParse(repoPath, full); err != nil {
			return usagef("%s is not in %s; give --new SHA", full, repoPath)
		}
	} else if new, err = gitx.RevParse(repoPath, new); err != nil {
		return usagef("--new %s does not resolve in %s", new, repoPath)
	}
	switch {
	case old == "":
		if p, err := gitx.RevParse(repoPath, new+"~1"); err == nil {
			old = p
		} else {
			old = zeroID(new)
		}
	case old == "0":
		old = zeroID(new)
	default:
		if old, err = gitx.RevParse(repoPath, old); err != nil {
			return usagef("--old does not resolve in %s", repoPath)
		}
	}
	u, err := match.ParseRefLine(old + " " + new + " " + full)
	if err != nil {
		return usagef("%v", err)
	}
	rep, err := evaluatePolicies(repoPath, c, []match.RefUpdate{u}, true, match.PushCert{}, match.PusherFromEnv(a.getenv))
	if err != nil {
		return err
	}
	rep.print(a.stdout)
	if len(rep.Violations) > 0 {
		return errReported
	}
	return nil
}

func zeroID(like string) string {
	b := make([]byte, len(like))
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}
