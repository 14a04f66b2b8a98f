package unit

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/layout"
)

// Bounds on the state of ended units, enforced by Prune (no daemon: every
// unit's end prunes its repository).
var (
	// KeepEnded is how many ended units keep their state and plan (the
	// history keeps as many records, and logs/ as many log files).
	KeepEnded = history.Keep
	// MaxAge is how long an ended unit's state and plan are kept at most;
	// a unit that never ended and has no live process is dropped after it
	// too.
	MaxAge = 7 * 24 * time.Hour
	// orphanAge is how old a plan without a state (a hook killed between
	// the two writes, a full disk) or a temporary file must be to go.
	orphanAge = 10 * time.Minute
	// pruneEvery is how often Prune reads every state of a repository that
	// is within its bounds.
	pruneEvery = 10 * time.Minute
)

// Prune bounds the repository's unit state:
//   - units that were never handed over (the hook was killed, or could not
//     save them: a full disk) are left to Reconcile, which records and
//     notifies them (the queue never waits for them even before);
//   - ended units beyond the KeepEnded newest, or older than MaxAge, lose
//     their state and plan;
//   - units not ended and without a live process older than MaxAge go too;
//   - plans without a state and temporary files older than a few minutes
//     go; log files beyond KeepEnded, or beyond MaxLogsTotal bytes
//     together, go (the oldest first).
//
// It reads every state only when there is something to do: more files than
// KeepEnded, or the last full pass (the stamp file state/.pruned) more than
// pruneEvery ago; otherwise it costs one directory read and one stat.
func (s *Store) Prune() {
	now := s.now()
	stamp := layout.PrunedStamp(s.RepoPath)
	if entries, err := os.ReadDir(s.StateDir()); err == nil && len(entries) <= KeepEnded {
		if fi, err := os.Stat(stamp); err == nil && now.Sub(fi.ModTime()) < pruneEvery && fi.ModTime().Before(now.Add(time.Minute)) {
			return
		}
	}
	if f, err := os.Create(stamp); err == nil {
		f.Close()
		_ = os.Chtimes(stamp, now, now)
	}
	all, _ := s.List()
	var ended []*State
	names := map[string]bool{}
	for _, st := range all {
		names[st.Unit] = true
		if st.Phase == Ended {
			ended = append(ended, st)
			continue
		}
		l, cur := s.liveness(st.Unit)
		if l != Gone || cur == nil {
			continue
		}
		// An abandoned queued unit is left to Reconcile, which records
		// and notifies it.
		if now.Sub(cur.Saved) > MaxAge && cur.Phase != Ended {
			s.remove(cur.Unit)
		}
	}
	slices.SortFunc(ended, func(a, b *State) int { return b.Ended.Compare(a.Ended) })
	for i, st := range ended {
		if i >= KeepEnded || now.Sub(st.Ended) > MaxAge {
			s.remove(st.Unit)
		}
	}
	// Plans without a state, and temporary files.
	for _, dir := range []string{layout.PlansDir(s.RepoPath), s.StateDir()} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			n := e.Name()
			orphan := strings.HasSuffix(n, ".tmp") ||
				dir != s.StateDir() && strings.HasSuffix(n, ".json") && !names[strings.TrimSuffix(n, ".json")]
			if !orphan {
				continue
			}
			if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > orphanAge {
				os.Remove(filepath.Join(dir, n))
			}
		}
	}
	history.PruneDirBytes(layout.LogsDir(s.RepoPath), KeepEnded, MaxLogsTotal)
}

func (s *Store) remove(name string) {
	os.Remove(s.StatePath(name))
	os.Remove(s.PlanPath(name))
}
