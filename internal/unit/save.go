package unit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hookrun/hookrun/internal/atomicfile"
	"github.com/hookrun/hookrun/internal/plan"
)

// Saved is a unit whose plan and queued state are written and whose owner
// lock the hook holds until the unit is handed over (Started) or given up
// (Abandon). Close releases the lock in either case.
type Saved struct {
	s    *Store
	Unit *plan.Unit
	f    *os.File // the plan, owner lock held
	rec  written  // the state as Save wrote it
}

// Save writes u's plan (mode 0600, never over an existing file: unit names
// are unique) and its state, phase Queued, and takes the owner lock. A
// failed write leaves neither file behind, so no empty or half-written
// plan can ever be run. The hook's store (NoSync) writes both into spare
// files when there are some (see Restock).
func (s *Store) Save(u *plan.Unit) (*Saved, error) {
	b, err := u.Marshal()
	if err != nil {
		return nil, err
	}
	st := &State{
		Version: Version, Unit: u.Name, Repo: u.Repo, Job: u.Job,
		Concurrency: u.Concurrency, Seq: u.Seq, Runner: u.Runner, Manager: u.Manager,
		Phase: Queued, Saved: s.now(),
	}
	rec, err := st.Marshal()
	if err != nil {
		return nil, err
	}
	f, err := s.savePlan(s.PlanPath(u.Name), append(b, '\n'))
	if err != nil {
		return nil, fmt.Errorf("saving its plan: %w", err)
	}
	sv := &Saved{s: s, Unit: u, f: f, rec: written{st, append(rec, '\n')}}
	if err := s.saveState(u.Name, sv.rec.b); err != nil {
		sv.Abandon()
		return nil, fmt.Errorf("saving its plan: %w", err)
	}
	return sv, nil
}

// savePlan writes the plan b at path, a new file, and returns it open
// with the owner lock held.
func (s *Store) savePlan(path string, b []byte) (*os.File, error) {
	if s.NoSync {
		if f, claimed := s.takeSpare(filepath.Base(path)); f != nil {
			err := s.writePlan(f, b)
			if err == nil {
				err = renameNoReplace(claimed, path)
			}
			if err == nil {
				return f, nil
			}
			f.Close()
			os.Remove(claimed)
			if errors.Is(err, fs.ErrExist) {
				return nil, err
			}
			// Any other failure (no directory yet, a full disk): created.
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	}
	if err != nil {
		return nil, err
	}
	if err := s.writePlan(f, b); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return f, nil
}

// writePlan takes the owner lock of f, a new plan file, and writes the
// plan b into it (synced unless NoSync).
func (s *Store) writePlan(f *os.File, b []byte) error {
	if err := lock(f, ownerByte, false); err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		return err
	}
	if s.NoSync {
		return nil
	}
	return f.Sync()
}

// saveState writes the first record b of unit name's state: for the
// hook's store through a spare when there is one, else created.
func (s *Store) saveState(name string, b []byte) error {
	path := s.StatePath(name)
	if s.NoSync {
		if f, _ := s.takeSpare(filepath.Base(path) + ".state"); f != nil {
			if atomicfile.WriteUnsyncedVia(f, path, b, 0o600) == nil {
				return nil
			}
			// Its claim lost, or no directory yet: created.
		}
	}
	return s.writeRecord(name, b)
}

// Started records that the unit was handed over to runner (systemd or
// exec) and releases the owner lock.
func (sv *Saved) Started(runner plan.Runner) error {
	defer sv.Close()
	_, err := sv.s.updateKnown(sv.Unit.Name, sv.f, &sv.rec, func(st *State) error {
		if st.Phase.order() < Started.order() {
			st.Phase, st.Started = Started, sv.s.now()
		}
		st.Runner = runner
		return nil
	})
	return err
}

// Abandon removes the plan and state of a unit that was not handed over
// (its start failed, or it is saved again under a new name).
func (sv *Saved) Abandon() {
	os.Remove(sv.s.StatePath(sv.Unit.Name))
	os.Remove(sv.s.PlanPath(sv.Unit.Name))
	sv.Close()
}

// Close releases the owner lock.
func (sv *Saved) Close() {
	if sv.f != nil {
		sv.f.Close()
		sv.f = nil
	}
}

// ShippedState is the first state of u when its plan is saved on another
// host (host = "NAME"), as that host's store reads it: handed over at now
// (phase Started, with its queue number), so the host's queue counts it
// from then on, as a local unit counts from its save; its `hookrun exec`
// there takes it over.
func ShippedState(u *plan.Unit, now time.Time) ([]byte, error) {
	st := &State{
		Version: Version, Unit: u.Name, Repo: u.Repo, Job: u.Job,
		Concurrency: u.Concurrency, Seq: u.Seq, Runner: plan.RunnerSystemd, Manager: plan.ManagerUser,
		Phase: Started, Saved: now, Started: now,
	}
	b, err := st.Marshal()
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Receive saves, on a build host, the plan and first state of unit name
// shipped from the git server (remote's SavePlans, through the ssh gate):
// the plan written whole before it appears, never over a different one (a
// plan is written once: its bytes are the unit's locks), then the state,
// which must be ShippedState's for name, under the unit's state lock like
// every state write, so no writer of this host's store interleaves with
// it. A state that moved on already (the unit ran) is left as it is:
// phases only move forward. The plans' directory must exist (the gate's
// preparation of a mirror makes it): a mirror removed on the host is not
// made again here, but by the next preparation.
func (s *Store) Receive(name string, planBytes, stateBytes []byte) error {
	var st State
	if err := json.Unmarshal(stateBytes, &st); err != nil {
		return fmt.Errorf("unit %s: the shipped state cannot be read: %w", name, err)
	}
	if st.Version != Version || st.Unit != name || st.Phase.order() == 0 {
		return fmt.Errorf("unit %s: the shipped state is not one (version %d, unit %q, phase %q; this hookrun reads version %d)", name, st.Version, st.Unit, st.Phase, Version)
	}
	path := s.PlanPath(name)
	if err := writeOnce(path, planBytes, !s.NoSync); err != nil {
		return fmt.Errorf("unit %s: saving its plan: %w", name, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("unit %s: %w", name, err)
	}
	defer f.Close()
	if err := lock(f, stateByte, true); err != nil {
		return fmt.Errorf("lock the state of %s: %w", name, err)
	}
	defer unlock(f, stateByte)
	if old, err := s.Load(name); err == nil && old.Phase.order() >= st.Phase.order() {
		return nil
	}
	return s.write(&st)
}

// writeOnce puts b at path: a temporary file, renamed into place, so the
// file is whole from the moment it exists. A file already at path is never
// replaced (it may be locked): it is kept if it holds the same bytes (the
// same plan shipped again), and is an error otherwise.
func writeOnce(path string, b []byte, sync bool) error {
	if old, err := os.ReadFile(path); err == nil {
		if !bytes.Equal(old, b) {
			return fmt.Errorf("%s is there already, with another plan", path)
		}
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if sync {
		return atomicfile.Write(path, b, 0o600)
	}
	return atomicfile.WriteUnsynced(path, b, 0o600)
}
