package unit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/hookrun/hookrun/internal/layout"
)

// TestLogIsBounded: a job printing far more than log_max leaves a log
// within the bound that starts with its first lines and ends with its last
// ones, with one mark saying how much was cut between them.
func TestLogIsBounded(t *testing.T) {
	for _, tc := range []struct {
		name  string
		max   uint64
		lines int
		chunk int // lines per write
	}{
		{"small writes", 64 << 10, 200_000, 1},
		{"big writes", 64 << 10, 200_000, 5000},
		{"one write bigger than the bound", 16 << 10, 50_000, 50_000},
		{"within the bound", 64 << 10, 100, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := t.TempDir()
			l, err := OpenLog(repo, "u.service", tc.max)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			total := 0
			for i := 1; i <= tc.lines; i++ {
				fmt.Fprintf(&buf, "line %d of the job's output\n", i)
				if i%tc.chunk == 0 || i == tc.lines {
					total += buf.Len()
					if n, err := l.Write(buf.Bytes()); err != nil || n != buf.Len() {
						t.Fatalf("Write = %d, %v", n, err)
					}
					buf.Reset()
				}
			}
			l.Close()
			b, err := os.ReadFile(layout.Log(repo, "u.service"))
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(b)) > int64(tc.max) {
				t.Errorf("log is %d bytes, over its bound of %d", len(b), tc.max)
			}
			if !bytes.HasPrefix(b, []byte("line 1 of the job's output\nline 2 of")) {
				t.Errorf("log does not start with the first lines: %q", b[:min(len(b), 80)])
			}
			last := fmt.Sprintf("line %d of the job's output\n", tc.lines)
			if !bytes.HasSuffix(b, []byte(last)) {
				t.Errorf("log does not end with the last line %q: %q", last, b[max(0, len(b)-80):])
			}
			marks := regexp.MustCompile(`\n\[hookrun: (\d+) bytes of output cut here[^\n]*\]\n`).FindAllSubmatch(b, -1)
			if total <= int(tc.max) {
				if len(marks) != 0 || len(b) != total {
					t.Errorf("a log within its bound was cut: %d marks, %d of %d bytes", len(marks), len(b), total)
				}
				return
			}
			if len(marks) != 1 {
				t.Fatalf("%d cut marks, want 1", len(marks))
			}
			var cut int
			fmt.Sscan(string(marks[0][1]), &cut)
			if kept := len(b) - len(marks[0][0]); kept+cut != total {
				t.Errorf("kept %d + cut %d = %d bytes, want the %d written", kept, cut, kept+cut, total)
			}
			// Whole lines on both sides of the mark.
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				if line != "" && !strings.HasPrefix(line, "line ") && !strings.HasPrefix(line, "[hookrun: ") {
					t.Fatalf("broken line %q", line)
				}
			}
		})
	}
}

// A log whose file cannot be written (a full disk: /dev/full) takes every
// write all the same, so that what copies the job's output goes on, and
// keeps the first error.
func TestLogWriteNeverFails(t *testing.T) {
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	l := &Log{f: f, max: 1 << 20}
	defer l.Close()
	for range 3 {
		if n, err := l.Write([]byte("a line of output\n")); n != 17 || err != nil {
			t.Fatalf("Write = %d, %v; want 17, nil", n, err)
		}
	}
	if err := l.Err(); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Err() = %v, want ENOSPC", err)
	}
}
