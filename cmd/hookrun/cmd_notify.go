package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/plan"
)

func init() {
	register(&command{
		name:    "notify",
		summary: "internal: report a finished unit (a unit's ExecStopPost)",
		usage:   "PLAN",
		help: `Runs as the unit's ExecStopPost, for every outcome: reads $SERVICE_RESULT,
$EXIT_CODE and $EXIT_STATUS, records the outcome for 'hookrun status', and
publishes it to ntfy when the plan's [notify] settings ask for it. The token
comes from token_file or HOOKRUN_NTFY_TOKEN and is never printed. A failed
delivery is logged and never changes the job's result (exit status 0).`,
		run: runNotify,
	})
}

func runNotify(a *app, fs *pflag.FlagSet) error {
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: want the path of one plan", errUsage)
	}
	path := fs.Arg(0)
	u, err := plan.Load(path)
	if err != nil {
		a.errorf("%v", err)
		return nil // never fail the unit over its report
	}
	start := startedAt(path, u.Created)
	o := notify.FromService(a.getenv("SERVICE_RESULT"), a.getenv("EXIT_CODE"), a.getenv("EXIT_STATUS"), u.Limits.Timeout, u.Limits.MemoryMax)
	o.Duration = a.now().Sub(start)
	a.finish(u, path, o, start)
	return nil
}

func marked(planPath, marker string) bool {
	_, err := os.Stat(planPath + "." + marker)
	return err == nil
}

// finish records and publishes a unit's outcome, then removes its plan.
func (a *app) finish(u *plan.Unit, planPath string, o notify.Outcome, start time.Time) {
	switch {
	case marked(planPath, "cancelled"):
		d := o.Duration
		o = notify.CancelledOutcome("replaced by a newer push")
		o.Duration = d
	case marked(planPath, "timedout") && o.Kind != notify.Success:
		d := o.Duration
		o = notify.FromService("timeout", "killed", "TERM", u.Limits.Timeout, 0)
		o.Duration = d
	}
	if step, err := os.ReadFile(planPath + ".step"); err == nil && o.Kind == notify.Failure {
		o.Reason += " in step " + string(step)
	}
	rec := history.Record{
		Unit: u.Name, Repo: u.Repo, Job: u.Job, Runner: u.Runner, Result: string(o.Kind),
		Reason: o.Reason, Start: start, Duration: o.Duration,
	}
	if len(u.Refs) > 0 {
		rec.Ref, rec.Short = u.Refs[0].Ref, u.Refs[0].Short()
	}
	if err := history.Append(plan.HistoryPath(u.RepoPath), rec); err != nil {
		a.warnf("cannot record outcome: %v", err)
	}
	history.PruneDir(filepath.Dir(plan.LogPath(u.RepoPath, u.Name)), history.Keep)
	defer func() {
		for _, p := range []string{planPath, planPath + ".started", planPath + ".cancelled", planPath + ".timedout", planPath + ".pid", planPath + ".step"} {
			os.Remove(p)
		}
	}()
	a.infof("%s %s: %s after %s %s", u.Name, u.Job, o.Kind, notify.FormatDuration(o.Duration), o.Reason)
	if u.Notify.Server == "" || !notify.ShouldNotify(u.Notify.On, o.Kind) {
		return
	}
	token, err := notify.LoadToken(u.Notify.TokenFile, a.getenv)
	if err != nil {
		a.errorf("notification not sent: %v", err)
		return
	}
	d := notify.Details{Job: u.Job, Repo: u.Repo, Signer: u.Signer, Unit: u.Name, LogsHint: logsCommand(u), Topic: u.Notify.Topic, Click: u.Notify.Click}
	for _, r := range u.Refs {
		d.Refs = append(d.Refs, r.Ref)
	}
	if len(u.Refs) > 0 {
		d.Short = u.Refs[0].Short()
	}
	c := &notify.Client{Server: u.Notify.Server, Token: token, Log: a.stderr}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Publish(ctx, notify.Build(d, o)); err != nil {
		a.errorf("notification not delivered: %v", err)
		return
	}
	a.infof("notified topic %s", u.Notify.Topic)
}
