package unit

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hookrun/hookrun/internal/atomicfile"
	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
)

// Reconciling: every unit a push meant to start ends in a recorded outcome,
// whatever died on the way. A unit's outcome is normally recorded by its
// ExecStopPost (`hookrun notify`) or, for the exec runner, by its own
// `hookrun exec`. When the process that would record it is gone, nothing
// would; Reconcile finds those units and records an outcome for each, for
// the caller to notify (once: the record is made under the state lock, and
// only the call that makes it returns it):
//
//   - queued, its owner lock free: the push's hook died before handing it
//     over (killed, a full disk): failure, "not started: ...";
//   - handed over and never taken over by hookrun exec within StartGrace,
//     while its manager, asked, no longer knows it (or it is the exec
//     runner's): failure, "not started: ...";
//   - taken over, its hookrun exec gone and its manager no longer knowing
//     it (the manager was stopped or killed, the machine rebooted), or the
//     exec runner's with no process left: as Decide says from what exec
//     recorded, else failure "lost: ...".
//
// A unit whose manager cannot be asked is left alone for StartGrace after
// its last sign of life, unless it is the exec runner's or was never handed
// over.

// ManagerView is what the caller learned from the systemd managers: for a
// state, whether its manager was reached and whether it knows the unit.
type ManagerView func(st *State) (reached, known bool)

// Orphan grace periods: how long after its last sign of life a unit whose
// process is gone may still be finished by its own ExecStopPost.
var orphanGrace = 30 * time.Second

// Reconciled is what one Reconcile pass did, for `hookrun status`.
type Reconciled struct {
	At       time.Time `json:"at"`
	Finished []string  `json:"finished,omitempty"` // "UNIT: outcome"
	Damaged  []string  `json:"damaged,omitempty"`  // states it could not read or record
}

// Reconcile records an outcome for every unit of the repository that
// nothing else will (see above) and returns them (First set) for the caller
// to notify. view may be nil: no manager was asked.
func (s *Store) Reconcile(view ManagerView) ([]*Finished, *Reconciled) {
	rep := &Reconciled{At: s.now()}
	s.appendMissingHistory()
	all, _ := s.List()
	var out []*Finished
	for _, st := range all {
		if st.Phase == Ended {
			continue
		}
		l, cur := s.liveness(st.Unit)
		if cur == nil || cur.Phase == Ended || l == Owned {
			continue
		}
		why := s.orphaned(cur, l, view)
		if why == "" {
			continue
		}
		fin, err := s.finishOrphan(cur.Unit, why)
		if err != nil {
			rep.Damaged = append(rep.Damaged, err.Error())
			continue
		}
		if fin != nil {
			rep.Finished = append(rep.Finished, fmt.Sprintf("%s: %s%s", fin.Plan.Name, fin.Outcome.Kind, prefix(" (", fin.Outcome.Reason, ")")))
			out = append(out, fin)
		}
	}
	return out, rep
}

func prefix(before, s, after string) string {
	if s == "" {
		return ""
	}
	return before + s + after
}

// orphaned says why nothing but Reconcile will record st's outcome, or "".
func (s *Store) orphaned(st *State, l Liveness, view ManagerView) string {
	age := s.now().Sub(lastSign(st))
	reached, known := false, false
	if view != nil && st.Runner == plan.RunnerSystemd {
		reached, known = view(st)
	}
	// The manager no longer knowing a systemd unit means its ExecStopPost
	// has run or never will; after the grace, never will.
	// One that cannot be asked for StartGrace (a manager killed for good,
	// the machine's user manager gone) will not run it either: should it
	// come back, the unit's exec finds it ended (ErrEnded) and runs nothing.
	gone := st.Runner == plan.RunnerExec || reached && !known ||
		view != nil && st.Runner == plan.RunnerSystemd && !reached && age > StartGrace
	switch {
	case st.Phase == Queued:
		return "not started: the push's hook ended before handing it over (it was killed, or the disk was full)"
	case st.Phase == Started && l != Owned && gone && age > orphanGrace: // Pending counts: the manager said
		return "not started: its manager never ran it (the manager stopped or was killed, or the machine rebooted)"
	case st.Phase == Running && l == Gone && gone && age > orphanGrace:
		return "lost: its hookrun exec ended and no outcome was recorded (its manager stopped or was killed, or the machine rebooted)"
	}
	return ""
}

// lastSign is the latest time st shows the unit alive.
func lastSign(st *State) time.Time {
	t := st.Saved
	for _, x := range []time.Time{st.Started, st.Running, st.JobStart} {
		if x.After(t) {
			t = x
		}
	}
	if st.Exit != nil && st.Exit.At.After(t) {
		t = st.Exit.At
	}
	return t
}

// finishOrphan records the outcome of unit name, which nothing else will:
// what its exec recorded (Decide), else failure with why. nil when another
// process recorded one first.
func (s *Store) finishOrphan(name, why string) (*Finished, error) {
	u, err := plan.Load(s.PlanPath(name))
	if err != nil {
		return nil, fmt.Errorf("unit %s: %w", name, err)
	}
	fin := &Finished{Plan: u}
	kept, done := takeUnrecorded(s.RepoPath, name)
	st, err := s.update(name, nil, func(st *State) error {
		if st.Phase == Ended {
			return errNoChange
		}
		if kept != nil {
			// Notified already by its own ExecStopPost, which could not
			// record it then: recorded now, not notified again.
			st.Phase, st.Ended, st.Outcome = Ended, kept.Ended, kept.Outcome
			st.Delivery = &Delivery{Status: outcome.MaybeDelivered, At: s.now(), Error: "notified when its outcome could not be recorded; what became of it is not known"}
			if kept.Delivery != nil && kept.Delivery.Status == outcome.Skipped {
				st.Delivery = kept.Delivery
			}
			return nil
		}
		var o notify.Outcome
		if st.Exit != nil {
			// Its job ended and exec recorded how; only the report is late.
			o = Decide(st, nil, u, s.now())
			if o.Reason != "" {
				o.Reason += "; "
			}
			o.Reason += "recorded by hookrun reconcile: its ExecStopPost never ran (its manager stopped or was killed)"
		} else {
			o = notify.Outcome{Kind: outcome.Failure, Reason: why, Duration: duration(st, lastSign(st))}
		}
		st.Phase, st.Ended = Ended, s.now()
		st.Outcome = &Outcome{Kind: o.Kind, Reason: o.Reason, Duration: o.Duration}
		fin.First = true
		fin.Due = u.Notify.Server != "" && notify.ShouldNotify(u.Notify.On, o.Kind)
		st.Delivery = &Delivery{Status: outcome.Skipped, At: s.now()}
		if fin.Due {
			st.Delivery.Status = outcome.Pending
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("unit %s: cannot record its outcome: %w", name, err)
	}
	if kept != nil {
		done()
		if st.Phase == Ended && st.Outcome == kept.Outcome {
			// Finish may have appended it when the state had no room.
			_ = s.appendHistoryWith(history.AppendNew, u, st)
		}
		return nil, nil
	}
	if !fin.First {
		return nil, nil
	}
	fin.State, fin.Outcome = st, st.Outcome.Notify()
	if err := s.appendHistory(u, st); err != nil {
		fin.Unrecorded = err
	}
	return fin, nil
}

// ReconcileDue reports whether a pass over the repository is due: none
// started within every (a stamp file, state/.reconciled, is touched when it
// returns true). Units that end call it, so a push's units notice that its
// hook died without each reading every state.
func (s *Store) ReconcileDue(every time.Duration) bool {
	stamp := layout.ReconciledStamp(s.RepoPath)
	now := s.now()
	if fi, err := os.Stat(stamp); err == nil && now.Sub(fi.ModTime()) < every && fi.ModTime().Before(now.Add(time.Minute)) {
		return false
	}
	if f, err := os.Create(stamp); err == nil {
		f.Close()
		_ = os.Chtimes(stamp, now, now)
	}
	return true
}

// ReconciledPath is where the last Reconcile pass of the repository is
// recorded, for `hookrun status`.
func ReconciledPath(repoPath string) string {
	return layout.Reconciled(repoPath)
}

// SaveReconciled records rep as the repository's last pass; one that found
// nothing keeps the previous finding unless it is older than a day.
func SaveReconciled(repoPath string, rep *Reconciled) error {
	path := ReconciledPath(repoPath)
	if len(rep.Finished) == 0 && len(rep.Damaged) == 0 {
		if prev, err := LoadReconciled(repoPath); err == nil && (len(prev.Finished) > 0 || len(prev.Damaged) > 0) && rep.At.Sub(prev.At) < 24*time.Hour {
			return nil
		}
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	err = atomicfile.Write(path, append(b, '\n'), 0o600)
	if errors.Is(err, os.ErrNotExist) {
		return nil // nothing has run here
	}
	return err
}

// LoadReconciled reads the repository's last recorded pass.
func LoadReconciled(repoPath string) (*Reconciled, error) {
	b, err := os.ReadFile(ReconciledPath(repoPath))
	if err != nil {
		return nil, err
	}
	var r Reconciled
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", ReconciledPath(repoPath), err)
	}
	return &r, nil
}

// LiveDigests are the push digests (plan.Notify.Digest) that a unit of the
// repository not ended yet will still record into.
func (s *Store) LiveDigests() map[string]bool {
	all, _ := s.List()
	out := map[string]bool{}
	for _, st := range all {
		if st.Phase == Ended {
			continue
		}
		if u, err := plan.Load(s.PlanPath(st.Unit)); err == nil && u.Notify.Digest != "" {
			out[u.Notify.Digest] = true
		}
	}
	return out
}

// LostContactPrefix begins the reason of a remote unit whose watcher gave
// up on its host ("lost contact with HOST").
const LostContactPrefix = "lost contact with "

// LostContact lists the ended remote units of the repository recorded as
// "lost contact" and not corrected yet, within MaxAge: their host may have
// recorded what really happened (Correct).
func (s *Store) LostContact() []*State {
	all, _ := s.List()
	var out []*State
	for _, st := range all {
		if st.Phase == Ended && st.Outcome != nil && st.CorrectedFrom == nil &&
			strings.HasPrefix(st.Outcome.Reason, LostContactPrefix) && s.now().Sub(st.Ended) < MaxAge {
			out = append(out, st)
		}
	}
	return out
}

// Correct replaces the "lost contact" outcome of unit name with o, what
// its host recorded, in its state and its history record, once; it returns
// the corrected outcome (First) for the caller to notify as a follow-up,
// or nil when it was corrected already.
func (s *Store) Correct(name string, o Outcome) (*Finished, error) {
	u, err := plan.Load(s.PlanPath(name))
	if err != nil {
		return nil, fmt.Errorf("unit %s: %w", name, err)
	}
	fin := &Finished{Plan: u}
	st, err := s.update(name, nil, func(st *State) error {
		if st.CorrectedFrom != nil || st.Outcome == nil || !strings.HasPrefix(st.Outcome.Reason, LostContactPrefix) {
			return errNoChange
		}
		prev := *st.Outcome
		st.CorrectedFrom = &prev
		o.Reason = strings.TrimSpace(o.Reason + " (recorded by the host after contact with it was lost; first reported as " + prev.Reason + ")")
		st.Outcome = &o
		fin.First = true
		fin.Due = u.Notify.Server != "" && notify.ShouldNotify(u.Notify.On, o.Kind)
		st.Delivery = &Delivery{Status: outcome.Skipped, At: s.now()}
		if fin.Due {
			st.Delivery.Status = outcome.Pending
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("unit %s: cannot record its corrected outcome: %w", name, err)
	}
	if !fin.First {
		return nil, nil
	}
	fin.State, fin.Outcome = st, st.Outcome.Notify()
	if err := history.Replace(layout.History(s.RepoPath), record(u, st)); err != nil {
		fin.Unrecorded = err
	}
	return fin, nil
}
