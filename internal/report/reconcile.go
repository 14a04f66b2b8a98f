package report

// Reconciling (hookrun reconcile, and the units that end): recording and
// reporting the units nothing else will, closing push digests that can no
// longer complete, delivering the letters left in outboxes. The logic is
// internal/unit's (Store.Reconcile) and internal/notify's (Deliver); this
// wires them to the reports.

import (
	"context"
	"io"
	"time"

	"github.com/hookrun/hookrun/internal/digest"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/remote"
	"github.com/hookrun/hookrun/internal/runner"
	"github.com/hookrun/hookrun/internal/unit"
)

// reconcileEvery is how often the units that end in a repository look
// for its abandoned ones (unit.Store.ReconcileDue).
const reconcileEvery = 10 * time.Second

// ReconcileAfter is run by a unit that ended (its ExecStopPost, or the exec
// runner's own process): it records the repository's units that nothing
// else will, such as those its push's killed hook never handed over, and
// sends their notifications (its own report has gone out already). Quiet:
// the unit's log is its own.
func (r *Reporter) ReconcileAfter(repo string) {
	s := unit.Open(repo)
	s.Now = r.Now
	if !s.ReconcileDue(reconcileEvery) {
		return
	}
	var held []string
	q := r.quiet(io.Discard)
	q.InPush, q.Held = true, &held
	q.reconcile(repo, nil, false, false)
	// Sent from here, not by a detached `hookrun deliver`: the unit's
	// processes are killed when its ExecStopPost ends. Letters this process
	// cannot send before it is stopped stay in the outbox for the timer.
	for _, path := range held {
		q.DeliverLetter(path)
	}
}

// Reconcile records and reports the units of repo that nothing else will
// (unit.Store.Reconcile), closes its digests that can no longer complete,
// corrects "lost contact" outcomes a host has since recorded, and delivers
// the letters left in its outbox; it reports whether every state could be
// read and recorded. say prints what it did.
func (r *Reporter) Reconcile(repo string, view unit.ManagerView, say bool) bool {
	return r.reconcile(repo, view, say, true)
}

// reconcile is Reconcile; outbox says whether to deliver the letters of
// the outbox too.
func (r *Reporter) reconcile(repo string, view unit.ManagerView, say, outbox bool) bool {
	s := unit.Open(repo)
	s.Now = r.Now
	fins, rep := s.Reconcile(view)
	for _, fin := range fins {
		r.Report(fin)
	}
	closed := r.closeDigests(s)
	if view != nil { // the full pass (hookrun reconcile), not a unit's end
		r.correctLostContact(s)
	}
	for _, d := range rep.Damaged {
		r.errorf("%s: %s", repo, d)
	}
	var letters []string
	if outbox {
		letters, _ = unit.Outbox(repo).Pending()
	}
	for _, path := range letters {
		r.DeliverLetter(path)
	}
	if say && (len(fins) > 0 || len(letters) > 0 || closed > 0) {
		r.infof("%s: recorded the outcome of %s nothing else would, closed %s, sent %s left in its outbox", repo, plural(len(fins), "unit"), plural(closed, "digest"), plural(len(letters), "notification"))
	}
	if err := unit.SaveReconciled(repo, rep); err != nil {
		r.warnf("%s: cannot record what reconcile found: %v", repo, err)
	}
	return len(rep.Damaged) == 0
}

// correctLostContact asks the host of each remote unit of s recorded as
// "lost contact" whether it recorded the unit's end itself since; where it
// did, that outcome replaces "lost contact" (unit.Store.Correct) and is
// notified once more, as a follow-up.
func (r *Reporter) correctLostContact(s *unit.Store) {
	for _, st := range s.LostContact() {
		u, err := plan.Load(layout.Plan(s.RepoPath, st.Unit))
		if err != nil || u.Host == nil || u.Host.Mirror == "" {
			continue
		}
		h := remote.HostOf(u.Host)
		site := &remote.Site{Host: h, Mirror: u.Host.Mirror}
		ctx, cancel := context.WithTimeout(context.Background(), 2*remote.ConnectTimeout)
		out, err := h.Output(ctx, "cat", "--", site.HistoryPath())
		cancel()
		if err != nil {
			continue // still out of reach: next time
		}
		rec, ok := remote.FindRecord(out, st.Unit)
		if !ok || !rec.Result.Valid() {
			continue
		}
		fin, err := s.Correct(st.Unit, unit.Outcome{Kind: rec.Result, Reason: rec.Reason, Duration: rec.Duration})
		if err != nil {
			r.errorf("%v", err)
			continue
		}
		if fin != nil {
			r.Report(fin)
		}
	}
}

// digestQuiet is how long a digest must have had no new entry before
// reconcile closes it.
const digestQuiet = 30 * time.Second

// closeDigests sends the push digests of s's repository that can no
// longer complete: no unit of theirs is still to end and their push's hook
// is gone (digest.Close), so some units of the push were never saved. The
// digest counts them ("never saved"). It returns how many it closed.
func (r *Reporter) closeDigests(s *unit.Store) int {
	live := s.LiveDigests()
	n := 0
	for dir, changed := range digest.Open(layout.Dir(s.RepoPath)) {
		// A unit that has just ended may be about to record its entry.
		if live[dir] || r.Now().Sub(changed) < digestQuiet {
			continue
		}
		entries, missing, ok, err := digest.Close(dir)
		if err != nil {
			r.errorf("%v", err)
		}
		if !ok {
			continue
		}
		var u *plan.Unit
		for _, e := range entries {
			if p, err := plan.Load(layout.Plan(s.RepoPath, e.Unit)); err == nil {
				u = p
				break
			}
		}
		if u == nil {
			r.errorf("push digest %s: none of its %s has a plan left to say where to notify; removed", dir, plural(len(entries), "unit"))
			_ = digest.Remove(dir)
			continue
		}
		for range missing {
			entries = append(entries, digest.Entry{Job: "(never saved: the push's hook died)", Kind: outcome.Failure, Notify: true})
		}
		r.SendDigest(u, entries)
		n++
	}
	return n
}

// ManagerView asks the systemd managers, once each and only when a unit
// needs it, which units they know. What it cannot reach it says on log.
func ManagerView(getenv func(string) string, log io.Writer) unit.ManagerView {
	r := &Reporter{Log: log}
	type answer struct {
		reached bool
		known   map[string]bool
	}
	asked := map[plan.Manager]*answer{}
	return func(st *unit.State) (bool, bool) {
		m := st.Manager
		if m == "" {
			m = plan.ManagerUser
		}
		ans := asked[m]
		if ans == nil {
			ans = &answer{known: map[string]bool{}}
			asked[m] = ans
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := runner.DialSystemd(ctx, string(m), getenv)
			if err == nil {
				var units []runner.Unit
				units, err = c.Units(ctx)
				c.Close()
				if err == nil {
					ans.reached = true
					for _, u := range units {
						ans.known[u.Name] = true
					}
				}
			}
			if err != nil {
				r.infof("systemd %s manager: %v; its units are given up only %s after their last sign of life", m, err, unit.StartGrace)
			}
		}
		return ans.reached, ans.known[st.Unit]
	}
}
