// Package history keeps a repository's small record of finished units, so
// `hookrun status` can show runs systemd has already forgotten.
package history

import (
	"bufio"
	"bytes"
	"encoding/json"
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
	// Notify is what became of the unit's notification: empty when none
	// was due, else NotifyPending, NotifyDelivered (maybe followed by how,
	// e.g. " in the push's digest"), or a failure starting with
	// "not delivered: " or "maybe delivered: ".
	Notify string `json:"notify,omitempty"`
	// Outputs is what became of the outcome at each output other than
	// ntfy (the status site, the forge, each webhook), typed; Deliveries
	// adds ntfy's, read from Notify.
	Outputs []outcome.Delivery `json:"outputs,omitempty"`
}

// NtfyOutput names ntfy's delivery in Deliveries.
const NtfyOutput = "ntfy"

// NotifyDelivery is ntfy's delivery as Notify records it (its string form,
// also that of every history file written before deliveries were typed);
// ok is false when none was due.
func (r Record) NotifyDelivery() (d outcome.Delivery, ok bool) {
	if r.Notify == "" {
		return d, false
	}
	d.Output = NtfyOutput
	switch {
	case r.Notify == NotifyPending:
		d.State = outcome.Pending
	case strings.HasPrefix(r.Notify, NotifyDelivered):
		d.State = outcome.Delivered
	case strings.HasPrefix(r.Notify, "maybe delivered"):
		d.State, d.Error = outcome.MaybeDelivered, strings.TrimPrefix(r.Notify, "maybe delivered: ")
	default:
		d.State, d.Error = outcome.NotDelivered, strings.TrimPrefix(r.Notify, "not delivered: ")
	}
	return d, true
}

// Deliveries is what became of the outcome at every output: ntfy's
// (NotifyDelivery) first, then Outputs.
func (r Record) Deliveries() []outcome.Delivery {
	var ds []outcome.Delivery
	if d, ok := r.NotifyDelivery(); ok {
		ds = append(ds, d)
	}
	return append(ds, r.Outputs...)
}

// Notification states of a Record.
const (
	NotifyPending   = "pending"
	NotifyDelivered = "delivered"
)

// NotifyFailed reports whether r records a notification that failed or may
// have failed.
func (r Record) NotifyFailed() bool {
	d, ok := r.NotifyDelivery()
	return ok && (d.State == outcome.NotDelivered || d.State == outcome.MaybeDelivered)
}

// Append adds r to the file at path, keeping the newest Keep records. Writers
// are serialised with flock; the file is replaced atomically.
func Append(path string, r Record) error { return AppendAll(path, []Record{r}) }

// AppendAll adds rs to the file at path in one rewrite, keeping the newest
// Keep records.
func AppendAll(path string, rs []Record) error {
	var add [][]byte
	for _, r := range rs[max(0, len(rs)-Keep):] {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		add = append(add, append(b, '\n'))
	}
	return rewrite(path, func(lines [][]byte) ([][]byte, error) {
		lines = append(lines, add...)
		return lines[max(0, len(lines)-Keep):], nil
	})
}

// SetNotify records what became of the notification of unit (see
// Record.Notify) in its newest record at path. A unit with no record there
// (pruned meanwhile) is not an error.
func SetNotify(path, unit, notify string) error {
	return rewrite(path, func(lines [][]byte) ([][]byte, error) {
		for i := len(lines) - 1; i >= 0; i-- {
			var r Record
			if json.Unmarshal(lines[i], &r) != nil || r.Unit != unit {
				continue
			}
			r.Notify = notify
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

// SetOutputs records what became of the outcome of unit at its outputs
// besides ntfy (Record.Outputs) in its newest record at path: each of ds
// replaces the delivery of the same output. A unit with no record there
// is not an error.
func SetOutputs(path, unit string, ds []outcome.Delivery) error {
	return rewrite(path, func(lines [][]byte) ([][]byte, error) {
		for i := len(lines) - 1; i >= 0; i-- {
			var r Record
			if json.Unmarshal(lines[i], &r) != nil || r.Unit != unit {
				continue
			}
			for _, d := range ds {
				if j := slices.IndexFunc(r.Outputs, func(o outcome.Delivery) bool { return o.Output == d.Output }); j >= 0 {
					r.Outputs[j] = d
				} else {
					r.Outputs = append(r.Outputs, d)
				}
			}
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

// rewrite replaces the file at path with edit of its lines (each with its
// newline). Writers are serialised with flock; the file is replaced
// atomically.
func rewrite(path string, edit func([][]byte) ([][]byte, error)) error {
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
	old, _ := os.ReadFile(path)
	lines := bytes.SplitAfter(old, []byte("\n"))
	if n := len(lines); n > 0 && len(lines[n-1]) == 0 {
		lines = lines[:n-1]
	}
	lines, err = edit(lines)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, bytes.Join(lines, nil), 0o600)
}

// Read returns the records at path, oldest first; a missing file is empty.
// Lines that cannot be read are left out (ReadChecked counts them).
func Read(path string) ([]Record, error) {
	recs, _, err := ReadChecked(path)
	return recs, err
}

// ReadChecked is Read that also returns the numbers of the lines that are
// not records (damaged from outside: hookrun replaces the file whole).
func ReadChecked(path string) (recs []Record, bad []int, err error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var r Record
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			recs = append(recs, r)
		} else if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			bad = append(bad, n)
		}
	}
	return recs, bad, sc.Err()
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
func SetNotifyPush(path string, start time.Time, reason, notify string) error {
	return rewrite(path, func(lines [][]byte) ([][]byte, error) {
		for i := len(lines) - 1; i >= 0; i-- {
			var r Record
			if json.Unmarshal(lines[i], &r) != nil || r.Unit != "" || !r.Start.Equal(start) || r.Reason != reason {
				continue
			}
			r.Notify = notify
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
