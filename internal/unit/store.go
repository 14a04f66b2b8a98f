package unit

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hookrun/hookrun/internal/atomicfile"
	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/plan"
)

// Store is one repository's units. The zero Now is time.Now.
type Store struct {
	RepoPath string
	// Now is the clock; tests inject their own.
	Now func() time.Time
	// NoSync leaves out the fsync of the plan and state files: the hook's
	// (see Launcher.Launch for why nothing it writes needs one). What exec
	// and notify record is synced.
	NoSync bool
}

// Open is the Store of the repository at repoPath.
func Open(repoPath string) *Store { return &Store{RepoPath: repoPath} }

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// StateDir is where the state files are.
func (s *Store) StateDir() string { return layout.StatesDir(s.RepoPath) }

// StatePath is the state file of unit name.
func (s *Store) StatePath(name string) string { return layout.State(s.RepoPath, name) }

// PlanPath is the plan of unit name.
func (s *Store) PlanPath(name string) string { return layout.Plan(s.RepoPath, name) }

// Lock bytes in the plan file (see the package comment).
const (
	ownerByte = 0
	stateByte = 1
)

// lock takes the write lock on byte b of f, waiting for it when wait.
func lock(f *os.File, b int64, wait bool) error {
	cmd := unix.F_OFD_SETLK
	if wait {
		cmd = unix.F_OFD_SETLKW
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: b, Len: 1}
	for {
		err := unix.FcntlFlock(f.Fd(), cmd, &lk)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

func unlock(f *os.File, b int64) {
	lk := unix.Flock_t{Type: unix.F_UNLCK, Whence: 0, Start: b, Len: 1}
	_ = unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
}

// held reports whether another open file description holds byte b of f.
func held(f *os.File, b int64) bool {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: b, Len: 1}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, &lk); err != nil {
		return true // cannot tell: assume alive
	}
	return lk.Type != unix.F_UNLCK
}

// Load reads the state of unit name.
func (s *Store) Load(name string) (*State, error) {
	return readState(s.StatePath(name))
}

// readState reads the state at path without its lock. A last record that
// does not decode is read again, up to rereads times a millisecond apart:
// a change that cuts off a tail a crash or a full disk left and writes its
// record in that place can meet a reader between two of its reads, which
// then holds half of each. A file damaged for good still fails.
func readState(path string) (*State, error) {
	for try := 0; ; try++ {
		b, err := readFile(path)
		if err != nil {
			return nil, err
		}
		st, _, err := lastRecord(b)
		if err == nil {
			return st, nil
		}
		if try == rereads || errors.Is(err, errVersion) {
			return nil, fmt.Errorf("unit state %s: %w", path, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// rereads is how often readState reads a state again that does not decode.
const rereads = 3

// readFile is os.ReadFile; tests replace it.
var readFile = os.ReadFile

// errVersion: a state written by a hookrun of another format.
var errVersion = errors.New("format version")

// lastRecord decodes the state in b, a state file: its last whole record
// (see appendState), and returns where that record ends. A record being
// appended, or cut by a crash, has no newline yet and is not taken. A file
// with no newline at all is one record (edited by hand, say); end is then
// 0, and a change replaces the file. A last record holding a NUL byte,
// which JSON never does, was torn by a power loss (its last page reached
// the disk, the page before it did not): it is skipped like a cut tail.
func lastRecord(b []byte) (*State, int, error) {
	end := bytes.LastIndexByte(b, '\n') + 1
	rec := b // no newline at all: the whole file
	if end > 0 {
		start := bytes.LastIndexByte(b[:end-1], '\n') + 1
		if start > 0 && bytes.IndexByte(b[start:end], 0) >= 0 {
			end, start = start, bytes.LastIndexByte(b[:start-1], '\n')+1
		}
		rec = b[start:end]
	}
	var st State
	if err := json.Unmarshal(rec, &st); err != nil {
		return nil, 0, fmt.Errorf("%w (remove it: hookrun writes every record whole, so it was damaged from outside)", err)
	}
	if st.Version != Version {
		return nil, 0, fmt.Errorf("%w %d, this hookrun reads %d", errVersion, st.Version, Version)
	}
	return &st, end, nil
}

// write replaces the state file atomically: a temporary file in the same
// directory, fsync (unless NoSync), rename. It creates a state file; later
// changes are appended (appendState).
func (s *Store) write(st *State) error {
	b, err := st.Marshal()
	if err != nil {
		return err
	}
	return s.writeRecord(st.Unit, append(b, '\n'))
}

// writeRecord is write of the record b, st marshalled with its newline.
func (s *Store) writeRecord(name string, b []byte) error {
	path := s.StatePath(name)
	write := atomicfile.Write
	if s.NoSync {
		write = atomicfile.WriteUnsynced // the hook's: see atomicfile
	}
	err := write(path, b, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(filepath.Dir(path), 0o700); err == nil {
			err = write(path, b, 0o600)
		}
	}
	if err != nil {
		return fmt.Errorf("write unit state %s: %w", path, err)
	}
	return nil
}

// maxStateFile is the size past which a change replaces the state file
// with its one new record instead of appending it. A unit's life appends
// about six records of under 1 KiB; retried deliveries add more.
const maxStateFile = 32 << 10

// appendState records st as the new last record of the state file f,
// whose last whole record ends at end. Appending rather than replacing
// the file creates no inode per change: on ext4, creating and renaming a
// temporary file was most of what a unit's exec and notify cost, and
// allocating inodes next to thousands of recently freed ones grows slower
// with every unit ended. It is as safe as the rename:
//
//   - the record is written at end with one write, then synced (unless
//     NoSync) before the change counts as made, with the directory: the
//     hook created the file unsynced, and its name must be as durable as
//     the record (a no-op once it is, as nothing in the directory changes);
//   - a reader takes the last record ending in a newline, so it sees the
//     old record or the new whole, never a part (lastRecord);
//   - a write that fails (a full disk) is cut off again, and a tail a
//     crash left cut is cut off by the next change, so records always
//     follow each other whole.
//
// Only update calls it, under the state lock.
func (s *Store) appendState(f *os.File, end int, st *State) error {
	b, err := st.Marshal()
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if end == 0 || end+len(b) > maxStateFile {
		return s.write(st)
	}
	fail := func(err error) error {
		_ = f.Truncate(int64(end)) // keep the records whole; a reader skips a cut tail anyway
		return fmt.Errorf("write unit state %s: %w", f.Name(), err)
	}
	if fi, err := f.Stat(); err != nil {
		return fail(err)
	} else if fi.Size() != int64(end) {
		if err := f.Truncate(int64(end)); err != nil { // a tail a crash cut
			return fail(err)
		}
	}
	if _, err := f.WriteAt(b, int64(end)); err != nil {
		return fail(err)
	}
	if !s.NoSync {
		if err := f.Sync(); err != nil {
			return fail(err)
		}
		if err := syncDir(filepath.Dir(f.Name())); err != nil {
			return fmt.Errorf("write unit state %s: sync its directory: %w", f.Name(), err)
		}
	}
	return nil
}

// syncDir makes the directory entries of dir durable: the hook creates a
// state without syncing, and the first synced change must make the file's
// name as durable as its content.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// update changes the state of unit name under its state lock, through f,
// an open descriptor of its plan (opened here when nil). change may return
// errNoChange to leave the file as it is.
func (s *Store) update(name string, f *os.File, change func(*State) error) (*State, error) {
	return s.updateKnown(name, f, nil, change)
}

// written is a state and its record as written (with its newline).
type written struct {
	st *State
	b  []byte
}

// updateKnown is update, given the record its caller wrote last: when the
// file still holds just that record, its state is taken as it is instead
// of decoded. The hook records each unit's start this way: its first JSON
// decode of a State cost 0.08-0.2 ms in a process that starts cold, to
// read back what it wrote a moment before.
func (s *Store) updateKnown(name string, f *os.File, known *written, change func(*State) error) (*State, error) {
	if f == nil {
		var err error
		if f, err = os.OpenFile(s.PlanPath(name), os.O_RDWR, 0); err != nil {
			return nil, err
		}
		defer f.Close()
	}
	if err := lock(f, stateByte, true); err != nil {
		return nil, fmt.Errorf("lock the state of %s: %w", name, err)
	}
	defer unlock(f, stateByte)
	path := s.StatePath(name)
	sf, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer sf.Close()
	b, err := io.ReadAll(sf)
	if err != nil {
		return nil, fmt.Errorf("unit state %s: %w", path, err)
	}
	var st *State
	var end int
	if known != nil && bytes.Equal(b, known.b) {
		cp := *known.st
		st, end = &cp, len(b)
	} else if st, end, err = lastRecord(b); err != nil {
		return nil, fmt.Errorf("unit state %s: %w", path, err)
	}
	if err := change(st); err != nil {
		if errors.Is(err, errNoChange) {
			return st, nil
		}
		return st, err
	}
	return st, s.appendState(sf, end, st)
}

var errNoChange = errors.New("no change")

// Update changes the state of unit name under its lock. It is for the
// fields this package leaves to its callers (Delivery); the phases move
// only through Launcher, Run and Finish.
func (s *Store) Update(name string, change func(*State)) error {
	_, err := s.update(name, nil, func(st *State) error { change(st); return nil })
	return err
}

// RecordDelivery records what became of the notification of unit name.
// Call it with outcome.Pending before sending, then with the result.
func (s *Store) RecordDelivery(name string, d Delivery) error {
	if d.At.IsZero() {
		d.At = s.now()
	}
	return s.Update(name, func(st *State) { st.Delivery = &d })
}

// List returns the state of every unit of the repository, by name. States
// that cannot be read are left out.
func (s *Store) List() ([]*State, error) {
	return s.list("")
}

// list reads the states whose unit name starts with prefix.
func (s *Store) list(prefix string) ([]*State, error) {
	entries, err := os.ReadDir(s.StateDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*State
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".json") || !strings.HasPrefix(n, prefix) {
			continue
		}
		if st, err := readState(filepath.Join(s.StateDir(), n)); err == nil {
			out = append(out, st)
		}
	}
	return out, nil
}

// Liveness is what another unit's state and locks say about it.
type Liveness int

// Livenesses.
const (
	Gone    Liveness = iota // ended, its job exited, or abandoned: never wait for it
	Pending                 // handed over, hookrun exec has not taken it over yet
	Owned                   // its hook or its hookrun exec holds it
)

// StartGrace is how long a unit handed over to its manager may take to be
// taken over by hookrun exec before it stops counting as alive (a manager
// that lost it, a reboot).
var StartGrace = 2 * time.Minute

// liveness tells what name is doing: the owner lock first, then the
// state, which its owner writes before releasing the lock.
func (s *Store) liveness(name string) (Liveness, *State) {
	f, err := os.Open(s.PlanPath(name))
	if err != nil {
		return Gone, nil
	}
	defer f.Close()
	owned := held(f, ownerByte)
	st, err := s.Load(name)
	if err != nil || !st.Live() {
		return Gone, st
	}
	switch {
	case owned:
		return Owned, st
	case st.Phase == Started && s.now().Sub(st.Started) < StartGrace:
		return Pending, st
	}
	// Queued and not owned: the hook died before handing it over.
	// Running and not owned: its exec died; notify reports it.
	return Gone, st
}

// supersededBy is the cancel reason of a waiting coalesce unit u when a
// newer live unit of its job (a higher sequence number) exists: "superseded
// by a newer push (SHORT)"; "" when there is none.
func (s *Store) supersededBy(u *plan.Unit) string {
	for _, o := range s.others(u) {
		if o.Seq <= u.Seq || !o.Live() {
			continue
		}
		if l, _ := s.liveness(o.Unit); l == Gone {
			continue
		}
		reason := "superseded by a newer push"
		if p, err := plan.Load(s.PlanPath(o.Unit)); err == nil && len(p.Refs) > 0 {
			reason += " (" + p.Refs[0].Short() + ")"
		}
		return reason
	}
	return ""
}

// others lists the states of the other units of u's repository and job.
func (s *Store) others(u *plan.Unit) []*State {
	all, _ := s.list(namePrefix(u.Name))
	out := all[:0]
	for _, st := range all {
		if st.Unit != u.Name && st.Job == u.Job && st.Repo == u.Repo {
			out = append(out, st)
		}
	}
	return out
}

// namePrefix is the part of a unit name shared by all units of its job and
// repository: "git-<job>-<repo>-". Names are cut to fit systemd's limit,
// so the job and repository are checked again in the state.
func namePrefix(name string) string {
	// git-JOB-REPO-YYYYMMDD-HHMMSS-XXXXXXXX.service
	const tail = len("-20060102-150405-01234567.service")
	if len(name) <= tail {
		return ""
	}
	return name[:len(name)-tail+1]
}

// NextSeq returns the repository's next sequence number, under a lock, so
// concurrent pushes are numbered in the order their hooks got here.
func (s *Store) NextSeq() (uint64, error) {
	path := layout.Seq(s.RepoPath)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return 0, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return 0, err
	}
	var buf [8]byte
	n, _ := f.ReadAt(buf[:], 0)
	var seq uint64
	if n == 8 {
		seq = binary.BigEndian.Uint64(buf[:])
	}
	seq++
	binary.BigEndian.PutUint64(buf[:], seq)
	if _, err := f.WriteAt(buf[:], 0); err != nil {
		return 0, err
	}
	return seq, nil
}

// QueueOrder compares units of one job the way they follow each other, for
// slices.SortFunc: by sequence number (queue, coalesce), then by when
// their plan was saved. The last is the newest push's: a push numbers,
// cancels and saves its units under the repository's launch lock, so
// replace and coalesce never cancel it for an older one.
func QueueOrder(a, b *State) int {
	if a.Seq != b.Seq {
		if a.Seq < b.Seq {
			return -1
		}
		return 1
	}
	return a.Saved.Compare(b.Saved)
}

// sortBySeq orders states by sequence number, then name.
func sortBySeq(sts []*State) {
	slices.SortFunc(sts, func(a, b *State) int {
		if a.Seq != b.Seq {
			if a.Seq < b.Seq {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Unit, b.Unit)
	})
}

// Follow is what a reader following unit name's log (`hookrun logs -f`)
// needs to know: whether more can come. done is true once the outcome is
// recorded (st.Phase Ended), or when nothing will ever record one here:
// the state is gone (pruned, or the unit never had one: not started, the
// history has it), or the unit was abandoned before its hand-over (the
// push's hook died), or it was handed over and never taken over within
// StartGrace (its manager lost it). why says which, for a person, when
// the outcome is not recorded; st is nil when there is no state.
func (s *Store) Follow(name string) (st *State, done bool, why string) {
	l, st := s.liveness(name)
	switch {
	case st == nil:
		if _, err := os.Stat(s.StatePath(name)); err == nil {
			// There, but unreadable: it will not become readable.
			_, err := s.Load(name)
			return nil, true, fmt.Sprintf("its state cannot be read: %v", err)
		}
		return nil, true, "it has no state (it never started, or its state was pruned)"
	case st.Phase == Ended:
		return st, true, ""
	case l != Gone:
		return st, false, ""
	case st.Phase == Queued:
		return st, true, "never started: the push's hook ended before handing it over"
	case st.Phase == Started:
		return st, true, "never started: its manager did not run it within " + StartGrace.String()
	}
	// Running, its hookrun exec gone: its ExecStopPost (hookrun notify)
	// records the outcome in a moment, or `hookrun reconcile` does.
	return st, false, "its hookrun exec has ended; its outcome is not recorded yet"
}

// Damaged lists, by name, the units of the repository whose state, or
// whose plan beside a state, cannot be read: hookrun writes both whole
// (plans once, states a whole record at a time), so they were damaged from
// outside (a disk error, a hand edit). List
// leaves them out; `hookrun status` shows them from here.
func (s *Store) Damaged() []error {
	entries, err := os.ReadDir(s.StateDir())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return []error{fmt.Errorf("cannot read the unit states in %s: %w", s.StateDir(), err)}
	}
	var out []error
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".json") || strings.HasPrefix(n, ".") {
			continue
		}
		name := strings.TrimSuffix(n, ".json")
		if _, err := readState(filepath.Join(s.StateDir(), n)); err != nil {
			if !errors.Is(err, fs.ErrNotExist) { // removed meanwhile
				out = append(out, fmt.Errorf("unit %s: %w", name, err))
			}
			continue
		}
		// The plan is written whole before the state: with a state, a plan
		// that cannot be read is damaged, not being written.
		if _, err := plan.Load(s.PlanPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			out = append(out, fmt.Errorf("unit %s: its plan %s cannot be read: %w (its job cannot run, and its notification settings are lost)", name, s.PlanPath(name), err))
		}
	}
	return out
}

// Known reports whether the repository at repo has a state for the unit
// name or recorded its outcome: only then can the journal have its output.
func Known(repo, name string) bool {
	if _, err := Open(repo).Load(name); err == nil {
		return true
	}
	recs, _ := history.Read(layout.History(repo))
	for _, r := range recs {
		if r.Unit == name {
			return true
		}
	}
	return false
}
