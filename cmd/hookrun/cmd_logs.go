package main

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

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/suggest"
	unitpkg "github.com/hookrun/hookrun/internal/unit"
)

func cmdLogs() *command {
	return withOptions(&command{
		name:    "logs",
		summary: "show a unit's output, or the latest run of a job",
		usage:   "[--repo DIR] [-f] UNIT | [-f] [--last N] REPO JOB",
		help: `Prints the output of one of hookrun's units. With UNIT, the name the push
printed, it works from any directory: it looks in --repo, else the current
repository, else every repository hookrun has run in on this server. With
REPO JOB it shows the latest run of JOB in REPO (--last 2 the one before,
and so on).

'hookrun exec' copies every job's output to $GIT_DIR/hookrun/logs/UNIT.log,
so this works with and without a journal. With -f it follows the output
until the unit ends, then prints its outcome and exits with the job's exit
status (1 for a failure without one, such as a timeout or a cancel).
Where the log file is missing (the unit failed before its job started) it
asks journald, matching _SYSTEMD_USER_UNIT= and _UID= (user units of a
system account such as "git" land in the system journal, where
'journalctl --user -u' finds nothing).`,
		exits: []exitDoc{{"0", "output shown (with -f: the job succeeded)"}, {"N", "with -f: the job's own exit status"}, {"1", "no such unit or run, its output is gone, or (with -f) the job failed without a status of its own"}, {"2", "usage error"}},
	}, func(fs *pflag.FlagSet, o *logsOptions) {
		defineRepo(fs, &o.repo, repoSearchUsage)
		fs.BoolVarP(&o.follow, "follow", "f", false, "follow the output until the unit ends, then print its outcome and exit with the job's status")
		fs.IntVar(&o.last, "last", 1, "with REPO JOB: the `n`th latest run (1 is the latest)")
	}, runLogs)
}

// logsOptions are the flags of logs.
type logsOptions struct {
	repo   string
	follow bool
	last   int
}

func runLogs(a *app, fs *pflag.FlagSet, o *logsOptions) error {
	repoFlag := o.repo
	follow := o.follow
	last := o.last
	var repo, unit string
	switch fs.NArg() {
	case 1:
		unit = fs.Arg(0)
		if fs.Changed("last") {
			return usagef("--last goes with REPO JOB, not a unit name")
		}
		var err error
		if repo, err = a.findUnit(repoFlag, unit); err != nil {
			return err
		}
	case 2:
		if repoFlag != "" {
			return usagef("give the repository once: --repo DIR UNIT, or REPO JOB")
		}
		if last < 1 {
			return usagef("--last must be at least 1, not %d", last)
		}
		repo = repoDir(a, fs.Arg(0))
		if err := checkRepository(repo); err != nil {
			return err
		}
		var err error
		if unit, err = latestRun(repo, fs.Arg(1), last); err != nil {
			return err
		}
		a.infof("%s", unit)
	default:
		return usagef("name a unit (see 'hookrun status'), or a repository and a job")
	}
	path := layout.Log(repo, unit)
	if follow {
		return a.followLog(repo, unit, path)
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		if a.remoteLogSoFar(repo, unit) {
			return nil // its watcher has written nothing here yet
		}
		return a.journalLogs(unit, path)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(a.stdout, f); err != nil {
		return err
	}
	// A unit running on another host: its output so far is there.
	a.remoteLogSoFar(repo, unit)
	return nil
}

// orphanWait is how long logs -f waits for the outcome of a unit whose
// hookrun exec has ended before it says so and stops (its ExecStopPost
// records it within seconds; where the manager died with it, `hookrun
// reconcile` does).
const orphanWait = 30 * time.Second

// followLog prints unit's log as it grows until the unit has ended (its
// outcome is recorded) or never will run, then its outcome, and returns
// the job's exit status. However early it is called (before hookrun exec
// has created the log file) it neither hangs nor leaves a process behind:
// it only reads files.
func (a *app) followLog(repo, unit, path string) error {
	store := unitpkg.Open(repo)
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	remoteShown := false
	var orphanSince time.Time
	for {
		if f == nil {
			var err error
			if f, err = os.Open(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		var n int64
		if f != nil {
			var err error
			if n, err = io.Copy(a.stdout, f); err != nil {
				return err
			}
			if !remoteShown {
				// A unit running on another host: its output so far is there.
				a.remoteLogSoFar(repo, unit)
				remoteShown = true
			}
		}
		st, done, why := store.Follow(unit)
		if n > 0 {
			continue // read on before deciding: the end may still be coming
		}
		switch {
		case done && st != nil && st.Phase == unitpkg.Ended:
			if f == nil {
				// No log file (the unit failed before its job started):
				// what the journal has.
				_ = a.journalLogs(unit, path)
			}
			return a.outcome(repo, unit)
		case done:
			if err := a.outcome(repo, unit); err == nil || !strings.Contains(err.Error(), "no outcome is recorded") {
				return err // the history has it (a unit that did not start)
			}
			return fmt.Errorf("%s: %s; no outcome is recorded (hookrun reconcile records one)", unit, why)
		case why != "":
			if orphanSince.IsZero() {
				orphanSince = time.Now()
			} else if time.Since(orphanSince) > orphanWait {
				return fmt.Errorf("%s: %s after %s: see 'hookrun status %s' (hookrun reconcile records it)", unit, why, orphanWait, quoteArg(repo))
			}
		default:
			orphanSince = time.Time{}
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// latestRun is the nth latest unit of job in repo, from the units' state
// and the history.
func latestRun(repo, job string, n int) (string, error) {
	when := map[string]time.Time{}
	jobs := map[string]bool{} // every job with a run, for a did-you-mean
	states, _ := unitpkg.Open(repo).List()
	for _, st := range states {
		jobs[st.Job] = true
		if st.Job == job {
			when[st.Unit] = st.Saved
		}
	}
	recs, _ := history.Read(layout.History(repo))
	for _, r := range recs {
		if r.Job != "" && r.Unit != "" {
			jobs[r.Job] = true
		}
		if _, ok := when[r.Unit]; r.Job == job && r.Unit != "" && !ok {
			when[r.Unit] = r.Start
		}
	}
	units := slices.SortedFunc(maps.Keys(when), func(x, y string) int {
		return cmp.Or(when[y].Compare(when[x]), strings.Compare(y, x))
	})
	if len(units) < n {
		if len(units) == 0 {
			if m := suggest.Nearest(job, slices.Sorted(maps.Keys(jobs))); m != "" {
				return "", fmt.Errorf("no run of job %s recorded in %s (did you mean %s?)", job, repo, m)
			}
			return "", fmt.Errorf("no run of job %s recorded in %s: see 'hookrun status %s'", job, repo, quoteArg(repo))
		}
		return "", fmt.Errorf("only %s of job %s recorded in %s", plural(len(units), "run"), job, repo)
	}
	return units[n-1], nil
}

// outcome prints how unit ended and returns the job's exit status as the
// command's.
func (a *app) outcome(repo, unit string) error {
	st, err := unitpkg.Open(repo).Load(unit)
	if err == nil && st.Outcome != nil {
		o := st.Outcome
		a.infof("%s: %s after %s%s", unit, o.Kind, notify.FormatDuration(o.Duration), prefixed(": ", o.Reason))
		switch {
		case o.Kind == outcome.Success:
			return nil
		case st.Exit != nil && st.Exit.Code > 0 && st.Exit.Code < 256:
			return &jobStatus{st.Exit.Code}
		}
		return &jobStatus{exitFailure}
	}
	recs, _ := history.Read(layout.History(repo))
	for i := len(recs) - 1; i >= 0; i-- {
		if r := recs[i]; r.Unit == unit {
			a.infof("%s: %s after %s%s", unit, r.Result, notify.FormatDuration(r.Duration), prefixed(": ", r.Reason))
			if r.Result == outcome.Success {
				return nil
			}
			return &jobStatus{exitFailure}
		}
	}
	return fmt.Errorf("%s ended, but no outcome is recorded", unit)
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

func (a *app) journalLogs(unit string, logPath string) error {
	jc, err := exec.LookPath("journalctl")
	if err != nil {
		return fmt.Errorf("no log file %s and no journalctl here; the unit's output is gone (did its job start? see 'hookrun status')", logPath)
	}
	args := []string{"--no-pager", "-o", "short-iso"}
	if os.Getuid() == 0 && a.getenv("XDG_RUNTIME_DIR") == "" {
		args = append(args, "_SYSTEMD_UNIT="+unit)
	} else {
		args = append(args, "_SYSTEMD_USER_UNIT="+unit, "_UID="+strconv.Itoa(os.Getuid()))
	}
	// Never -f: a journal follow never ends by itself. The child dies with
	// this process, whatever kills it.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	cmd := exec.CommandContext(ctx, jc, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stdout, cmd.Stderr = a.stdout, a.stderr
	if err := cmd.Run(); err != nil {
		a.hintf("no log file %s; journalctl failed: if this account cannot read the system journal, add it to the systemd-journal group", logPath)
		return err
	}
	return nil
}
