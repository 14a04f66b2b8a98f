package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

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
	q.flushLetters()
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
	for _, d := range rep.Damaged {
		a.errorf("%s: %s", repo, d)
	}
	var letters []string
	if outbox {
		letters, _ = unit.Outbox(repo).Pending()
	}
	for _, path := range letters {
		err := notify.Deliver(context.Background(), path, a.getenv, a.stderr, func(l notify.Letter, result string) error {
			if result != notify.Delivered {
				a.errorf("notification to topic %s %s", l.Topic, result)
			}
			return unit.RecordLetter(l, result, a.now)
		})
		if err != nil && !errors.Is(err, notify.ErrBusy) {
			a.errorf("%v", err)
		}
	}
	if say && (len(fins) > 0 || len(letters) > 0) {
		a.infof("%s: recorded the outcome of %s nothing else would, sent %s left in its outbox", repo, plural(len(fins), "unit"), plural(len(letters), "notification"))
	}
	if err := unit.SaveReconciled(repo, rep); err != nil {
		a.warnf("%s: cannot record what reconcile found: %v", repo, err)
	}
	return len(rep.Damaged) == 0
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
			if c, err := runner.DialSystemd(ctx, string(m), a.getenv); err == nil {
				units, err := c.Units(ctx)
				c.Close()
				if err == nil {
					ans.reached = true
					for _, u := range units {
						ans.known[u.Name] = true
					}
				}
			}
		}
		return ans.reached, ans.known[st.Unit]
	}
}
