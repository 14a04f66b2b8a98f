package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/digest"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/repoindex"
	"github.com/hookrun/hookrun/internal/runner"
	"github.com/hookrun/hookrun/internal/unit"
)

func cmdReconcile() *command {
	return &command{
		name:    "reconcile",
		summary: "record and notify the outcome of every unit nothing else will (run by a timer)",
		usage:   "[--repo DIR]",
		help: `Every unit a push meant to start ends in a recorded, notified outcome, whatever
dies on the way. A unit's outcome is normally recorded and notified by its
ExecStopPost ('hookrun notify'); when the process that would do it is gone
(the push's hook was killed before handing units over, the manager was
stopped or killed, the machine rebooted), this records one: "not started"
or "lost", or the job's own end where hookrun exec recorded it, and notifies
it (or completes its push's digest). It also sends the notifications a push
left in its outbox that no 'hookrun deliver' sent. Units whose manager
cannot be asked are left for a later run.

'hookrun install' sets up a systemd user timer, hookrun-reconcile.timer,
that runs it every 2 minutes and at boot (see docs/operations.md); units
that end also reconcile their repository's abandoned units. 'hookrun status'
shows what the last run found. Without --repo it goes over every repository
hookrun has run in on this server.`,
		exits: []exitDoc{{"0", "done, even when some units were left for later"}, {"1", "a state could not be read or recorded, or the index of repositories could not be read"}, {"2", "usage error"}},
		flags: func(fs *pflag.FlagSet) {
			fs.String("repo", "", "bare repository `dir` to reconcile (default: every repository hookrun knows)")
		},
		run: runReconcile,
	}
}

// reconcileEvery is how often the units that end in a repository look
// for its abandoned ones (unit.Store.ReconcileDue).
const reconcileEvery = 10 * time.Second

// reconcileAfter is run by a unit that ended (its ExecStopPost, or the exec
// runner's own process): it records the repository's units that nothing
// else will, such as those its push's killed hook never handed over, and
// hands their notifications to `hookrun deliver` (its own report has gone
// out already). Quiet: the unit's log is its own.
func (a *app) reconcileAfter(repo string) {
	s := unit.Open(repo)
	s.Now = a.now
	if !s.ReconcileDue(reconcileEvery) {
		return
	}
	q := *a
	q.stdout, q.stderr = io.Discard, io.Discard
	q.inPush, q.holdLetters, q.letters = true, true, nil
	q.reconcile(repo, nil, false, false)
	// Sent from here, not by a detached `hookrun deliver`: the unit's
	// processes are killed when its ExecStopPost ends. Letters this process
	// cannot send before it is stopped stay in the outbox for the timer.
	for _, path := range q.letters {
		q.deliverLetter(path)
	}
}

// deliverLetter sends one letter of an outbox and records what became of
// it (notify.Deliver, unit.RecordLetter).
func (a *app) deliverLetter(path string) bool {
	err := notify.Deliver(context.Background(), path, a.getenv, a.stderr, func(l notify.Letter, result string) error {
		if result != notify.Delivered {
			a.errorf("notification to topic %s %s", l.Topic, result)
		}
		return unit.RecordLetter(l, result, a.now)
	})
	if err != nil && !errors.Is(err, notify.ErrBusy) {
		a.errorf("%v", err)
		return false
	}
	return true
}

func runReconcile(a *app, fs *pflag.FlagSet) error {
	if fs.NArg() != 0 {
		return usagef("no arguments; name a repository with --repo")
	}
	var repos []string
	if flag, _ := fs.GetString("repo"); flag != "" {
		repo := repoDir(a, flag)
		if err := checkRepository(repo); err != nil {
			return err
		}
		repos = []string{repo}
	} else {
		var err error
		if repos, err = repoindex.List(repoindex.Path(a.getenv)); err != nil {
			return fmt.Errorf("cannot read the index of repositories: %v", err)
		}
	}
	view := a.managerView()
	failed := false
	for _, repo := range repos {
		if !a.reconcileRepo(repo, view, true) {
			failed = true
		}
	}
	if failed {
		return errReported
	}
	return nil
}

// reconcileRepo records and reports the units of repo that nothing else
// will (unit.Store.Reconcile) and delivers the letters left in its outbox;
// it reports whether every state could be read and recorded. say prints
// what it did.
func (a *app) reconcileRepo(repo string, view unit.ManagerView, say bool) bool {
	return a.reconcile(repo, view, say, true)
}

// reconcile is reconcileRepo; outbox says whether to deliver the letters
// of the outbox too.
func (a *app) reconcile(repo string, view unit.ManagerView, say, outbox bool) bool {
	s := unit.Open(repo)
	s.Now = a.now
	fins, rep := s.Reconcile(view)
	for _, fin := range fins {
		a.report(fin)
	}
	closed := a.closeDigests(s)
	for _, d := range rep.Damaged {
		a.errorf("%s: %s", repo, d)
	}
	var letters []string
	if outbox {
		letters, _ = unit.Outbox(repo).Pending()
	}
	for _, path := range letters {
		a.deliverLetter(path)
	}
	if say && (len(fins) > 0 || len(letters) > 0 || closed > 0) {
		a.infof("%s: recorded the outcome of %s nothing else would, closed %s, sent %s left in its outbox", repo, plural(len(fins), "unit"), plural(closed, "digest"), plural(len(letters), "notification"))
	}
	if err := unit.SaveReconciled(repo, rep); err != nil {
		a.warnf("%s: cannot record what reconcile found: %v", repo, err)
	}
	return len(rep.Damaged) == 0
}

// digestQuiet is how long a digest must have had no new entry before
// reconcile closes it.
const digestQuiet = 30 * time.Second

// closeDigests sends the push digests of s's repository that can no
// longer complete: no unit of theirs is still to end and their push's hook
// is gone (digest.Close), so some units of the push were never saved. The
// digest counts them ("never saved"). It returns how many it closed.
func (a *app) closeDigests(s *unit.Store) int {
	live := s.LiveDigests()
	n := 0
	for dir, changed := range digest.Open(plan.StateDir(s.RepoPath)) {
		// A unit that has just ended may be about to record its entry.
		if live[dir] || a.now().Sub(changed) < digestQuiet {
			continue
		}
		entries, missing, ok, err := digest.Close(dir)
		if err != nil {
			a.errorf("%v", err)
		}
		if !ok {
			continue
		}
		var u *plan.Unit
		for _, e := range entries {
			if p, err := plan.Load(plan.PlanPath(s.RepoPath, e.Unit)); err == nil {
				u = p
				break
			}
		}
		if u == nil {
			a.errorf("push digest %s: none of its %s has a plan left to say where to notify; removed", dir, plural(len(entries), "unit"))
			_ = digest.Remove(dir)
			continue
		}
		for range missing {
			entries = append(entries, digest.Entry{Job: "(never saved: the push's hook died)", Kind: string(notify.Failure), Notify: true})
		}
		a.sendDigest(u, entries)
		n++
	}
	return n
}

// managerView asks the systemd managers, once each and only when a unit
// needs it, which units they know.
func (a *app) managerView() unit.ManagerView {
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
			c, err := runner.DialSystemd(ctx, string(m), a.getenv)
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
				a.infof("systemd %s manager: %v; its units are given up only %s after their last sign of life", m, err, unit.StartGrace)
			}
		}
		return ans.reached, ans.known[st.Unit]
	}
}
