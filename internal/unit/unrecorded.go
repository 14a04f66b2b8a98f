package unit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/plan"
)

// Outcomes notified although they could not be recorded (Finish's
// Unrecorded) are kept outside the repository, in a directory on another
// file system where there is one ($XDG_RUNTIME_DIR, /dev/shm, else the
// temporary directory), so that Reconcile records them once the state can
// be written again, and never notifies those units a second time.

// unrecordedDir is where they are kept.
func unrecordedDir() string {
	base := os.Getenv("XDG_RUNTIME_DIR")
	if !filepath.IsAbs(base) {
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			base = "/dev/shm"
		} else {
			base = os.TempDir()
		}
	}
	return layout.Unrecorded(base, strconv.Itoa(os.Getuid()))
}

func unrecordedPath(repoPath, name string) string {
	h := sha256.Sum256([]byte(repoPath + "\x00" + name))
	return filepath.Join(unrecordedDir(), hex.EncodeToString(h[:12])+".json")
}

// keepUnrecorded keeps st, ended and notified, for Reconcile.
func keepUnrecorded(repoPath string, st *State) {
	b, err := st.Marshal()
	if err != nil {
		return
	}
	if err := os.MkdirAll(unrecordedDir(), 0o700); err != nil {
		return
	}
	_ = os.WriteFile(unrecordedPath(repoPath, st.Unit), b, 0o600)
}

// takeUnrecorded returns the outcome kept for unit name of the repository
// by keepUnrecorded, if any; done removes it once recorded.
func takeUnrecorded(repoPath, name string) (st *State, done func()) {
	p := unrecordedPath(repoPath, name)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, nil
	}
	var kept State
	if json.Unmarshal(b, &kept) != nil || kept.Unit != name || kept.Outcome == nil {
		return nil, nil
	}
	return &kept, func() { os.Remove(p) }
}

// An exit hookrun exec could not record (Run.Exited on a full disk) is
// kept the same way, so that the unit's end (finish) decides from how the
// job really ended, not from a missing record.

func unrecordedExitPath(repoPath, name string) string {
	return strings.TrimSuffix(unrecordedPath(repoPath, name), ".json") + ".exit.json"
}

// keepUnrecordedExit keeps e, the exit of unit name that could not be
// recorded in its state.
func keepUnrecordedExit(repoPath, name string, e *Exit) {
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	if err := os.MkdirAll(unrecordedDir(), 0o700); err != nil {
		return
	}
	_ = os.WriteFile(unrecordedExitPath(repoPath, name), b, 0o600)
}

// takeUnrecordedExit returns the exit kept by keepUnrecordedExit, if any;
// done removes it once the outcome is decided.
func takeUnrecordedExit(repoPath, name string) (e *Exit, done func()) {
	p := unrecordedExitPath(repoPath, name)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, func() {}
	}
	var kept Exit
	if json.Unmarshal(b, &kept) != nil {
		return nil, func() {}
	}
	return &kept, func() { os.Remove(p) }
}

// A unit whose outcome is recorded in its state but whose history record
// could not be appended (its state had room in its last page, the history
// none) is kept the same way, as a mark naming it: Reconcile appends the
// record, built from the plan and the state as they are then (so with its
// delivery since), once the history can be written.

// missingHistory is the mark's content.
type missingHistory struct {
	RepoPath string `json:"repo_path"`
	Unit     string `json:"unit"`
}

const missingHistorySuffix = ".history.json"

// missingHistoryPath is the mark of unit name of the repository.
func missingHistoryPath(repoPath, name string) string {
	return strings.TrimSuffix(unrecordedPath(repoPath, name), ".json") + missingHistorySuffix
}

// appendHistory appends the history record of unit u, whose outcome st
// records, or marks it missing for Reconcile when it cannot.
func (s *Store) appendHistory(u *plan.Unit, st *State) error {
	return s.appendHistoryWith(history.Append, u, st)
}

// appendHistoryWith is appendHistory appending with add: history.AppendNew
// for a record appended late, which may be there already.
func (s *Store) appendHistoryWith(add func(string, history.Record) error, u *plan.Unit, st *State) error {
	err := add(layout.History(s.RepoPath), record(u, st))
	if err != nil {
		if b, merr := json.Marshal(missingHistory{s.RepoPath, u.Name}); merr == nil && os.MkdirAll(unrecordedDir(), 0o700) == nil {
			_ = os.WriteFile(missingHistoryPath(s.RepoPath, u.Name), b, 0o600)
		}
	}
	return err
}

// appendMissingHistory appends the history records marked missing for
// this repository (appendHistory), and removes the marks of those it did.
// A record may be there already (the failed append wrote it, or another
// Reconcile did just now): it is appended only when it is not.
func (s *Store) appendMissingHistory() {
	entries, err := os.ReadDir(unrecordedDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), missingHistorySuffix) {
			continue
		}
		p := filepath.Join(unrecordedDir(), e.Name())
		b, err := os.ReadFile(p)
		var m missingHistory
		if err != nil || json.Unmarshal(b, &m) != nil || m.RepoPath != s.RepoPath {
			continue
		}
		u, uerr := plan.Load(s.PlanPath(m.Unit))
		st, serr := s.Load(m.Unit)
		if uerr != nil && serr == nil && !errors.Is(uerr, fs.ErrNotExist) {
			u, uerr = s.unitOf(st), nil // damaged: recorded from its state, as FinishDamaged did
		}
		if uerr != nil || serr != nil || st.Outcome == nil {
			os.Remove(p) // pruned meanwhile: nothing left to record
			continue
		}
		if history.AppendNew(layout.History(s.RepoPath), record(u, st)) == nil {
			os.Remove(p)
		}
	}
}
