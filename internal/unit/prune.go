package unit

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hookrun/hookrun/internal/atomicfile"
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
	// pruneBusy is how often Prune reads every state of a repository over
	// its bounds whose state directory has not grown since the last full
	// pass: the units of a big push end one by one, and a full pass at
	// each end read every state of the push once per unit (10,000 units:
	// 10^8 state reads, most of a 22-minute bench round).
	pruneBusy = time.Minute
	// pruneCheck is how often Prune counts a state directory between full
	// passes: counting reads the whole directory, and the ends of a big
	// push come milliseconds apart (3,000 units: a directory read of
	// thousands of entries at every end was 15% of the units' CPU).
	pruneCheck = time.Second
)

// fullPrunes counts Prune's full passes, and stateCounts its counts of the
// state directory between them (for tests).
var fullPrunes, stateCounts atomic.Int64

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
// KeepEnded and more than the last full pass left (the count in the stamp
// file state/.pruned) has grown to (grown), or the last full pass more than
// pruneEvery ago (more than pruneBusy ago when over KeepEnded); otherwise
// it costs one directory read and two stats, and within pruneCheck of the
// last such count, two stats. So the units of one big push, ending one by
// one, cost one full pass per pruneBusy or per growth by half, not one
// each; the directory never holds more than grown(what the last full pass
// left), plus the units saved within pruneCheck.
func (s *Store) Prune() {
	now := s.now()
	stamp := layout.PrunedStamp(s.RepoPath)
	if fi, err := os.Stat(stamp); err == nil && fi.ModTime().Before(now.Add(time.Minute)) {
		if age := now.Sub(fi.ModTime()); age < pruneEvery {
			if s.checkedRecently(now) {
				return
			}
			stateCounts.Add(1)
			n, err := countEntries(s.StateDir())
			switch {
			case err != nil:
			case n <= KeepEnded:
				return
			case age < pruneBusy && n <= grown(stampCount(stamp)):
				return
			}
		}
	}
	fullPrunes.Add(1)
	defer func() {
		// What the pass left, for the next Prune to compare with.
		if n, err := countEntries(s.StateDir()); err == nil {
			if os.WriteFile(stamp, []byte(strconv.Itoa(n)+"\n"), 0o600) == nil {
				_ = os.Chtimes(stamp, now, now)
			}
		}
	}()
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
			orphan := strings.HasSuffix(n, ".tmp") || atomicfile.IsTemp(n) ||
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

// countEntries is the number of names in dir (unsorted: no stat, no sort).
func countEntries(dir string) (int, error) {
	f, err := os.Open(dir)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	return len(names), err
}

// checkedRecently reports whether a Prune counted the state directory less
// than pruneCheck ago, and otherwise marks that this one does now.
func (s *Store) checkedRecently(now time.Time) bool {
	mark := layout.PruneChecked(s.RepoPath)
	if fi, err := os.Stat(mark); err == nil {
		if at := fi.ModTime(); !at.After(now) && now.Sub(at) < pruneCheck {
			return true
		}
	}
	if os.WriteFile(mark, nil, 0o600) == nil {
		_ = os.Chtimes(mark, now, now)
	}
	return false
}

// grown is how many entries a state directory that a full pass left with
// count may hold before the next pass, within pruneBusy: half again (at
// least KeepEnded) more. A push whose first units end while it still saves
// the others grows the directory at every end; a pass each time read every
// state once per unit (the 1,000-unit bench: a quarter of its units' CPU).
// Passes after growth by a fraction read O(1) states per unit, amortized,
// and bound the directory all the same.
func grown(count int) int { return count + max(KeepEnded, count/2) }

// stampCount is the number of entries the last full pass left, from its
// stamp file (0 when unreadable: an older stamp is empty).
func stampCount(stamp string) int {
	b, err := os.ReadFile(stamp)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func (s *Store) remove(name string) {
	os.Remove(s.StatePath(name))
	os.Remove(s.PlanPath(name))
}
