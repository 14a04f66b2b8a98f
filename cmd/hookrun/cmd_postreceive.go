package main

import (
	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/push"
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
	return reportedAs(push.Run(push.Options{Stdin: a.stdin, Log: a.stderr, Getenv: a.getenv, Now: a.now, Self: a.self,
		Source:   func(repoPath string) config.Source { return o.source(a, repoPath) },
		Failures: pushFailures{a}}))
}

// pushFailures reports a push's failures in this process (internal/report),
// as a push does: notifications go out of its path, as letters handed to
// `hookrun deliver` (report.Reporter.Flush).
type pushFailures struct{ a *app }

func (f pushFailures) StartedNothing(repoPath string, ups []match.RefUpdate, src config.Source) {
	r := f.a.pushReporter()
	r.PushStartedNothing(repoPath, ups, src)
	r.Flush()
}

func (f pushFailures) NotStarted(units []*plan.Unit, errs []error) {
	r := f.a.pushReporter()
	r.NotStarted(units, errs)
	r.Flush()
}
