package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/digest"
	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/job"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/repoindex"
	"github.com/hookrun/hookrun/internal/unit"
)

// Push-time failures: a push whose config is invalid or unsafe starts
// nothing, and one whose units the manager refused or could not be asked
// to start runs less than it should. The pusher sees it in `remote:` lines;
// these record it in the repository's history (so `hookrun status` shows
// it) and notify it, once per push, not once per job.

// PushStartedNothing records and notifies a push to repoPath that the
// config (src: config.Locate) stopped. ups may be nil (malformed input:
// nothing is known about the push).
func (r *Reporter) PushStartedNothing(repoPath string, ups []match.RefUpdate, src config.Source) {
	reason := "malformed hook input"
	var target *config.Notify
	switch {
	case config.CheckOwnership(src.Global) != nil:
		reason = "unsafe config: " + config.CheckOwnership(src.Global).Error()
	case config.CheckOwnership(src.Repo) != nil:
		reason = "unsafe config: " + config.CheckOwnership(src.Repo).Error()
		target = globalNotify(src)
	default:
		_, diags, err := src.Load()
		if err != nil {
			reason = "cannot read the config: " + err.Error()
		} else if errs := diagErrors(diags); len(errs) > 0 {
			reason = "invalid config: " + errs[0]
			if len(errs) > 1 {
				reason += fmt.Sprintf(" (and %d more; hookrun validate %s)", len(errs)-1, job.Arg(src.Repo))
			}
		}
		target = globalNotify(src)
	}
	rec := history.Record{Repo: gitx.RepoName(repoPath), Result: outcome.Failure, Reason: "nothing was started: " + reason, Start: r.Now()}
	if len(ups) > 0 {
		rec.Ref, rec.Short = ups[0].Name, plan.Ref{New: ups[0].New}.Short()
	}
	r.pushFailed(repoPath, rec, refNames(ups), target)
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

// NotStarted records and reports the units of a push that did not start
// (errs[i] set for units[i]): remote ones as their watcher would have,
// local ones in the history and their push's digest, and one
// notification per topic for those not in a digest.
func (r *Reporter) NotStarted(units []*plan.Unit, errs []error) {
	r.remoteNotStarted(units, errs)
	r.recordNotStarted(units, errs)
	r.notifyNotStarted(units, errs)
}

// recordNotStarted records the local units that did not start in the
// history (so `hookrun status` lists them with their error) and in their
// push's digest, sending the digest when they complete it.
func (r *Reporter) recordNotStarted(units []*plan.Unit, errs []error) {
	var recs []history.Record
	var repoPath string
	for i, u := range units {
		if errs[i] == nil || u.Host != nil { // remoteNotStarted records those
			continue
		}
		repoPath = u.RepoPath
		reason := "not started: " + errs[i].Error()
		due := u.Notify.Server != "" && notify.ShouldNotify(u.Notify.On, outcome.Failure)
		rec := history.Record{Unit: u.Name, Repo: u.Repo, Job: u.Job, Runner: string(u.Runner), Result: outcome.Failure, Reason: reason, Start: u.Created}
		if len(u.Refs) > 0 {
			rec.Ref, rec.Short = u.Refs[0].Ref, u.Refs[0].Short()
		}
		if len(u.Refs) > 1 {
			rec.Refs = len(u.Refs)
		}
		if u.Notify.Digest != "" && due || notifiedNotStarted(u, errs[i]) {
			rec.Ntfy = &outcome.Delivery{Output: outcome.Ntfy, State: outcome.Pending}
		}
		recs = append(recs, rec)
		if u.Notify.Digest == "" {
			continue
		}
		e := digest.Entry{Unit: u.Name, Job: u.Job, Ref: rec.Ref, Refs: len(u.Refs), Kind: outcome.Failure, Reason: reason, Notify: due}
		entries, send, err := digest.Record(u.Notify.Digest, e)
		if err != nil {
			r.warnf("%v", err)
		} else if send {
			// Every started unit of the digest has ended already.
			defer r.SendDigest(u, entries)
		}
	}
	if len(recs) > 0 {
		if err := history.AppendAll(layout.History(repoPath), recs); err != nil {
			r.warnf("cannot record the units that did not start: %v", err)
		}
	}
	// Their outcome goes to the outputs too (from the push: the site only).
	for i, u := range units {
		if errs[i] != nil && u.Host == nil && u.Outputs != nil {
			r.deliverOutputs(&unit.Finished{Plan: u}, notify.Outcome{Kind: outcome.Failure, Reason: "not started: " + errs[i].Error()}, "")()
		}
	}
}

// remoteNotStarted records and reports each unit that could not start on
// its host as its watcher would have: history, notification (or its place
// in the push's digest). A host being down is news the operator wants, and
// the pusher already has the one line saying so: what Finish says goes to
// the unit's log only.
func (r *Reporter) remoteNotStarted(units []*plan.Unit, errs []error) {
	for i, u := range units {
		if errs[i] == nil || u.Host == nil {
			continue
		}
		o := notify.Outcome{Kind: outcome.Failure, Reason: "not started on host " + u.Host.Name + ": " + errs[i].Error()}
		q := r.quiet(io.Discard)
		lf, err := AppendLog(u.RepoPath, u.Name)
		if err == nil {
			q.Log = lf
		}
		fin, err := unit.Unstarted(u, o, r.Now())
		if err != nil {
			q.warnf("cannot record the outcome: %v", err)
		}
		q.Report(fin)
		if lf != nil {
			lf.Close()
		}
	}
}

// notifyNotStarted sends one notification per topic for the units of a
// push that did not start (their records are written by recordNotStarted),
// out of the push's path (PostLetter); units in a digest are reported by
// it, and remote ones as their outcome.
func (r *Reporter) notifyNotStarted(units []*plan.Unit, errs []error) {
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
		for _, ref := range u.Refs {
			g.refs = append(g.refs, ref.Ref)
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
		for reason := range g.reason {
			reasons = append(reasons, reason)
		}
		sort.Strings(reasons)
		n := config.Notify{Server: g.n.Server, Topic: g.n.Topic, TokenFile: g.n.TokenFile}
		r.sendPushFailure(unit.Addressee{RepoPath: repoPath, Units: g.units}, repo, fmt.Sprintf("%s did not start (%s): %s", plural(len(g.jobs), "job"), strings.Join(Dedupe(g.jobs), ", "), strings.Join(reasons, "; ")), Dedupe(g.refs), &n, g.n)
	}
}

// notifiedNotStarted reports whether u, which did not start when err is
// set, is notified by notifyNotStarted.
func notifiedNotStarted(u *plan.Unit, err error) bool {
	// A remote unit that did not start is notified as its own outcome.
	return err != nil && u.Host == nil && u.Notify.Server != "" && u.Notify.Digest == "" && notify.ShouldNotify(u.Notify.On, outcome.Failure)
}

// pushFailed appends rec to the repository's history and notifies it.
func (r *Reporter) pushFailed(repoPath string, rec history.Record, refs []string, n *config.Notify) {
	send := n != nil && notify.ShouldNotify(config.Kinds(n.On), outcome.Failure)
	if send {
		rec.Ntfy = &outcome.Delivery{Output: outcome.Ntfy, State: outcome.Pending}
	}
	// Recorded first, so that the delivery finds the record to report in.
	if err := history.Append(layout.History(repoPath), rec); err != nil {
		r.warnf("cannot record the failed push: %v", err)
	} else if err := repoindex.Touch(repoindex.Path(r.Getenv), repoPath); err != nil {
		r.warnf("cannot update the index of repositories: %v", err)
	}
	if send {
		r.sendPushFailure(unit.Addressee{RepoPath: repoPath, PushStart: rec.Start, PushReason: rec.Reason}, rec.Repo, rec.Reason, refs, n, plan.Notify{RetryBudget: 0})
	}
}

// sendPushFailure publishes a failed push to n's topic: one message, the
// reason and the refs, and where to look; out of the push's path
// (PostLetter), reported against to.
func (r *Reporter) sendPushFailure(to unit.Addressee, repo, reason string, refs []string, n *config.Notify, pn plan.Notify) {
	var shown []string
	for _, ref := range refs {
		shown = append(shown, notify.DisplayRef(ref))
	}
	msg := reason
	if len(shown) > 0 {
		msg += "\npushed: " + strings.Join(shown, ", ")
	}
	msg += "\nsee: hookrun status " + job.Arg(to.RepoPath)
	if len(msg) > notify.MaxMessageBytes {
		msg = strings.ToValidUTF8(msg[:notify.MaxMessageBytes], "")
	}
	pn.Server, pn.Topic, pn.TokenFile = n.Server, n.Topic, n.TokenFile
	m := notify.Message{Topic: n.Topic, Title: fmt.Sprintf("❌ Git push to %s: jobs not started", repo), Message: msg, Priority: notify.PriorityHigh, Tags: []string{"hookrun", outcome.Failure.String()}}
	r.PostLetter(pn, m, to)
}

// Dedupe is s without repeats, in order of first appearance.
func Dedupe(s []string) []string {
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

// plural is "1 unit", "2 units".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
