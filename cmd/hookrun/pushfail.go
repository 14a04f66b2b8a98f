package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/plan"
)

// Push-time failures: a push whose config is invalid or unsafe starts
// nothing, and one whose units the manager refused or could not be asked
// to start runs less than it should. The pusher sees it in `remote:` lines;
// these record it in the repository's history (so `hookrun status` shows
// it) and notify it, once per push, not once per job.

// pushStartedNothing records and notifies a push that the config stopped.
// in may be nil (malformed input: nothing is known about the push).
func (a *app) pushStartedNothing(fs *pflag.FlagSet, in *hookInput) {
	cwd := repoDir(a, "")
	repoPath := cwd
	var ups []match.RefUpdate
	if in != nil {
		repoPath, ups = in.repoPath, in.updates
	}
	cfgFlag, _ := fs.GetString("config")
	globalPath, explicit := config.GlobalPath(cfgFlag, a.getenv)
	repoFile := filepath.Join(repoPath, "hooks.toml")
	reason := "malformed hook input"
	var target *config.Notify
	switch {
	case config.CheckOwnership(globalPath) != nil:
		reason = "unsafe config: " + config.CheckOwnership(globalPath).Error()
	case config.CheckOwnership(repoFile) != nil:
		reason = "unsafe config: " + config.CheckOwnership(repoFile).Error()
		target = globalNotify(globalPath, explicit)
	default:
		_, diags, err := config.Load(globalPath, explicit, repoFile)
		if err != nil {
			reason = "cannot read the config: " + err.Error()
		} else if errs := diagErrors(diags); len(errs) > 0 {
			reason = "invalid config: " + errs[0]
			if len(errs) > 1 {
				reason += fmt.Sprintf(" (and %d more; hookrun validate %s)", len(errs)-1, quoteArg(repoFile))
			}
		}
		target = globalNotify(globalPath, explicit)
	}
	rec := history.Record{Repo: gitx.RepoName(repoPath), Result: string(notify.Failure), Reason: "nothing was started: " + reason, Start: a.now()}
	if len(ups) > 0 {
		rec.Ref, rec.Short = ups[0].Name, plan.Ref{New: ups[0].New}.Short()
	}
	a.pushFailed(repoPath, rec, refNames(ups), target)
}

// globalNotify is the server-wide file's [notify], when that file alone
// loads and says where to send failures.
func globalNotify(path string, explicit bool) *config.Notify {
	c, _, err := config.Load(path, explicit, "")
	if err != nil || c == nil || c.Notify.Server == "" || c.Notify.Topic == "" {
		return nil
	}
	return &c.Notify
}

func diagErrors(ds config.Diagnostics) []string {
	var out []string
	for _, d := range ds {
		if d.Severity == config.Error {
			out = append(out, d.String())
		}
	}
	return out
}

func refNames(ups []match.RefUpdate) []string {
	var out []string
	for _, u := range ups {
		out = append(out, u.Name)
	}
	return out
}

// notifyNotStarted sends one notification per topic for the units of a
// push that did not start (their records are written by recordNotStarted);
// units in a digest are reported by it, and remote ones as their outcome.
func (a *app) notifyNotStarted(units []*plan.Unit, errs []error) {
	type group struct {
		n      plan.Notify
		jobs   []string
		refs   []string
		reason map[string]bool
	}
	groups := map[string]*group{}
	for i, u := range units {
		if errs[i] == nil || u.Notify.Server == "" || u.Notify.Digest != "" || !notify.ShouldNotify(u.Notify.On, notify.Failure) {
			continue
		}
		if u.Host != nil {
			continue // a remote unit that did not start is notified as its own outcome
		}
		key := u.Notify.Server + "\x00" + u.Notify.Topic
		g := groups[key]
		if g == nil {
			g = &group{n: u.Notify, reason: map[string]bool{}}
			groups[key] = g
		}
		g.jobs = append(g.jobs, u.Job)
		for _, r := range u.Refs {
			g.refs = append(g.refs, r.Ref)
		}
		g.reason[errs[i].Error()] = true
	}
	repoPath, repo := "", ""
	if len(units) > 0 {
		repoPath, repo = units[0].RepoPath, units[0].Repo
	}
	for _, g := range groups {
		reasons := make([]string, 0, len(g.reason))
		for r := range g.reason {
			reasons = append(reasons, r)
		}
		sort.Strings(reasons)
		n := config.Notify{Server: g.n.Server, Topic: g.n.Topic, TokenFile: g.n.TokenFile}
		a.sendPushFailure(repoPath, repo, fmt.Sprintf("%s did not start (%s): %s", plural(len(g.jobs), "job"), strings.Join(dedupe(g.jobs), ", "), strings.Join(reasons, "; ")), dedupe(g.refs), &n, g.n)
	}
}

// pushFailed appends rec to the repository's history and notifies it.
func (a *app) pushFailed(repoPath string, rec history.Record, refs []string, n *config.Notify) {
	if n != nil && notify.ShouldNotify(outcomes(n.On), notify.Failure) {
		rec.Notify = a.sendPushFailure(repoPath, rec.Repo, rec.Reason, refs, n, plan.Notify{RetryBudget: 0})
	}
	if err := history.Append(plan.HistoryPath(repoPath), rec); err != nil {
		a.warnf("cannot record the failed push: %v", err)
		return
	}
	a.indexRepo(repoPath)
}

func outcomes(on []config.Outcome) []string {
	out := make([]string, len(on))
	for i, o := range on {
		out[i] = string(o)
	}
	return out
}

// sendPushFailure publishes a failed push to n's topic: one message, the
// reason and the refs, and where to look.
func (a *app) sendPushFailure(repoPath, repo, reason string, refs []string, n *config.Notify, pn plan.Notify) string {
	var shown []string
	for _, r := range refs {
		shown = append(shown, notify.DisplayRef(r))
	}
	msg := reason
	if len(shown) > 0 {
		msg += "\npushed: " + strings.Join(shown, ", ")
	}
	msg += "\nsee: hookrun status " + quoteArg(repoPath)
	if len(msg) > notify.MaxMessageBytes {
		msg = strings.ToValidUTF8(msg[:notify.MaxMessageBytes], "")
	}
	pn.Server, pn.Topic, pn.TokenFile = n.Server, n.Topic, n.TokenFile
	m := notify.Message{Topic: n.Topic, Title: fmt.Sprintf("❌ Git push to %s: jobs not started", repo), Message: msg, Priority: notify.PriorityHigh, Tags: []string{"hookrun", string(notify.Failure)}}
	res := a.publish(&plan.Unit{Notify: pn}, m)
	if res != history.NotifyDelivered {
		a.errorf("notification of the failed push %s", res)
	}
	return res
}

func dedupe(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
