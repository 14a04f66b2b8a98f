// Package repoindex is the server-wide list of repositories hookrun has run
// in, kept in the git user's state directory, so `hookrun status` and
// `hookrun logs UNIT` work from anywhere without knowing where repositories
// live. It is bounded: the Keep most recently used repositories.
package repoindex

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/hookrun/hookrun/internal/atomicfile"
	"github.com/hookrun/hookrun/internal/layout"
)

// Keep is how many repositories the index remembers.
const Keep = 500

// compactAt is the file size above which Touch rewrites the index without
// duplicates: appends are cheap, rewrites rare.
const compactAt = 64 << 10

// Path is the index file (layout.Index): $HOOKRUN_STATE_DIR/repositories,
// else $XDG_STATE_HOME/hookrun/repositories, else
// ~/.local/state/hookrun/repositories.
func Path(getenv func(string) string) string { return layout.Index(getenv) }

// Touch records that repoPath (absolute) was used now. A line shorter than
// PIPE_BUF appended with O_APPEND is written whole even when pushes to
// several repositories race.
func Touch(path, repoPath string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(repoPath + "\n")
	st, serr := f.Stat()
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return werr
	}
	if serr == nil && st.Size() > compactAt {
		return compact(path)
	}
	return nil
}

// List returns the indexed repositories, most recently used first, at most
// Keep. A missing index is an empty one.
func List(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return recent(b), nil
}

func recent(b []byte) []string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if l := sc.Text(); filepath.IsAbs(l) {
			lines = append(lines, l)
		}
	}
	var out []string
	seen := map[string]bool{}
	for i := len(lines) - 1; i >= 0 && len(out) < Keep; i-- {
		if !seen[lines[i]] {
			seen[lines[i]] = true
			out = append(out, lines[i])
		}
	}
	return out
}

// compact rewrites the index with each repository once, oldest first,
// under an exclusive lock so two compactions do not interleave.
func compact(path string) error {
	lf, err := os.OpenFile(path+".lock", os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	keep := recent(b)
	slices.Reverse(keep)
	var buf bytes.Buffer
	for _, r := range keep {
		buf.WriteString(r + "\n")
	}
	return atomicfile.Write(path, buf.Bytes(), 0o600)
}
