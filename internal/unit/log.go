package unit

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/hookrun/hookrun/internal/job"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/plan"
)

// DefaultLogMax is a unit log's size bound when its job sets no log_max.
const DefaultLogMax = 10 << 20

// MaxLogsTotal bounds the log files of one repository together: Prune
// removes the oldest beyond it (and beyond KeepEnded files).
var MaxLogsTotal int64 = 256 << 20

// minLogMax is the smallest bound a log keeps: room for a head, the cut
// mark and a tail.
const minLogMax = 4 << 10

// Log is a unit's log file ($GIT_DIR/hookrun/logs/UNIT.log) bounded in
// size: once it would grow past its bound it keeps its beginning (the
// first half, to a line end) and its end, with a line marking the cut
// between them, so the last lines are always the job's last lines. Every
// write goes through it (the job's output, hookrun's own lines); it is
// safe for concurrent use. Later writers (`hookrun notify`'s outcome and
// delivery lines) append a few lines past the bound.
type Log struct {
	mu      sync.Mutex
	f       *os.File // O_APPEND: truncating and appending need no offsets
	max     int64
	size    int64 // the file's size
	cutting bool  // the log has been cut: headEnd and tail are set
	headEnd int64 // where the cut mark starts
	tail    int64 // where the kept end starts (after the mark)
	cut     int64 // bytes dropped so far
	err     error // the first write that failed
}

// OpenLog opens the log file of unit name of the repository for appending,
// creating it and its directory, bounded to max bytes (0: DefaultLogMax;
// plan.Infinity: no bound).
func OpenLog(repoPath, name string, max uint64) (*Log, error) {
	p := layout.Log(repoPath, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	l := &Log{f: f, size: fi.Size(), max: int64(max)}
	switch {
	case max == 0:
		l.max = DefaultLogMax
	case max == plan.Infinity || max > 1<<62:
		l.max = 0 // no bound
	case l.max < minLogMax:
		l.max = minLogMax
	}
	return l, nil
}

// Name is the file's path.
func (l *Log) Name() string { return l.f.Name() }

// Close closes the file.
func (l *Log) Close() error { return l.f.Close() }

// Write appends p, cutting the middle of the log when it would grow past
// its bound. It never fails: the log is a copy, and a write error (a full
// disk) must not stop the job's output from being copied on (to the
// journal; a copy that stopped would leave the job to die of SIGPIPE at its
// next write). The first failure is kept for Err, and later writes are
// tried again (space may come back).
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.write(p); err != nil && l.err == nil {
		l.err = err
	}
	return len(p), nil
}

// Err is the first write to the log file that failed, or nil: the log
// misses what was written then.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

func (l *Log) write(p []byte) (int, error) {
	if l.max == 0 || l.size+int64(len(p)) <= l.max {
		n, err := l.f.Write(p)
		l.size += int64(n)
		return n, err
	}
	n := len(p)
	if !l.cutting {
		// Fill the head (the first half) from p first, to a line end.
		if room := l.max/2 - l.size; room > 0 {
			part := p[:min(int64(len(p)), room)]
			if i := bytes.LastIndexByte(part, '\n'); i >= 0 {
				part = part[:i+1]
			}
			w, err := l.f.Write(part)
			l.size += int64(w)
			if err != nil {
				return w, err
			}
			p = p[len(part):]
		}
	}
	if err := l.compact(p); err != nil {
		return 0, err
	}
	return n, nil
}

// mark is the line that stands for the bytes cut.
func (l *Log) mark() []byte {
	return fmt.Appendf(nil, "\n[hookrun: %d bytes of output cut here: the log keeps its first and last part, log_max = %d bytes]\n", l.cut, l.max)
}

// compact rewrites the log as head + mark + the newest part of what
// follows the head and p, keeping it within the bound with room for about
// a quarter of it more before the next rewrite.
func (l *Log) compact(p []byte) error {
	if !l.cutting {
		// The head: the first half, ended at a line end when one is near.
		head := min(l.max/2, l.size)
		if head == l.size {
			// Write filled it to a line end.
		} else if head > 0 {
			buf := make([]byte, min(head, 4096))
			if n, _ := l.f.ReadAt(buf, head-int64(len(buf))); n == len(buf) {
				if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
					head = head - int64(len(buf)) + int64(i) + 1
				}
			}
		}
		l.headEnd, l.tail, l.cutting = head, head, true
	}
	budget := l.max - l.headEnd - int64(len(l.mark())) - 64 // the mark's count grows
	keep := budget * 3 / 4
	if keep < 1 {
		keep = 1
	}
	// The kept end: the newest keep bytes of the file's tail and p.
	old := l.size - l.tail
	var kept []byte
	if int64(len(p)) >= keep {
		kept = p[int64(len(p))-keep:]
		l.cut += old + int64(len(p)) - keep
	} else {
		fromOld := min(old, keep-int64(len(p)))
		kept = make([]byte, fromOld, fromOld+int64(len(p)))
		if _, err := l.f.ReadAt(kept, l.size-fromOld); err != nil && err != io.EOF {
			return err
		}
		kept = append(kept, p...)
		l.cut += old - fromOld
	}
	// Start the kept end at a line start when one is near.
	if i := bytes.IndexByte(kept[:min(len(kept), 4096)], '\n'); i >= 0 && i+1 < len(kept) {
		l.cut += int64(i + 1)
		kept = kept[i+1:]
	}
	if err := l.f.Truncate(l.headEnd); err != nil {
		return err
	}
	m := l.mark()
	if _, err := l.f.Write(append(m, kept...)); err != nil {
		l.size = l.headEnd
		return err
	}
	l.tail = l.headEnd + int64(len(m))
	l.size = l.tail + int64(len(kept))
	return nil
}

// LogsCommand is how a person on the server reads the unit's output.
func LogsCommand(u *plan.Unit) string {
	return "hookrun logs --repo " + job.Arg(u.RepoPath) + " " + u.Name
}
