package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/plan"
	unitpkg "github.com/hookrun/hookrun/internal/unit"
)

func cmdLogs() *command {
	return &command{
		name:    "logs",
		summary: "show a unit's output",
		usage:   "[--repo DIR] [-f] UNIT",
		help: `Prints the output of one of hookrun's units. 'hookrun exec' copies every job's
output to $GIT_DIR/hookrun/logs/UNIT.log, so this works with and without a
journal; with -f it follows the output until the unit ends. Where the log file
is missing (the unit failed before its job started) it asks journald, matching
_SYSTEMD_USER_UNIT= and _UID= (user units of a system account such as "git"
land in the system journal, where 'journalctl --user -u' finds nothing).`,
		exits: []exitDoc{{"0", "output shown"}, {"1", "no such unit, or its output is gone"}, {"2", "usage error"}},
		flags: func(fs *pflag.FlagSet) {
			fs.String("repo", "", "bare repository `dir` (default: $GIT_DIR, else the current directory)")
			fs.BoolP("follow", "f", false, "follow the output until the unit ends")
		},
		run: runLogs,
	}
}

func runLogs(a *app, fs *pflag.FlagSet) error {
	if fs.NArg() != 1 {
		return usagef("name one unit (see 'hookrun status')")
	}
	unit := fs.Arg(0)
	repoFlag, _ := fs.GetString("repo")
	follow, _ := fs.GetBool("follow")
	repo := repoDir(a, repoFlag)
	path := plan.LogPath(repo, unit)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		if a.remoteLogSoFar(repo, unit) {
			return nil // its watcher has written nothing here yet
		}
		if !knownUnit(repo, unit) {
			return fmt.Errorf("%s has no unit %s: see 'hookrun status %s' (or pass --repo)", repo, unit, repo)
		}
		return a.journalLogs(unit, follow, path)
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
	if !follow {
		return nil
	}
	// Follow until the unit has ended (its outcome is recorded) and
	// nothing more was written.
	store := unitpkg.Open(repo)
	for {
		n, err := io.Copy(a.stdout, f)
		if err != nil {
			return err
		}
		if st, err := store.Load(unit); (err != nil || st.Phase == unitpkg.Ended) && n == 0 {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// knownUnit reports whether the repository has a state for unit or recorded
// its outcome: only then can the journal have its output.
func knownUnit(repo, unit string) bool {
	if _, err := unitpkg.Open(repo).Load(unit); err == nil {
		return true
	}
	recs, _ := history.Read(plan.HistoryPath(repo))
	for _, r := range recs {
		if r.Unit == unit {
			return true
		}
	}
	return false
}

func (a *app) journalLogs(unit string, follow bool, logPath string) error {
	jc, err := exec.LookPath("journalctl")
	if err != nil {
		return fmt.Errorf("no log file %s and no journalctl here; the unit's output is gone (did its job start? see 'hookrun status')", logPath)
	}
	args := []string{"--no-pager", "-o", "short-iso"}
	if follow {
		args = append(args, "-f")
	}
	if os.Getuid() == 0 && a.getenv("XDG_RUNTIME_DIR") == "" {
		args = append(args, "_SYSTEMD_UNIT="+unit)
	} else {
		args = append(args, "_SYSTEMD_USER_UNIT="+unit, "_UID="+strconv.Itoa(os.Getuid()))
	}
	ctx := context.Background()
	cmd := exec.CommandContext(ctx, jc, args...)
	cmd.Stdout, cmd.Stderr = a.stdout, a.stderr
	if err := cmd.Run(); err != nil {
		a.hintf("no log file %s; journalctl failed: if this account cannot read the system journal, add it to the systemd-journal group", logPath)
		return err
	}
	return nil
}
