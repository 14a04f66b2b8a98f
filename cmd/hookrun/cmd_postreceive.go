package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/plan"
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
	c, repoPath, ups := in.config, in.repoPath, in.updates
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
	return a.reportStarts(repoPath, p.Units, errs)
}

// summaryOver is the number of units above which the pusher sees a summary
// instead of one line per unit: `git push` prints every line.
const summaryOver = 20

// maxErrorLines is how many start errors a summary shows.
const maxErrorLines = 5

// reportStarts tells the pusher what started: one line per unit, or for a
// big push a summary by job with the first few errors; every unit, started
// or not, is in `hookrun status`.
func (a *app) reportStarts(repoPath string, units []*plan.Unit, errs []error) error {
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	if len(units) <= summaryOver {
		// One line per problem: jobs that failed the same way (a manager
		// that cannot be reached) share it.
		var order []string
		byErr := map[string][]*plan.Unit{}
		for i, u := range units {
			if errs[i] != nil {
				e := errs[i].Error()
				if byErr[e] == nil {
					order = append(order, e)
				}
				byErr[e] = append(byErr[e], u)
				continue
			}
			where := ""
			if u.Host != nil {
				where = " on host " + u.Host.Name
			}
			a.infof("started %s: %s for %s%s; logs: %s", u.Name, u.Job, refList(u), where, logsCommand(u))
		}
		for _, e := range order {
			us := byErr[e]
			if len(us) == 1 {
				a.errorf("job %s (%s): not started: %s", us[0].Job, refList(us[0]), e)
				continue
			}
			var jobs, refs []string
			for _, u := range us {
				jobs = append(jobs, u.Job)
				refs = append(refs, refList(u))
			}
			a.errorf("jobs %s (%s): not started: %s", strings.Join(dedupe(jobs), ", "), strings.Join(dedupe(refs), ", "), e)
		}
	} else {
		var jobs []string
		started := map[string]int{}
		shown := 0
		for i, u := range units {
			if _, ok := started[u.Job]; !ok {
				jobs = append(jobs, u.Job)
				started[u.Job] = 0
			}
			if errs[i] == nil {
				started[u.Job]++
			} else if shown < maxErrorLines {
				shown++
				a.errorf("job %s (%s): not started: %v", u.Job, refList(u), errs[i])
			}
		}
		if failed > shown {
			a.errorf("%d more units did not start; hookrun status lists each with its error", failed-shown)
		}
		var parts []string
		for _, j := range jobs {
			parts = append(parts, fmt.Sprintf("%s %d", j, started[j]))
		}
		a.infof("started %d of %d units (%s); see them with: hookrun status %s", len(units)-failed, len(units), strings.Join(parts, ", "), quoteArg(repoPath))
	}
	if failed > 0 {
		if failed == len(units) {
			a.hintf("none of the %d jobs started", failed)
		} else {
			a.hintf("%d of %d jobs did not start; the others run", failed, len(units))
		}
		return errReported
	}
	return nil
}

func refList(u *plan.Unit) string {
	if len(u.Refs) == 1 {
		return u.Refs[0].Ref
	}
	return fmt.Sprintf("%d refs", len(u.Refs))
}
