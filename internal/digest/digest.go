// Package digest gathers the outcomes of one push's units into a single
// notification. ntfy limits each client to a burst of 60 requests and then
// one every 5 s, so a push that starts hundreds of units cannot notify each
// one within a minute; it sends one digest instead ("site: 198 ✅, 2 ❌ —
// main, dev").
//
// There is no daemon: the hook creates the digest's directory and says how
// many units it covers (Assign), every unit records its outcome there when it
// ends (Record), and the one whose record completes the set claims the
// digest and sends it. The claim is an O_EXCL file, so exactly one unit
// sends, however many end at the same moment.
//
// The package knows files and plans, not ntfy: notify.BuildDigest renders
// the message.
package digest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hookrun/hookrun/internal/atomicfile"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
)

// MaxAge is how long an unfinished digest is kept: one whose unit never
// recorded an outcome (a lost unit) is removed by the next Assign after that.
const MaxAge = 7 * 24 * time.Hour

const (
	expectedFile = "expected"
	claimFile    = "claimed"
	entryExt     = ".outcome"
)

// Entry is one unit's part of a digest.
type Entry struct {
	Unit   string       `json:"unit"`
	Job    string       `json:"job"`
	Ref    string       `json:"ref,omitempty"` // the first ref of the unit
	Refs   int          `json:"refs,omitempty"`
	Kind   outcome.Kind `json:"kind"` // success, failure, cancelled
	Reason string       `json:"reason,omitempty"`
	// Notify says whether the unit's `on` filter lets this outcome notify;
	// a digest is sent when any of its entries does.
	Notify bool `json:"notify"`
}

// Group is one digest of a push: the units that share an ntfy server, topic
// and token, when they are more than their DigestOver.
type Group struct {
	Dir   string
	Units []*plan.Unit
}

// Assign groups the units of one push by where they notify and gives every
// group larger than its DigestOver (plan.Notify.DigestOver; 0 never) a
// digest: it creates the group's directory under stateDir/digests and sets
// each unit's Notify.Digest to it. Units without notifications, and groups
// at or under the threshold, are left alone. Old unfinished digests are
// removed on the way (MaxAge).
func Assign(stateDir string, units []*plan.Unit, now time.Time) ([]Group, error) {
	type key struct{ server, topic, token string }
	var order []key
	byKey := map[key][]*plan.Unit{}
	for _, u := range units {
		if u.Notify.Server == "" || u.Notify.DigestOver <= 0 {
			continue
		}
		k := key{u.Notify.Server, u.Notify.Topic, u.Notify.TokenFile}
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], u)
	}
	parent := layout.Digests(stateDir)
	var groups []Group
	for _, k := range order {
		us := byKey[k]
		if len(us) <= us[0].Notify.DigestOver {
			continue
		}
		if len(groups) == 0 {
			prune(parent, now)
		}
		dir, err := create(parent, len(us), now)
		if err != nil {
			return groups, fmt.Errorf("digest of %d notifications to topic %s: %w", len(us), k.topic, err)
		}
		for _, u := range us {
			u.Notify.Digest = dir
		}
		groups = append(groups, Group{Dir: dir, Units: us})
	}
	return groups, nil
}

// create makes a new digest directory under parent for n entries.
func create(parent string, n int, now time.Time) (string, error) {
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return "", err
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	dir := filepath.Join(parent, now.UTC().Format("20060102-150405")+"-"+hex.EncodeToString(b[:]))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", err
	}
	if err := writeAtomic(filepath.Join(dir, expectedFile), []byte(strconv.Itoa(n)+"\n")); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// Record stores e in the digest at dir. When e completes the digest and
// this call claims it, Record returns every entry (in unit order) and send
// = true: the caller sends the digest and then calls Remove. Otherwise it
// returns send = false and another unit will send it.
func Record(dir string, e Entry) (entries []Entry, send bool, err error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, false, err
	}
	if strings.ContainsAny(e.Unit, "/\x00") || e.Unit == "" || e.Unit[0] == '.' {
		return nil, false, fmt.Errorf("digest %s: bad unit name %q", dir, e.Unit)
	}
	if err := writeAtomic(filepath.Join(dir, e.Unit+entryExt), b); err != nil {
		return nil, false, fmt.Errorf("record outcome in digest %s: %w", dir, err)
	}
	// From here on, a digest that is gone was completed, with e in it, by
	// a unit that recorded at the same moment, and is being sent.
	want, err := expected(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	entries, err = Entries(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil || len(entries) < want {
		return nil, false, err
	}
	f, err := os.OpenFile(filepath.Join(dir, claimFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) || errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil // another unit completed it at the same moment
	}
	if err != nil {
		return nil, false, fmt.Errorf("claim digest %s: %w", dir, err)
	}
	f.Close()
	return entries, true, nil
}

// Entries returns the outcomes recorded at dir so far, in unit order.
func Entries(dir string) ([]Entry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read digest: %w", err)
	}
	var out []Entry
	for _, de := range des {
		if !strings.HasSuffix(de.Name(), entryExt) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			return nil, fmt.Errorf("read digest: %w", err)
		}
		var e Entry
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("digest entry %s: %w", filepath.Join(dir, de.Name()), err)
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Unit, b.Unit) })
	return out, nil
}

// Remove deletes a sent digest.
func Remove(dir string) error { return os.RemoveAll(dir) }

func expected(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, expectedFile))
	if err != nil {
		return 0, fmt.Errorf("read digest: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("digest %s: bad %s file %q", dir, expectedFile, b)
	}
	return n, nil
}

// prune removes digests under parent older than MaxAge.
func prune(parent string, now time.Time) {
	des, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, de := range des {
		if info, err := de.Info(); err == nil && de.IsDir() && now.Sub(info.ModTime()) > MaxAge {
			os.RemoveAll(filepath.Join(parent, de.Name()))
		}
	}
}

// writeAtomic writes a file that readers see whole or not at all.
func writeAtomic(path string, b []byte) error { return atomicfile.Write(path, b, 0o600) }

// Hold marks the digests of groups as being filled by a live hook (an
// flock on each one's expected file) until release: Close leaves them
// alone meanwhile, however long the hook takes to save its units.
func Hold(groups []Group) (release func()) {
	var files []*os.File
	for _, g := range groups {
		if f, err := os.Open(filepath.Join(g.Dir, expectedFile)); err == nil {
			if syscall.Flock(int(f.Fd()), syscall.LOCK_SH) == nil {
				files = append(files, f)
			} else {
				f.Close()
			}
		}
	}
	return func() {
		for _, f := range files {
			f.Close()
		}
	}
}

// Open lists the digests under stateDir/digests that no unit has claimed
// yet, with when each last changed (made, or an entry recorded).
func Open(stateDir string) map[string]time.Time {
	parent := layout.Digests(stateDir)
	des, err := os.ReadDir(parent)
	if err != nil {
		return nil
	}
	out := map[string]time.Time{}
	for _, de := range des {
		dir := filepath.Join(parent, de.Name())
		if !de.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, claimFile)); err == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, expectedFile)); err != nil {
			continue
		}
		if info, err := os.Stat(dir); err == nil {
			out[dir] = info.ModTime() // the last entry's record
		}
	}
	return out
}

// Close claims the digest at dir although some of its units never
// recorded an outcome, and never will (the caller knows: its push's hook
// died before saving them, or their outcome could not be recorded). It
// returns the entries recorded and how many are missing, for the caller to
// send and then Remove; ok is false when another unit claimed it first.
func Close(dir string) (entries []Entry, missing int, ok bool, err error) {
	want, err := expected(dir)
	if err != nil {
		return nil, 0, false, err
	}
	// The push's hook holds it while it saves and starts the units.
	lk, err := os.Open(filepath.Join(dir, expectedFile))
	if err != nil {
		return nil, 0, false, nil
	}
	defer lk.Close()
	if err := syscall.Flock(int(lk.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil, 0, false, nil
	}
	f, err := os.OpenFile(filepath.Join(dir, claimFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) || errors.Is(err, fs.ErrNotExist) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, fmt.Errorf("claim digest %s: %w", dir, err)
	}
	f.Close()
	if entries, err = Entries(dir); err != nil {
		return nil, 0, true, err
	}
	return entries, max(0, want-len(entries)), true, nil
}
