// Package history keeps a repository's small record of finished units, so
// `hookrun status` can show runs systemd has already forgotten.
package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/hookrun/hookrun/internal/atomicfile"
	"github.com/hookrun/hookrun/internal/outcome"
)

// Keep is how many records a repository keeps.
const Keep = 200

// Record is one finished unit.
type Record struct {
	Unit string `json:"unit"`
	Repo string `json:"repo"`
	Job  string `json:"job"`
	Ref  string `json:"ref"`
	// Refs counts the refs a per = "push" unit ran for, when more than
	// one: Ref is the first of them.
	Refs     int           `json:"refs,omitempty"`
	Short    string        `json:"short"`
	Runner   string        `json:"runner"`
	Host     string        `json:"host,omitempty"` // the [hosts.NAME] it ran on; empty: here
	Result   outcome.Kind  `json:"result"`         // success, failure, cancelled
	Reason   string        `json:"reason,omitempty"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration"`
	// Ntfy is what became of the unit's notification (Output outcome.Ntfy):
	// nil when none was due. History files written before deliveries were
	// typed have its text form instead ("notify": "delivered", "not
	// delivered: ..."), which reading turns into this (parseNotify).
	Ntfy *outcome.Delivery `json:"ntfy,omitempty"`
	// Outputs is what became of the outcome at each output other than
	// ntfy (the status site, the forge, each webhook), typed; Deliveries
	// adds ntfy's.
	Outputs []outcome.Delivery `json:"outputs,omitempty"`
}

// UnmarshalJSON reads a record, of either form: a file written before
// deliveries were typed has ntfy's as the string "notify".
func (r *Record) UnmarshalJSON(b []byte) error {
	type plain Record // without this method
	var v struct {
		plain
		Notify string `json:"notify"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Record(v.plain)
	if r.Ntfy == nil && v.Notify != "" {
		d := parseNotify(v.Notify)
		r.Ntfy = &d
	}
	return nil
}

// parseNotify reads the text form of ntfy's delivery that history files
// written before deliveries were typed have: "pending", "delivered",
// "delivered in the push's digest", "not delivered: ERR" or "maybe
// delivered: ERR", either failure maybe followed by " (the push's digest
// of N units)". It is for those old files only: hookrun writes Ntfy.
func parseNotify(s string) outcome.Delivery {
	d := outcome.Delivery{Output: outcome.Ntfy}
	switch {
	case s == "pending":
		d.State = outcome.Pending
	case s == "delivered":
		d.State = outcome.Delivered
	case strings.HasPrefix(s, "delivered"):
		d.State, d.Digest = outcome.Delivered, -1 // "in the push's digest", of a number not recorded
	case strings.HasPrefix(s, "maybe delivered"):
		d.State, d.Error = outcome.MaybeDelivered, strings.TrimPrefix(s, "maybe delivered: ")
	default:
		d.State, d.Error = outcome.NotDelivered, strings.TrimPrefix(s, "not delivered: ")
	}
	if d.Failed() {
		if i := strings.LastIndex(d.Error, " (the push's digest of "); i >= 0 {
			var n int
			if _, err := fmt.Sscanf(d.Error[i:], " (the push's digest of %d units)", &n); err == nil && n > 0 {
				d.Error, d.Digest = d.Error[:i], n
			}
		}
	}
	return d
}

// Deliveries is what became of the outcome at every output: ntfy's
// first, then Outputs.
func (r Record) Deliveries() []outcome.Delivery {
	var ds []outcome.Delivery
	if r.Ntfy != nil {
		ds = append(ds, *r.Ntfy)
	}
	return append(ds, r.Outputs...)
}

// NotifyFailed reports whether r records a notification that failed or may
// have failed.
func (r Record) NotifyFailed() bool { return r.Ntfy != nil && r.Ntfy.Failed() }

// Append adds r to the file at path, keeping the newest Keep records (see
// AppendAll).
func Append(path string, r Record) error { return AppendAll(path, []Record{r}) }

// maxAppended is the size up to which AppendAll appends to the file rather
// than rewriting it: about three times Keep records of usual size (300-400
// bytes), so a rewrite comes every few hundred ends while a reader (status)
// never parses more than some 800 records. Past it, the file is rewritten
// with its newest Keep records; readers take only those anyway.
const maxAppended = 256 << 10

// AppendAll adds rs to the file at path, keeping the newest Keep records.
// Writers are serialised with flock. The records are appended, in one
// write, synced: a unit's end no longer rewrites the whole file (creating
// an inode and writing Keep records each time). A reader never takes a
// line an append has not finished (Read), a failed append is cut off
// again, and a tail a crash left cut makes the next writer rewrite the
// file without it, so every line stays a whole record.
func AppendAll(path string, rs []Record) error {
	var add []byte
	for _, r := range rs[max(0, len(rs)-Keep):] {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		add = append(append(add, b...), '\n')
	}
	return locked(path, func() error { return addLocked(path, add) })
}

// addLocked adds the lines add to the file at path: appended when it can
// be (appendLines), else in a rewrite. The caller holds the flock.
func addLocked(path string, add []byte) error {
	if done, err := appendLines(path, add); done || err != nil {
		return err
	}
	return rewriteLocked(path, func(lines [][]byte) ([][]byte, error) {
		return append(lines, add), nil
	})
}

// AppendNew is Append unless the file at path has a record of r.Unit
// already, checked under the writers' flock: for a record appended late
// (a unit's end recorded by Reconcile), which an earlier try may have
// written although it reported an error (its fsync failed), or another
// process may be appending at the same time.
func AppendNew(path string, r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	add := append(b, '\n')
	return locked(path, func() error {
		old, _ := os.ReadFile(path)
		for _, line := range wholeLines(old) {
			var o Record
			if r.Unit != "" && json.Unmarshal(line, &o) == nil && o.Unit == r.Unit {
				return nil
			}
		}
		return addLocked(path, add)
	})
}

// appendLines appends add to the file at path when it can: the file
// exists, ends with a whole line and stays under maxAppended. done says
// whether it did (or failed trying); otherwise the file is left to a
// rewrite.
func appendLines(path string, add []byte) (done bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false, nil // missing, or not ours to open: the rewrite says
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 || fi.Size()+int64(len(add)) > maxAppended {
		return false, nil
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, fi.Size()-1); err != nil || last[0] != '\n' {
		return false, nil
	}
	if _, err := f.WriteAt(add, fi.Size()); err != nil {
		_ = f.Truncate(fi.Size()) // keep every line whole
		return true, fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return true, fmt.Errorf("write %s: %w", path, err)
	}
	return true, nil
}

// SetNotify records d, what became of the notification of unit (see
// Record.Ntfy), in its newest record at path. A unit with no record there
// (pruned meanwhile) is not an error.
func SetNotify(path, unit string, d outcome.Delivery) error {
	d.Output = outcome.Ntfy
	return changeNewest(path, func(r Record) bool { return r.Unit == unit }, func(r *Record) { r.Ntfy = &d })
}

// SetOutputs records what became of the outcome of unit at its outputs
// besides ntfy (Record.Outputs) in its newest record at path: each of ds
// replaces the delivery of the same output. A unit with no record there
// is not an error.
func SetOutputs(path, unit string, ds []outcome.Delivery) error {
	return changeNewest(path, func(r Record) bool { return r.Unit == unit }, func(r *Record) {
		for _, d := range ds {
			if j := slices.IndexFunc(r.Outputs, func(o outcome.Delivery) bool { return o.Output == d.Output }); j >= 0 {
				r.Outputs[j] = d
			} else {
				r.Outputs = append(r.Outputs, d)
			}
		}
	})
}

// rewrite replaces the file at path with edit of its lines (each with its
// newline), under the writers' flock.
func rewrite(path string, edit func([][]byte) ([][]byte, error)) error {
	return locked(path, func() error { return rewriteLocked(path, edit) })
}

// locked runs f holding the writers' flock of the file at path.
func locked(path string, f func() error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	return f()
}

// rewriteLocked replaces the file at path atomically with edit of its
// whole lines, keeping the newest Keep; a last line a crash cut is
// dropped. The caller holds the flock.
func rewriteLocked(path string, edit func([][]byte) ([][]byte, error)) error {
	old, _ := os.ReadFile(path)
	lines, err := edit(wholeLines(old))
	if err != nil {
		return err
	}
	return atomicfile.Write(path, bytes.Join(lines[max(0, len(lines)-Keep):], nil), 0o600)
}

// wholeLines splits b into its lines, each with its newline. A last line
// without one is an append not finished or cut by a crash, left out, or a
// whole record an editor left without its newline, given one.
func wholeLines(b []byte) [][]byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	n := len(lines)
	if n == 0 || bytes.HasSuffix(lines[n-1], []byte("\n")) {
		return lines
	}
	if json.Valid(lines[n-1]) {
		lines[n-1] = append(lines[n-1], '\n')
		return lines
	}
	return lines[:n-1]
}

// Read returns the records at path, oldest first; a missing file is empty.
// Lines that cannot be read are left out (ReadChecked counts them).
func Read(path string) ([]Record, error) {
	recs, _, err := ReadChecked(path)
	return recs, err
}

// ReadChecked is Read that also returns the numbers of the lines that are
// not records (damaged from outside: hookrun writes whole lines). A line
// holding a NUL byte, which JSON never does, is not counted: an append a
// power loss tore (its last page reached the disk, the one before it did
// not), a record that was never recorded rather than damage. Only the
// newest Keep records are returned: the file may hold more between its
// rewrites (AppendAll).
func ReadChecked(path string) (recs []Record, bad []int, err error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	for i, line := range wholeLines(b) {
		var r Record
		if json.Unmarshal(line, &r) == nil {
			recs = append(recs, r)
		} else if len(bytes.TrimSpace(line)) > 0 && bytes.IndexByte(line, 0) < 0 {
			bad = append(bad, i+1)
		}
	}
	return recs[max(0, len(recs)-Keep):], bad, nil
}

// PruneDir removes all but the newest keep files of dir (the per-unit log
// files), so a busy repository's state stays bounded like its history.
func PruneDir(dir string, keep int) { PruneDirBytes(dir, keep, 0) }

// PruneDirBytes is PruneDir that also removes the oldest files beyond
// maxBytes together (0: no bound on bytes); the newest file always stays.
func PruneDirBytes(dir string, keep int, maxBytes int64) {
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) <= keep && maxBytes <= 0 {
		return
	}
	type file struct {
		name string
		mod  time.Time
		size int64
	}
	files := make([]file, 0, len(entries))
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			files = append(files, file{e.Name(), info.ModTime(), info.Size()})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mod.After(files[j].mod) })
	var total int64
	for i, f := range files {
		total += f.size
		if i >= keep || i > 0 && maxBytes > 0 && total > maxBytes {
			os.Remove(filepath.Join(dir, f.name))
		}
	}
}

// SetNotifyPush records what became of the notification of a push that
// started nothing: its record has no unit, and is known by its start and
// reason. A record no longer there (pruned meanwhile) is not an error.
func SetNotifyPush(path string, start time.Time, reason string, d outcome.Delivery) error {
	d.Output = outcome.Ntfy
	return changeNewest(path, func(r Record) bool { return r.Unit == "" && r.Start.Equal(start) && r.Reason == reason },
		func(r *Record) { r.Ntfy = &d })
}

// changeNewest applies change to the newest record at path that match
// selects; none is not an error.
func changeNewest(path string, match func(Record) bool, change func(*Record)) error {
	return rewrite(path, func(lines [][]byte) ([][]byte, error) {
		for i := len(lines) - 1; i >= 0; i-- {
			var r Record
			if json.Unmarshal(lines[i], &r) != nil || !match(r) {
				continue
			}
			change(&r)
			b, err := json.Marshal(r)
			if err != nil {
				return nil, err
			}
			lines[i] = append(b, '\n')
			break
		}
		return lines, nil
	})
}

// Replace puts r in place of the newest record of its unit at path (its
// outcome corrected), or appends it when there is none.
func Replace(path string, r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return rewrite(path, func(lines [][]byte) ([][]byte, error) {
		// Only the lines the rewrite keeps: a record older than those
		// (the file holds more between rewrites) is gone for readers.
		lines = lines[max(0, len(lines)-Keep):]
		for i := len(lines) - 1; i >= 0; i-- {
			var old Record
			if json.Unmarshal(lines[i], &old) == nil && old.Unit == r.Unit {
				lines[i] = append(b, '\n')
				return lines, nil
			}
		}
		lines = append(lines, append(b, '\n'))
		return lines[max(0, len(lines)-Keep):], nil
	})
}
