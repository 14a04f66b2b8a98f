// Package logs finds and reads a unit's output for 'hookrun logs': the log
// file 'hookrun exec' copies it to, followed until the unit ends; how the
// unit ended and the exit status that stands for it; the latest runs of a
// job; and, where the log file is missing, the journal.
package logs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/job"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/suggest"
	"github.com/hookrun/hookrun/internal/unit"
)

// Latest is the nth latest unit of job in repo (1 is the latest), from the
// units' state and the history.
func Latest(repo, jobName string, n int) (string, error) {
	when := map[string]time.Time{}
	jobs := map[string]bool{} // every job with a run, for a did-you-mean
	states, _ := unit.Open(repo).List()
	for _, st := range states {
		jobs[st.Job] = true
		if st.Job == jobName {
			when[st.Unit] = st.Saved
		}
	}
	recs, _ := history.Read(layout.History(repo))
	for _, r := range recs {
		if r.Job != "" && r.Unit != "" {
			jobs[r.Job] = true
		}
		if _, ok := when[r.Unit]; r.Job == jobName && r.Unit != "" && !ok {
			when[r.Unit] = r.Start
		}
	}
	units := slices.SortedFunc(maps.Keys(when), func(x, y string) int {
		return cmp.Or(when[y].Compare(when[x]), strings.Compare(y, x))
	})
	if len(units) < n {
		switch {
		case len(units) == 0:
			if m := suggest.Nearest(jobName, slices.Sorted(maps.Keys(jobs))); m != "" {
				return "", fmt.Errorf("no run of job %s recorded in %s (did you mean %s?)", jobName, repo, m)
			}
			return "", fmt.Errorf("no run of job %s recorded in %s: see 'hookrun status %s'", jobName, repo, job.Arg(repo))
		case len(units) == 1:
			return "", fmt.Errorf("only 1 run of job %s recorded in %s", jobName, repo)
		}
		return "", fmt.Errorf("only %d runs of job %s recorded in %s", len(units), jobName, repo)
	}
	return units[n-1], nil
}

// Ending is how a unit ended: a line for a person, and the exit status that
// stands for it (the job's own, 0 for a success, 1 for a failure without a
// status of its own, such as a timeout or a cancel).
type Ending struct {
	Line string
	Code int
}

// ErrNoOutcome is Outcome's error for a unit whose outcome is recorded
// nowhere.
var ErrNoOutcome = errors.New("no outcome is recorded")

// Outcome is how name ended, from its state, else the history.
func Outcome(repo, name string) (Ending, error) {
	st, err := unit.Open(repo).Load(name)
	if err == nil && st.Outcome != nil {
		o := st.Outcome
		e := Ending{Line: fmt.Sprintf("%s: %s after %s%s", name, o.Kind, notify.FormatDuration(o.Duration), prefixed(": ", o.Reason)), Code: 1}
		switch {
		case o.Kind == outcome.Success:
			e.Code = 0
		case st.Exit != nil && st.Exit.Code > 0 && st.Exit.Code < 256:
			e.Code = st.Exit.Code
		}
		return e, nil
	}
	recs, _ := history.Read(layout.History(repo))
	for i := len(recs) - 1; i >= 0; i-- {
		if r := recs[i]; r.Unit == name {
			e := Ending{Line: fmt.Sprintf("%s: %s after %s%s", name, r.Result, notify.FormatDuration(r.Duration), prefixed(": ", r.Reason)), Code: 1}
			if r.Result == outcome.Success {
				e.Code = 0
			}
			return e, nil
		}
	}
	return Ending{}, fmt.Errorf("%s ended, but %w", name, ErrNoOutcome)
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// OrphanWait is how long Follow waits for the outcome of a unit whose
// hookrun exec has ended before it says so and stops (its ExecStopPost
// records it within seconds; where the manager died with it, `hookrun
// reconcile` does).
const OrphanWait = 30 * time.Second

// Follower follows one unit's log (logs -f).
type Follower struct {
	Repo, Unit string
	Out        io.Writer
	// RemoteSoFar prints, once the log file has been read the first time,
	// the output so far of a unit running on another host.
	RemoteSoFar func()
	// Journal prints what the journal has, for a unit that ended without a
	// log file (it failed before its job started).
	Journal func()
}

// Follow prints the unit's log as it grows until the unit has ended (its
// outcome is recorded) or never will run, and returns how it ended.
// However early it is called (before hookrun exec has created the log
// file) it neither hangs nor leaves a process behind: it only reads files.
func (f *Follower) Follow() (Ending, error) {
	path := layout.Log(f.Repo, f.Unit)
	store := unit.Open(f.Repo)
	var file *os.File
	defer func() {
		if file != nil {
			file.Close()
		}
	}()
	remoteShown := false
	var orphanSince time.Time
	for {
		if file == nil {
			var err error
			if file, err = os.Open(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return Ending{}, err
			}
		}
		var n int64
		if file != nil {
			var err error
			if n, err = io.Copy(f.Out, file); err != nil {
				return Ending{}, err
			}
			if !remoteShown {
				f.RemoteSoFar()
				remoteShown = true
			}
		}
		st, done, why := store.Follow(f.Unit)
		if n > 0 {
			continue // read on before deciding: the end may still be coming
		}
		switch {
		case done && st != nil && st.Phase == unit.Ended:
			if file == nil {
				f.Journal()
			}
			return Outcome(f.Repo, f.Unit)
		case done:
			if e, err := Outcome(f.Repo, f.Unit); err == nil {
				return e, nil // the history has it (a unit that did not start)
			}
			return Ending{}, fmt.Errorf("%s: %s; no outcome is recorded (hookrun reconcile records one)", f.Unit, why)
		case why != "":
			if orphanSince.IsZero() {
				orphanSince = time.Now()
			} else if time.Since(orphanSince) > OrphanWait {
				return Ending{}, fmt.Errorf("%s: %s after %s: see 'hookrun status %s' (hookrun reconcile records it)", f.Unit, why, OrphanWait, job.Arg(f.Repo))
			}
		default:
			orphanSince = time.Time{}
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// JournalError is a journal that could not be read where the log file is
// missing; Hint says what to do.
type JournalError struct {
	LogPath string
	Err     error
}

func (e *JournalError) Error() string { return e.Err.Error() }
func (e *JournalError) Unwrap() error { return e.Err }

// Hint is what a person can do about it.
func (e *JournalError) Hint() string {
	return fmt.Sprintf("no log file %s; journalctl failed: if this account cannot read the system journal, add it to the systemd-journal group", e.LogPath)
}

// Print copies the log of repo's unit name, as it is now, to w. found is
// false when there is no log file (the unit has not started its job, runs
// on another host, or failed before its job started).
func Print(w io.Writer, repo, name string) (found bool, err error) {
	f, err := os.Open(layout.Log(repo, name))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return true, err
}

// Journal prints what journald has of repo's unit name, whose log file is
// missing, to stdout and stderr: matching _SYSTEMD_UNIT= for the system
// manager's units (system true), else _SYSTEMD_USER_UNIT= and _UID= (user
// units of a system account land in the system journal, where 'journalctl
// --user -u' finds nothing). It never follows: a journal follow never ends
// by itself.
func Journal(repo, name string, system bool, stdout, stderr io.Writer) error {
	logPath := layout.Log(repo, name)
	jc, err := exec.LookPath("journalctl")
	if err != nil {
		return fmt.Errorf("no log file %s and no journalctl here; the unit's output is gone (did its job start? see 'hookrun status')", logPath)
	}
	args := []string{"--no-pager", "-o", "short-iso"}
	if system {
		args = append(args, "_SYSTEMD_UNIT="+name)
	} else {
		args = append(args, "_SYSTEMD_USER_UNIT="+name, "_UID="+strconv.Itoa(os.Getuid()))
	}
	// The child dies with this process, whatever kills it.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	cmd := exec.CommandContext(ctx, jc, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return &JournalError{LogPath: logPath, Err: err}
	}
	return nil
}
