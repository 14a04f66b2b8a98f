package unit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hookrun/hookrun/internal/plan"
)

// Run is a unit taken over by `hookrun exec`, which holds its owner lock
// until Close (or until the process ends).
type Run struct {
	s     *Store
	Plan  *plan.Unit
	State *State
	f     *os.File
}

// ErrCancelled is returned by Take, WaitTurn and BeginJob when the unit was
// cancelled before its job began. Its reason is in Run.State.Cancel.
var ErrCancelled = errors.New("cancelled")

// ErrEnded is returned by Take for a unit whose outcome was recorded before
// it could start (`hookrun reconcile` gave it up: its manager lost it): its
// job must not run.
var ErrEnded = errors.New("its outcome was recorded before it started (hookrun reconcile gave it up); not running it now")

// poll is how often a waiting unit looks at the queue again.
var poll = 200 * time.Millisecond

// StoreOf is the Store of the repository whose plan is at planPath
// ($GIT_DIR/hookrun/units/UNIT.json), and the unit's name.
func StoreOf(planPath string) (*Store, string) {
	name := strings.TrimSuffix(filepath.Base(planPath), ".json")
	repo := filepath.Dir(filepath.Dir(filepath.Dir(planPath)))
	return &Store{RepoPath: repo}, name
}

// Take takes the unit whose plan is at planPath over for the process pid:
// it waits for the owner lock (the hook releases it once the unit is handed
// over), loads the plan and records phase Running. A unit cancelled before
// this returns its Run and ErrCancelled: the job must not begin.
func Take(ctx context.Context, planPath string, pid int, now func() time.Time) (*Run, error) {
	s, name := StoreOf(planPath)
	s.Now = now
	f, err := os.OpenFile(planPath, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot open the plan: %w", err)
	}
	if err := lock(f, ownerByte, true); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock the plan %s: %w", planPath, err)
	}
	r := &Run{s: s, f: f}
	u, err := plan.Load(planPath)
	if err != nil {
		r.recordExit(&Exit{NotRun: true, Error: err.Error()})
		r.Close()
		return nil, err
	}
	r.Plan = u
	st, err := s.update(name, f, func(st *State) error {
		if st.Phase == Ended {
			return ErrEnded
		}
		if st.Phase.order() < Running.order() {
			st.Phase, st.Running = Running, s.now()
		}
		st.PID = pid
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		// A plan saved without a state: shipped to this host by a remote
		// push (host = "NAME"). Its state begins here.
		st = &State{
			Version: Version, Unit: name, Repo: u.Repo, Job: u.Job, Concurrency: u.Concurrency,
			Seq: u.Seq, Runner: plan.RunnerSystemd, Manager: u.Manager, Phase: Running,
			Saved: u.Created, Started: s.now(), Running: s.now(), PID: pid,
		}
		err = s.createState(f, st)
	}
	r.State = st
	if errors.Is(err, ErrEnded) {
		r.Close()
		return nil, fmt.Errorf("%s: %w", name, ErrEnded)
	}
	if err != nil {
		r.Close()
		return nil, err
	}
	if st.Cancel != nil {
		return r, ErrCancelled
	}
	return r, nil
}

// WaitTurn blocks until no unit of the same job with a lower sequence
// number is alive, or ctx ends, or the unit is cancelled (ErrCancelled).
// A coalesce unit that sees a newer live unit of its job cancels itself
// ("superseded by a newer push"): on a host (host = "NAME") no push of the
// git server's cancels it, the host's queue does, under the unit's own
// lock, so a job that has begun is never superseded. A
// unit stops counting as alive when its job's process has ended — not when
// its notification is delivered — or when it was abandoned before it
// started. waiting is called once, with the units ahead, if it must wait.
func (r *Run) WaitTurn(ctx context.Context, waiting func(ahead []string)) error {
	told := false
	for {
		st, err := r.s.Load(r.Plan.Name)
		if err == nil {
			r.State = st
			if st.Cancel != nil {
				return ErrCancelled
			}
		}
		if r.Plan.Concurrency == plan.Coalesce {
			if reason := r.s.supersededBy(r.Plan); reason != "" {
				return r.cancelSelf(reason)
			}
		}
		ahead := r.s.ahead(r.Plan)
		if len(ahead) == 0 {
			return nil
		}
		if !told && waiting != nil {
			waiting(ahead)
			told = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// ahead lists the live units of u's job numbered before u.
func (s *Store) ahead(u *plan.Unit) []string {
	others := s.others(u)
	sortBySeq(others)
	var out []string
	for _, o := range others {
		if o.Seq == 0 || o.Seq >= u.Seq || !o.Live() {
			continue
		}
		if l, _ := s.liveness(o.Unit); l != Gone {
			out = append(out, o.Unit+" (#"+strconv.FormatUint(o.Seq, 10)+")")
		}
	}
	return out
}

// cancelSelf marks the waiting unit cancelled with reason (unless it is
// already) and returns ErrCancelled.
func (r *Run) cancelSelf(reason string) error {
	st, err := r.s.update(r.Plan.Name, r.f, func(st *State) error {
		if st.Cancel != nil {
			return errNoChange
		}
		st.Cancel = &Cancel{Reason: reason, At: r.s.now()}
		return nil
	})
	if err != nil {
		return err
	}
	r.State = st
	return ErrCancelled
}

// BeginJob records that the job begins now, unless the unit was cancelled
// (ErrCancelled).
func (r *Run) BeginJob() error {
	cancelled := false
	st, err := r.s.update(r.Plan.Name, r.f, func(st *State) error {
		if st.Cancel != nil {
			cancelled = true
			return errNoChange
		}
		st.JobStart = r.s.now()
		return nil
	})
	if st != nil {
		r.State = st
	}
	if cancelled {
		return ErrCancelled
	}
	return err
}

// Exited records how the job ended (e.At defaults to now). From here on the
// unit no longer holds up its queue.
func (r *Run) Exited(e *Exit) error {
	return r.recordExit(e)
}

func (r *Run) recordExit(e *Exit) error {
	if e.At.IsZero() {
		e.At = r.s.now()
	}
	_, name := StoreOf(r.f.Name())
	st, err := r.s.update(name, r.f, func(st *State) error {
		if st.Exit == nil {
			st.Exit = e
		}
		return nil
	})
	if st != nil {
		r.State = st
	}
	if err != nil {
		keepUnrecordedExit(r.s.RepoPath, name, e) // for the unit's end to decide from
	}
	return err
}

// createState writes the first state of a unit, under its state lock.
func (s *Store) createState(f *os.File, st *State) error {
	if err := lock(f, stateByte, true); err != nil {
		return err
	}
	defer unlock(f, stateByte)
	return s.write(st)
}

// Close releases the owner lock.
func (r *Run) Close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}
