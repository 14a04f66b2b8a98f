package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/planview"
	"github.com/hookrun/hookrun/internal/policy"
	"github.com/hookrun/hookrun/internal/resolve"
	"github.com/hookrun/hookrun/internal/runner"
)

func cmdPlan() *command {
	return withOptions(&command{
		name:    "plan",
		summary: "show which units a push would start, without starting any",
		usage:   "[--repo DIR] [--file FILE] [--ref REF [--old SHA] [--new SHA]] [--json] < ref-lines",
		help: `Reads post-receive ref lines ("<old> <new> <refname>") from standard input,
or takes one update from --ref/--old/--new, and prints for every rule whether
it matched and, for every unit that would start, its name, job, argv
(templates expanded), limits, environment and notification topic. It starts
nothing and needs no systemd. A signed push is checked with the push
certificate GIT_PUSH_CERT names, verified as the hook does; the pusher is
read from the variables the hook reads (HOOKRUN_PUSHER, GL_USERNAME, ...).
When the config has [[policy]] tables, it
also shows which apply to each ref and, for real object names, what they
would refuse, judged on the commits between old and new (see 'hookrun
check').`,
		exits: []exitDoc{{"0", "plan shown"}, {"1", "the config is invalid, or malformed input"}, {"2", "usage error or unreadable config file"}},
	}, func(fs *pflag.FlagSet, o *planOptions) {
		o.define(fs, "refname to simulate, e.g. refs/heads/main or main",
			"old object name for --ref (default: the parent of --new)",
			"new object name for --ref (default: the ref's tip, else a placeholder)")
		fs.BoolVar(&o.json, "json", false, "print the plan as JSON")
	}, runPlan)
}

type planOptions struct {
	updateOptions
	json bool
}

func runPlan(a *app, fs *pflag.FlagSet, o *planOptions) error {
	repoFlag, ref, old, new, asJSON := o.repo, o.ref, o.old, o.new, o.json
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	repoPath := repoDir(a, repoFlag)
	if repoFlag != "" {
		if err := checkRepository(repoPath); err != nil {
			return err
		}
	}
	c, _, err := loadNamedConfig(a, o.config.source(a, repoPath))
	if err != nil {
		return err
	}
	if c == nil {
		return errors.New("the config is invalid; nothing would start")
	}

	var ups []match.RefUpdate
	var anc match.Ancestry
	if ref != "" {
		u, explicit, err := gitx.SimulatedUpdate(repoPath, ref, old, new, func(s string) { a.infof("%s", s) })
		if err != nil {
			return usagef("%v", err)
		}
		ups = []match.RefUpdate{u}
		if explicit {
			anc = gitx.Ancestry{GitDir: repoPath}
		}
	} else {
		if old != "" || new != "" {
			return usagef("--old and --new go with --ref")
		}
		ups, err = match.ParseRefLines(a.stdin)
		if err != nil {
			return fmt.Errorf("malformed input:\n%v", err)
		}
		anc = gitx.Ancestry{GitDir: repoPath}
	}
	p, err := resolve.Resolve(c, resolve.Push{
		RepoPath: repoPath, Repo: gitx.RepoName(repoPath), Updates: ups,
		Cert: pushCert(a, repoPath, c.SignedRules(), nil, nil), Pusher: match.PusherFromEnv(a.getenv), Now: a.now(), Ancestry: anc, Changes: gitx.Changes{GitDir: repoPath}, Peel: peeler(repoPath),
		UnitName: runner.UnitName, Explain: true,
	})
	if err != nil {
		return err
	}
	var pols *policy.Report
	if len(c.Policies) > 0 {
		real := ref == "" || anc != nil
		if pols, err = policy.Judge(repoPath, c, ups, real, pushCert(a, repoPath, false, nil, nil), match.PusherFromEnv(a.getenv)); err != nil {
			a.warnf("policies not evaluated: %v", err)
			pols = &policy.Report{Decisions: policy.Decisions(c.Policies, ups)}
		}
	}
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			*plan.Push
			Policies *policy.Report `json:"policies,omitempty"`
		}{p, pols})
	}
	planview.Print(a.stdout, p)
	if pols != nil {
		fmt.Fprintln(a.stdout)
		pols.Print(a.stdout)
	}
	return nil
}
