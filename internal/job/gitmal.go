package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hookrun/hookrun/internal/plan"
)

// Names of the directories and lock file hookrun keeps beside a gitmal
// site OUT (all in OUT's parent directory, so renames are atomic):
//
//	OUT.hookrun-new-RANDOM  the build in progress
//	OUT.hookrun-old-RANDOM  the previous site, while it is being removed
//	.OUT.hookrun-lock       held while a build of OUT runs
//
// Builds of one site run one at a time; a build removes what a killed
// earlier build left behind.
const (
	newSuffix  = ".hookrun-new-"
	oldSuffix  = ".hookrun-old-"
	lockSuffix = ".hookrun-lock"
)

const gitmalHint = `install gitmal (go install github.com/antonmedv/gitmal@v1.0.2) or set gitmal = "/path/to/gitmal" in the job`

// gitmalValueFlags are gitmal's flags that take a separate value.
var gitmalValueFlags = map[string]bool{
	"--owner": true, "--name": true, "--output": true, "--branches": true,
	"--default-branch": true, "--theme": true,
}

// renameExchange atomically exchanges two paths; a variable so tests can
// exercise the fallback for file systems without RENAME_EXCHANGE.
var renameExchange = func(a, b string) error {
	return unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
}

// runGitmal generates the site of a gitmal step.
//
// s.Argv is the full gitmal command line. Its --output value (as
// "--output DIR" or "--output=DIR") must be s.Output; hookrun replaces it
// with a fresh directory OUT.hookrun-new-RANDOM beside the output, or
// inserts "--output FRESH" after argv[0] when the plan has none. When gitmal
// exits 0, the fresh directory replaces the output in one atomic rename
// (renameat2 RENAME_EXCHANGE; two renames where the file system lacks it)
// and the previous site is removed, so the site is never half-written and
// pages of deleted files disappear. When gitmal fails, the fresh directory
// is removed and the previous site stays. A relative output is taken
// relative to the step's working directory; its parent is created if
// missing. An existing output that is not a directory (a file, a symlink)
// is refused rather than replaced.
func runGitmal(ctx context.Context, u *plan.Unit, s *plan.Step, stdout, stderr io.Writer) error {
	if s.Output == "" {
		return errors.New("gitmal step has no output directory in the plan")
	}
	for _, a := range s.Argv {
		if a == "--preview-themes" || strings.HasPrefix(a, "--preview-themes=") {
			return errors.New("refusing to run gitmal with --preview-themes: it starts a server and never exits; remove it from args")
		}
	}
	dir := WorkDir(u, s)
	out := s.Output
	if !filepath.IsAbs(out) {
		out = filepath.Join(dir, out)
	}
	out, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	parent, base := filepath.Split(out)
	if base == "" || base == "." || base == ".." {
		return fmt.Errorf("gitmal output %s is not a usable site directory", s.Output)
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("create the parent of the gitmal output: %w", err)
	}

	unlock, err := lockSite(ctx, parent, base, stderr)
	if err != nil {
		return err
	}
	defer unlock()
	removeLeftovers(parent, base, stderr)

	mode := os.FileMode(0o755)
	fi, err := os.Lstat(out)
	exists := err == nil
	switch {
	case exists && !fi.IsDir():
		return fmt.Errorf("gitmal output %s exists and is not a directory (%s): refusing to replace it; remove it or point output elsewhere", out, fi.Mode().Type())
	case exists:
		mode = fi.Mode().Perm()
	case !errors.Is(err, os.ErrNotExist):
		return err
	}

	fresh, err := os.MkdirTemp(parent, base+newSuffix)
	if err != nil {
		return fmt.Errorf("create a fresh directory for the site: %w", err)
	}
	if err := os.Chmod(fresh, mode); err != nil {
		os.RemoveAll(fresh)
		return err
	}
	argv, err := withOutput(s.Argv, s.Output, out, fresh)
	if err != nil {
		os.RemoveAll(fresh)
		return err
	}

	said := &lastLines{}
	// gitmal redraws its progress with "\r": the log keeps each line's last
	// drawing, not hundreds of bars on one line.
	outLog, errLog := &redraws{w: stdout}, &redraws{w: stderr}
	p := newProc(u, s, argv, outLog, io.MultiWriter(errLog, said))
	p.hint = gitmalHint
	err = run(ctx, p)
	outLog.flush()
	errLog.flush()
	if err != nil {
		os.RemoveAll(fresh)
		if exists {
			fmt.Fprintf(stderr, "hookrun: gitmal failed; the previous site at %s is unchanged\n", out)
		}
		// gitmal says why on its last lines ("No default branch found…"):
		// the notification and the history carry it.
		var ee *ExitError
		if errors.As(err, &ee) && !ee.notStarted && said.String() != "" {
			ee.Detail = "gitmal: " + said.String()
		}
		return err
	}
	if err := swapIn(fresh, out, exists, stderr); err != nil {
		os.RemoveAll(fresh)
		return err
	}
	fmt.Fprintf(stderr, "hookrun: site published at %s\n", out)
	return nil
}

// withOutput is argv with the value of every --output replaced by fresh.
// Each value must name the planned output (as written or resolved to abs).
func withOutput(argv []string, planned, abs, fresh string) ([]string, error) {
	if len(argv) == 0 {
		return nil, errors.New("nothing to run: the plan's argv is empty")
	}
	matches := func(v string) bool {
		return v == planned || filepath.Clean(v) == filepath.Clean(planned) || filepath.Clean(v) == abs
	}
	out := append([]string(nil), argv...)
	found := false
	for i := 1; i < len(out); i++ {
		a := out[i]
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--output="); ok {
			if !matches(v) {
				return nil, fmt.Errorf("plan error: gitmal --output %q is not the step's output %q", v, planned)
			}
			out[i] = "--output=" + fresh
			found = true
			continue
		}
		if !gitmalValueFlags[a] {
			continue
		}
		if i+1 >= len(out) {
			return nil, fmt.Errorf("plan error: gitmal %s has no value", a)
		}
		i++
		if a == "--output" {
			if !matches(out[i]) {
				return nil, fmt.Errorf("plan error: gitmal --output %q is not the step's output %q", out[i], planned)
			}
			out[i] = fresh
			found = true
		}
	}
	if !found {
		out = append([]string{out[0], "--output", fresh}, out[1:]...)
	}
	return out, nil
}

// swapIn puts the finished build fresh in place of out.
func swapIn(fresh, out string, exists bool, stderr io.Writer) error {
	if !exists {
		if err := os.Rename(fresh, out); err != nil {
			return fmt.Errorf("publish the site: %w", err)
		}
		return nil
	}
	old := out + oldSuffix + strings.TrimPrefix(filepath.Base(fresh), filepath.Base(out)+newSuffix)
	err := renameExchange(fresh, out)
	switch {
	case err == nil:
		// fresh now holds the previous site.
		if err := os.Rename(fresh, old); err != nil {
			old = fresh
		}
	case errors.Is(err, syscall.EINVAL), errors.Is(err, syscall.ENOSYS), errors.Is(err, syscall.EOPNOTSUPP):
		// No RENAME_EXCHANGE here: move the old site away, then the new
		// one in. Between the two renames, out is briefly missing.
		if err := os.Rename(out, old); err != nil {
			return fmt.Errorf("move the previous site away: %w", err)
		}
		if err := os.Rename(fresh, out); err != nil {
			if rerr := os.Rename(old, out); rerr != nil {
				return fmt.Errorf("publish the site: %w (and restoring the previous site failed: %v; it is at %s)", err, rerr, old)
			}
			return fmt.Errorf("publish the site: %w", err)
		}
	default:
		return fmt.Errorf("publish the site: %w", err)
	}
	if err := os.RemoveAll(old); err != nil {
		fmt.Fprintf(stderr, "hookrun: warning: could not remove the previous site %s: %v (the next build retries)\n", old, err)
	}
	return nil
}

// removeLeftovers removes fresh and old directories of base that an earlier
// build, killed before it could clean up, left in parent. The caller holds
// the site's lock, so none of them is in use.
func removeLeftovers(parent, base string, stderr io.Writer) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() || !(strings.HasPrefix(n, base+newSuffix) || strings.HasPrefix(n, base+oldSuffix)) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(parent, n)); err != nil {
			fmt.Fprintf(stderr, "hookrun: warning: could not remove leftover %s: %v\n", filepath.Join(parent, n), err)
		}
	}
}

// lockSite takes the exclusive lock of the site base in parent, waiting
// while another build holds it, until ctx ends. The returned function
// releases it.
func lockSite(ctx context.Context, parent, base string, stderr io.Writer) (func(), error) {
	path := filepath.Join(parent, "."+base+lockSuffix)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock the site: %w", err)
	}
	waited := false
	err = flockWait(ctx, f, 200*time.Millisecond, func(int) {
		if !waited {
			fmt.Fprintf(stderr, "hookrun: waiting for another build of %s to finish\n", filepath.Join(parent, base))
			waited = true
		}
	})
	if err != nil {
		f.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("waiting for another build of the site: %w", err)
		}
		return nil, fmt.Errorf("lock the site: %w", err)
	}
	return func() { f.Close() }, nil
}

// redraws passes lines on to w, each as last drawn: what a "\r" ends is
// dropped, as a terminal overwrites it. A line longer than maxRedrawBytes
// is passed on as it is.
type redraws struct {
	w   io.Writer
	cur []byte
	cr  bool // a "\r" was last: it ends a drawing unless "\n" follows
}

const maxRedrawBytes = 64 << 10

func (r *redraws) Write(p []byte) (int, error) {
	for _, c := range p {
		if r.cr && c != '\n' {
			r.cur = r.cur[:0]
		}
		r.cr = false
		switch c {
		case '\r':
			r.cr = true
		case '\n':
			r.cur = append(r.cur, c)
			r.flush()
		default:
			r.cur = append(r.cur, c)
			if len(r.cur) >= maxRedrawBytes {
				r.flush()
			}
		}
	}
	return len(p), nil
}

// flush writes the line in progress (the last drawing of a line that did
// not end).
func (r *redraws) flush() {
	if r.cr {
		r.cur, r.cr = r.cur[:0], false
	}
	if len(r.cur) > 0 && r.w != nil {
		r.w.Write(r.cur)
	}
	r.cur = r.cur[:0]
}

// lastLines keeps the last two non-empty lines written to it, at most
// maxDetailBytes each: gitmal gives its reason on one or two lines
// ("Default branch "x" not found." then "Specify a valid branch…"). A
// carriage return ends a line too: gitmal redraws its progress with "\r".
type lastLines struct {
	cur   []byte
	lines [2]string
}

const maxDetailBytes = 300

func (l *lastLines) Write(p []byte) (int, error) {
	for _, c := range p {
		switch c {
		case '\n', '\r':
			l.end()
		default:
			if len(l.cur) < maxDetailBytes {
				l.cur = append(l.cur, c)
			}
		}
	}
	return len(p), nil
}

func (l *lastLines) end() {
	if line := strings.TrimSpace(strings.ToValidUTF8(string(l.cur), "")); line != "" {
		l.lines[0], l.lines[1] = l.lines[1], line
	}
	l.cur = l.cur[:0]
}

// String is the last lines, joined by a space, printable.
func (l *lastLines) String() string {
	l.end()
	return printable(strings.TrimSpace(l.lines[0] + " " + l.lines[1]))
}
