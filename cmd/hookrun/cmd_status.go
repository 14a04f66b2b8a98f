package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/install"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/repoindex"
	"github.com/hookrun/hookrun/internal/status"
	"github.com/hookrun/hookrun/internal/unit"
)

func cmdStatus() *command {
	return withOptions(&command{
		name:    "status",
		summary: "list recent runs: queued, running and finished units, and pushes that started nothing",
		usage:   "[--json] [--wide] [--last N] [REPO]",
		help: `Shows units that have not ended (queued: waiting for their turn or to be
taken over; running: the job runs), from hookrun's own state of each unit
and checked against the systemd managers over D-Bus, then the most recent
finished ones from the repository's history, which also records pushes
that failed before any unit started (an invalid config, a unit the manager
refused). Refs show as "main" or "tag v1.0"; NOTIFY says what became of
each notification. On a terminal (or with $COLUMNS) rows are kept within
its width by shortening the STATE column's failure reasons with "...";
--wide and --json show them whole.

With REPO, or inside a repository ($GIT_DIR, else the repository the
current directory is in, found as git finds it), it shows that repository
(a work clone has no runs: it says so and where pushes go); otherwise the recent runs of every repository
hookrun has run in on this server (the index in the git user's state
directory: $HOOKRUN_STATE_DIR, else $XDG_STATE_HOME/hookrun).

It exits 1 when a systemd manager that units use cannot be reached: the
table then shows only what hookrun recorded, and a running unit may have
died unnoticed; and when a hook of a repository shown runs a hookrun
binary that is gone (see 'hookrun install'), or a record (a unit's state or
plan, a line of the history) cannot be read: those are named after the
table.`,
		exits: []exitDoc{{"0", "status shown"}, {"1", "a systemd manager is unreachable (what is known is still shown), a hook runs a hookrun that is gone, a record cannot be read (named), or REPO is not a repository"}, {"2", "usage error, or REPO does not exist"}},
	}, func(fs *pflag.FlagSet, o *statusOptions) {
		fs.BoolVar(&o.json, "json", false, "print JSON")
		fs.IntVar(&o.last, "last", 20, "show at most `n` finished runs")
		fs.BoolVar(&o.wide, "wide", false, "show failure reasons whole, however wide the rows get")
	}, runStatus)
}

// statusOptions are the flags of status.
type statusOptions struct {
	json bool
	last int
	wide bool
}

func runStatus(a *app, fs *pflag.FlagSet, o *statusOptions) error {
	asJSON := o.json
	last := o.last
	if fs.NArg() > 1 {
		return usagef("at most one repository")
	}
	if last < 0 {
		return usagef("--last must not be negative")
	}
	var repos []string
	scope := ""
	switch {
	case fs.NArg() == 1:
		repo := repoDir(a, fs.Arg(0))
		if err := checkRepository(repo); err != nil {
			return err
		}
		if !gitx.IsRepository(repo) && !status.Ran(repo) {
			return notARepository(a, repo, fs.Arg(0))
		}
		if gitx.IsWorkClone(repo) && !status.Ran(repo) {
			return workCloneError(repo)
		}
		repos, scope = []string{repo}, repo
	default:
		if repo, ok := repoHere(a); ok {
			if gitx.IsWorkClone(repo) && !status.Ran(repo) {
				return workCloneError(repo)
			}
			repos, scope = []string{repo}, repo
			break
		}
		var err error
		if repos, err = repoindex.List(repoindex.Path(a.getenv)); err != nil {
			return fmt.Errorf("cannot read the index of repositories: %v", err)
		}
	}
	q := status.Query{Getenv: a.getenv, Now: a.now, Warn: func(s string) { a.warnf("%s", s) }}
	finished := q.Finished(repos, last)
	// The user manager is asked when the runs shown used systemd, or when
	// there is nothing to show (an idle server and a dead manager must not
	// look alike).
	askUser := slices.ContainsFunc(finished, func(r status.Line) bool { return r.Runner == string(plan.RunnerSystemd) })
	active, unreachable := q.Active(repos, scope == "", askUser, len(finished) == 0)
	all := append(active, finished...)
	damaged := unit.DamagedRecords(repos)
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Repo        string        `json:"repo,omitempty"`
			Repos       int           `json:"repos"`
			Unreachable []string      `json:"unreachable_managers,omitempty"`
			Damaged     []string      `json:"damaged,omitempty"`
			Units       []status.Line `json:"units"`
		}{scope, len(repos), unreachable, damaged, append([]status.Line{}, all...)}); err != nil {
			return err
		}
	} else {
		width := 0
		if wide := o.wide; !wide {
			width = termWidth(a)
		}
		status.Table(a.stdout, all, scope, len(repos), width)
	}
	broken := false
	for _, r := range repos {
		broken = reportBrokenHooks(a, r) || broken
	}
	for _, n := range unit.ReconcileNotes(repos) {
		a.infof("%s", n)
	}
	for _, d := range damaged {
		a.errorf("%s", d)
	}
	if len(damaged) > 0 {
		a.errorf("%s cannot be read: remove or repair them (hookrun writes them whole, so they were damaged from outside)", plural(len(damaged), "record"))
		if len(unreachable) == 0 {
			return errReported
		}
	}
	if len(unreachable) > 0 {
		return fmt.Errorf("cannot reach the systemd %s manager: units it runs are shown as hookrun recorded them, and one that died may show as running; check it with 'systemctl --user status' (as the git user)", strings.Join(unreachable, " and "))
	}
	if broken {
		return errReported
	}
	return nil
}

// reportBrokenHooks says on stderr which of repo's hookrun hooks runs a
// hookrun that is gone (a dangling hook), and whether there was any.
func reportBrokenHooks(a *app, repo string) bool {
	broken := false
	for _, st := range install.Inspect(repo) {
		if p := st.Problem(); p != "" {
			a.errorf("%s", p)
			broken = true
		}
	}
	return broken
}

// termWidth is the width rows must fit in: $COLUMNS, else the terminal's
// when stdout is one, else 0 (no limit: a pipe or a file gets whole rows).
func termWidth(a *app) int {
	if n, err := strconv.Atoi(a.getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	if f, ok := a.stdout.(*os.File); ok {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
			return int(ws.Col)
		}
	}
	return 0
}

// repoHere is the repository status shows without REPO: $GIT_DIR's, else
// the one the current directory is in, found as git finds it.
func repoHere(a *app) (string, bool) {
	repo := repoDir(a, "")
	_, ok := gitx.GitDir(repo)
	return repo, ok
}
