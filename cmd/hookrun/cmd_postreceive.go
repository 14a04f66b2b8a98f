package main

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/report"
	"github.com/hookrun/hookrun/internal/resolve"
	"github.com/hookrun/hookrun/internal/runner"
)

func cmdPostReceive() *command {
	return withOptions(&command{
		name:    "post-receive",
		summary: "the git hook: start a unit for every job the pushed refs match",
		usage:   "< ref-lines",
		help: `Run by git through hooks/post-receive (a file whose "#!" line names hookrun; see
'hookrun install').
Reads "<old> <new> <refname>" lines, loads the global config and
$GIT_DIR/hooks.toml, and starts one systemd transient unit per matched job
(or per push for per = "push" jobs), then returns without waiting for them.
Invalid config or malformed input starts nothing and exits non-zero. When no
rule matches, no connection to systemd is opened at all.`,
		exits: []exitDoc{{"0", "every matched unit started, or nothing to start"}, {"1", "invalid or unsafe config, malformed input, or a unit not started (git prints the output; the push itself stands)"}, {"2", "usage error"}},
	}, defineHook, runPostReceive)
}

func runPostReceive(a *app, fs *pflag.FlagSet, o *configFlags) error {
	if a.getenv("HOOKRUN_ACTIVE") == "1" {
		a.infof("push made by a hookrun job (HOOKRUN_ACTIVE=1): starting nothing, to avoid a loop")
		return nil
	}
	// Notifications go out of the push's path (postLetter), all handed
	// over at the end.
	a.inPush, a.holdLetters = true, true
	defer a.flushLetters()
	in, err := readHookInput(a, o, "post-receive", "nothing was started", nil)
	if err != nil {
		a.pushStartedNothing(o, in)
		return err
	}
	c, repoPath, ups := in.Config, in.RepoPath, in.Updates
	if c.Global == nil && c.Repo == nil {
		return nil // hookrun installed, nothing configured yet
	}
	p, err := resolve.Resolve(c, resolve.Push{
		RepoPath: repoPath, Repo: gitx.RepoName(repoPath), Updates: ups,
		Cert: pushCert(a, repoPath, signedRules(c), nil, nil), Pusher: match.PusherFromEnv(a.getenv), Now: a.now(), Ancestry: gitx.Ancestry{GitDir: repoPath}, Changes: gitx.Changes{GitDir: repoPath},
		Peel: peeler(repoPath), UnitName: runner.UnitName, Getenv: a.getenv,
	})
	if err != nil {
		return fmt.Errorf("%v; nothing was started", err)
	}
	if len(p.Units) == 0 {
		return nil
	}
	ctx := context.Background() // no deadline for the push: see unit.CallTimeout
	l := a.launcher()
	defer l.Close()
	l.Dial(ctx, p.Units) // the manager takes milliseconds to answer: meanwhile, the index and digests
	a.indexRepo(repoPath)
	// Units of this push that notify the same topic, when many, report
	// into one digest, held while this hook lives.
	release, err := report.AssignDigests(repoPath, p.Units, a.now())
	if err != nil {
		a.warnf("%v; those units notify one by one", err)
	}
	defer release()
	errs := l.Launch(ctx, p.Units)
	a.rep().NotStarted(p.Units, errs)
	failed := report.Starts(a.stderr, repoPath, p.Units, errs)
	switch {
	case failed == 0:
		return nil
	case failed == len(p.Units):
		a.hintf("none of the %d jobs started", failed)
	default:
		a.hintf("%d of %d jobs did not start; the others run", failed, len(p.Units))
	}
	return errReported
}
