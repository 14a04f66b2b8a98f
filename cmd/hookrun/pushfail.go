package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/unit"
)

// Push-time failures: a push whose config is invalid or unsafe starts
// nothing, and one whose units the manager refused or could not be asked
// to start runs less than it should. The pusher sees it in `remote:` lines;
// these record it in the repository's history (so `hookrun status` shows
// it) and notify it, once per push, not once per job.

// pushStartedNothing records and notifies a push that the config stopped.
// in may be nil (malformed input: nothing is known about the push).
func (a *app) pushStartedNothing(cf *configFlags, in *hookInput) {
	cwd := repoDir(a, "")
	repoPath := cwd
	var ups []match.RefUpdate
	if in != nil {
		repoPath, ups = in.repoPath, in.updates
	}
	src := cf.source(a, repoPath)
	globalPath, repoFile := src.Global, src.Repo
	reason := "malformed hook input"
	var target *config.Notify
	switch {
	case config.CheckOwnership(globalPath) != nil:
		reason = "unsafe config: " + config.CheckOwnership(globalPath).Error()
	case config.CheckOwnership(repoFile) != nil:
		reason = "unsafe config: " + config.CheckOwnership(repoFile).Error()
		target = globalNotify(src)
	default:
		_, diags, err := src.Load()
		if err != nil {
			reason = "cannot read the config: " + err.Error()
		} else if errs := diagErrors(diags); len(errs) > 0 {
			reason = "invalid config: " + errs[0]
			if len(errs) > 1 {
				reason += fmt.Sprintf(" (and %d more; hookrun validate %s)", len(errs)-1, quoteArg(repoFile))
			}
		}
		target = globalNotify(src)
	}
	rec := history.Record{Repo: gitx.RepoName(repoPath), Result: string(notify.Failure), Reason: "nothing was started: " + reason, Start: a.now()}
	if len(ups) > 0 {
		rec.Ref, rec.Short = ups[0].Name, plan.Ref{New: ups[0].New}.Short()
	}
	a.pushFailed(repoPath, rec, refNames(ups), target)
}

// globalNotify is the server-wide file's [notify], when that file alone
// loads and says where to send failures.
func globalNotify(src config.Source) *config.Notify {
	c, _, err := src.GlobalOnly().Load()
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
// push that did not start (their records are written by recordNotStarted),
// out of the push's path (postLetter); units in a digest are reported by
// it, and remote ones as their outcome.
func (a *app) notifyNotStarted(units []*plan.Unit, errs []error) {
	type group struct {
		n      plan.Notify
		jobs   []string
		units  []string
		refs   []string
		reason map[string]bool
	}
	groups := map[string]*group{}
	var order []string
	for i, u := range units {
		if !notifiedNotStarted(u, errs[i]) {
			continue
		}
		key := u.Notify.Server + "\x00" + u.Notify.Topic
		g := groups[key]
		if g == nil {
			g = &group{n: u.Notify, reason: map[string]bool{}}
			groups[key] = g
			order = append(order, key)
		}
		g.jobs = append(g.jobs, u.Job)
		g.units = append(g.units, u.Name)
		for _, r := range u.Refs {
			g.refs = append(g.refs, r.Ref)
		}
		g.reason[errs[i].Error()] = true
	}
	repoPath, repo := "", ""
	if len(units) > 0 {
		repoPath, repo = units[0].RepoPath, units[0].Repo
	}
	for _, key := range order {
		g := groups[key]
		reasons := make([]string, 0, len(g.reason))
		for r := range g.reason {
			reasons = append(reasons, r)
		}
		sort.Strings(reasons)
		n := config.Notify{Server: g.n.Server, Topic: g.n.Topic, TokenFile: g.n.TokenFile}
		a.sendPushFailure(unit.Addressee{RepoPath: repoPath, Units: g.units}, repo, fmt.Sprintf("%s did not start (%s): %s", plural(len(g.jobs), "job"), strings.Join(dedupe(g.jobs), ", "), strings.Join(reasons, "; ")), dedupe(g.refs), &n, g.n)
	}
}

// notifiedNotStarted reports whether u, which did not start when err is
// set, is notified by notifyNotStarted.
func notifiedNotStarted(u *plan.Unit, err error) bool {
	// A remote unit that did not start is notified as its own outcome.
	return err != nil && u.Host == nil && u.Notify.Server != "" && u.Notify.Digest == "" && notify.ShouldNotify(u.Notify.On, notify.Failure)
}

// pushFailed appends rec to the repository's history and notifies it.
func (a *app) pushFailed(repoPath string, rec history.Record, refs []string, n *config.Notify) {
	send := n != nil && notify.ShouldNotify(outcomes(n.On), notify.Failure)
	if send {
		rec.Notify = history.NotifyPending
	}
	// Recorded first, so that the delivery finds the record to report in.
	if err := history.Append(layout.History(repoPath), rec); err != nil {
		a.warnf("cannot record the failed push: %v", err)
	} else {
		a.indexRepo(repoPath)
	}
	if send {
		a.sendPushFailure(unit.Addressee{RepoPath: repoPath, PushStart: rec.Start, PushReason: rec.Reason}, rec.Repo, rec.Reason, refs, n, plan.Notify{RetryBudget: 0})
	}
}

func outcomes(on []config.Outcome) []string {
	out := make([]string, len(on))
	for i, o := range on {
		out[i] = string(o)
	}
	return out
}

// sendPushFailure publishes a failed push to n's topic: one message, the
// reason and the refs, and where to look; out of the push's path
// (postLetter), reported against to.
func (a *app) sendPushFailure(to unit.Addressee, repo, reason string, refs []string, n *config.Notify, pn plan.Notify) {
	var shown []string
	for _, r := range refs {
		shown = append(shown, notify.DisplayRef(r))
	}
	msg := reason
	if len(shown) > 0 {
		msg += "\npushed: " + strings.Join(shown, ", ")
	}
	msg += "\nsee: hookrun status " + quoteArg(to.RepoPath)
	if len(msg) > notify.MaxMessageBytes {
		msg = strings.ToValidUTF8(msg[:notify.MaxMessageBytes], "")
	}
	pn.Server, pn.Topic, pn.TokenFile = n.Server, n.Topic, n.TokenFile
	m := notify.Message{Topic: n.Topic, Title: fmt.Sprintf("❌ Git push to %s: jobs not started", repo), Message: msg, Priority: notify.PriorityHigh, Tags: []string{"hookrun", string(notify.Failure)}}
	a.postLetter(pn, m, to)
}

// postLetter sends m to n's topic out of the caller's path: a letter in
// the repository's outbox, delivered by a `hookrun deliver` process of its
// own, so a push never waits on ntfy (a missed one is delivered by
// `hookrun reconcile`). Where no letter can be written, m is sent here
// and now, once, rather than not at all.
func (a *app) postLetter(n plan.Notify, m notify.Message, to unit.Addressee) {
	l := notify.Letter{Server: n.Server, Topic: n.Topic, TokenFile: n.TokenFile, RetryBudget: n.RetryBudget, Message: m, Posted: a.now()}
	path, err := unit.Post(l, to)
	if err == nil && a.holdLetters {
		a.letters = append(a.letters, path)
		return
	}
	if err == nil {
		if err = notify.Spawn(a.self, path); err == nil {
			return
		}
		os.Remove(path)
	}
	a.warnf("%v; sending it now", err)
	l.RetryBudget = time.Nanosecond // one attempt: the push is waiting
	result := notify.Send(context.Background(), l, a.getenv, a.stderr)
	if err := unit.RecordLetter(unit.Address(l, to), result, a.now); err != nil {
		a.warnf("%v", err)
	}
	if result != notify.Delivered {
		a.errorf("notification of the failed push %s", result)
	}
}

// lettersPerDeliverer bounds the argument list of one `hookrun deliver`.
const lettersPerDeliverer = 200

// flushLetters hands the letters postLetter held to `hookrun deliver`
// processes; one that cannot start leaves its letters to `hookrun
// reconcile`.
func (a *app) flushLetters() {
	for len(a.letters) > 0 {
		n := min(len(a.letters), lettersPerDeliverer)
		if err := notify.Spawn(a.self, a.letters[:n]...); err != nil {
			a.warnf("%v; hookrun reconcile sends them", err)
		}
		a.letters = a.letters[n:]
	}
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
