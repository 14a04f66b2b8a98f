package main

import (
	"errors"
	"os"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/logs"
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
		if unit, err = logs.Latest(repo, fs.Arg(1), last); err != nil {
			return err
		}
		a.infof("%s", unit)
	default:
		return usagef("name a unit (see 'hookrun status'), or a repository and a job")
	}
	if follow {
		f := &logs.Follower{Repo: repo, Unit: unit, Out: a.stdout,
			RemoteSoFar: func() { a.remoteLogSoFar(repo, unit) }, // a unit running on another host: its output so far is there
			Journal:     func() { _ = a.journalLogs(repo, unit) },
		}
		return a.ended(f.Follow())
	}
	found, err := logs.Print(a.stdout, repo, unit)
	if err != nil {
		return err
	}
	if !found {
		if a.remoteLogSoFar(repo, unit) {
			return nil // its watcher has written nothing here yet
		}
		return a.journalLogs(repo, unit)
	}
	// A unit running on another host: its output so far is there.
	a.remoteLogSoFar(repo, unit)
	return nil
}

// ended prints how a followed unit ended and returns the job's exit status
// as the command's.
func (a *app) ended(e logs.Ending, err error) error {
	if err != nil {
		return err
	}
	a.infof("%s", e.Line)
	if e.Code != 0 {
		return &jobStatus{e.Code}
	}
	return nil
}

func (a *app) journalLogs(repo, unit string) error {
	err := logs.Journal(repo, unit, os.Getuid() == 0 && a.getenv("XDG_RUNTIME_DIR") == "", a.stdout, a.stderr)
	if je := (*logs.JournalError)(nil); errors.As(err, &je) {
		a.hintf("%s", je.Hint())
		return je.Err
	}
	return err
}
