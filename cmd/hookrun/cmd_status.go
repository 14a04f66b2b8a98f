package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/install"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/repoindex"
	"github.com/hookrun/hookrun/internal/runner"
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

// A status line is a history.Record and its state: the recorded outcome of
// an ended unit, else queued, running, ending or lost (its JSON "result").
type unitStatus struct {
	history.Record
	State string `json:"result"`
	// Notify is ntfy's delivery (Record.Ntfy) in its text form, as
	// status has always printed it: "delivered", "not delivered: ...".
	Notify string `json:"notify,omitempty"`
	// Deliveries is what became of the outcome at each output, ntfy's
	// included (history.Record.Deliveries), typed.
	Deliveries []outcome.Delivery `json:"deliveries,omitempty"`
}

// newUnitStatus is the status line of rec, whose state is state.
func newUnitStatus(rec history.Record, state string) unitStatus {
	s := unitStatus{Record: rec, State: state, Deliveries: rec.Deliveries()}
	if rec.Ntfy != nil {
		s.Notify = rec.Ntfy.Text()
	}
	return s
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
		if !gitx.IsRepository(repo) && !exists(layout.Dir(repo)) {
			return notARepository(a, repo, fs.Arg(0))
		}
		if gitx.IsWorkClone(repo) && !exists(layout.Dir(repo)) {
			return workCloneError(repo)
		}
		repos, scope = []string{repo}, repo
	default:
		if repo, ok := repoHere(a); ok {
			if gitx.IsWorkClone(repo) && !exists(layout.Dir(repo)) {
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
	var finished []unitStatus
	for _, r := range repos {
		recs, err := history.Read(layout.History(r))
		if err != nil {
			a.warnf("%s: cannot read its history: %v", r, err)
			continue
		}
		for _, rec := range recs {
			finished = append(finished, newUnitStatus(rec, rec.Result.String()))
		}
	}
	// Newest first, across repositories.
	sort.SliceStable(finished, func(i, j int) bool { return finished[i].Start.After(finished[j].Start) })
	finished = finished[:min(len(finished), last)]
	// The user manager is asked when the runs shown used systemd, or when
	// there is nothing to show (an idle server and a dead manager must not
	// look alike).
	askUser := slices.ContainsFunc(finished, func(r unitStatus) bool { return r.Runner == string(plan.RunnerSystemd) })
	active, unreachable := a.activeUnits(repos, scope == "", askUser, len(finished) == 0)
	all := append(active, finished...)
	damaged := damagedRecords(repos)
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Repo        string       `json:"repo,omitempty"`
			Repos       int          `json:"repos"`
			Unreachable []string     `json:"unreachable_managers,omitempty"`
			Damaged     []string     `json:"damaged,omitempty"`
			Units       []unitStatus `json:"units"`
		}{scope, len(repos), unreachable, damaged, append([]unitStatus{}, all...)}); err != nil {
			return err
		}
	} else {
		width := 0
		if wide := o.wide; !wide {
			width = termWidth(a)
		}
		a.printStatus(all, scope, len(repos), width)
	}
	broken := false
	for _, r := range repos {
		broken = reportBrokenHooks(a, r) || broken
	}
	for _, n := range reconcileNotes(repos) {
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

// printStatus prints the table; width > 0 keeps rows within it by
// shortening the STATE column.
func (a *app) printStatus(all []unitStatus, scope string, repos int, width int) {
	if len(all) == 0 {
		switch {
		case scope != "":
			fmt.Fprintf(a.stdout, "no runs recorded for %s yet\n", scope)
		case repos == 0:
			fmt.Fprintln(a.stdout, "no runs recorded: hookrun has not run in any repository of this user yet (name a repository to look at one)")
		default:
			fmt.Fprintf(a.stdout, "no runs recorded in the %d repositories hookrun knows\n", repos)
		}
		return
	}
	rows := [][]string{{"UNIT", "REPO", "JOB", "REF", "SHA", "STATE", "STARTED", "DURATION", "NOTIFY"}}
	var failed []unitStatus
	for _, s := range all {
		state := s.State
		if s.Reason != "" {
			state += " (" + s.Reason + ")"
		}
		started, dur := "-", "-"
		if !s.Start.IsZero() {
			started = s.Start.Local().Format("2006-01-02 15:04:05")
			dur = shortDuration(s.Duration)
		}
		// The NOTIFY column says what became of the notification; the
		// failures' reasons follow the table.
		notified := "-"
		if s.Ntfy != nil {
			notified = s.Ntfy.Summary()
		}
		if s.NotifyFailed() {
			failed = append(failed, s)
		}
		ref := "-"
		if s.Ref != "" {
			ref = notify.DisplayRef(s.Ref)
		}
		if s.Refs > 1 {
			ref += fmt.Sprintf(" +%d", s.Refs-1) // a per = "push" unit: the first ref and how many more
		}
		job := orDash(s.Job)
		if s.Host != "" {
			job += "@" + s.Host // runs on that host; the unit here watches it
		}
		rows = append(rows, []string{orDash(s.Unit), s.Repo, job, ref, orDash(s.Short), state, started, dur, notified})
	}
	fitColumn(rows, statusColumn, width, 2)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	_ = tw.Flush()
	for _, s := range failed {
		fmt.Fprintf(a.stdout, "%s: notification %s\n", s.Unit, s.Notify)
	}
	// The other outputs ([site], [forge], [[webhook]]): each delivery,
	// and why one failed.
	for _, s := range all {
		if len(s.Outputs) == 0 {
			continue
		}
		var parts []string
		for _, d := range s.Outputs {
			parts = append(parts, d.Output+" "+d.State.String())
		}
		fmt.Fprintf(a.stdout, "%s: outputs: %s\n", s.Unit, strings.Join(parts, ", "))
		for _, d := range s.Outputs {
			if d.Error != "" {
				fmt.Fprintf(a.stdout, "%s: %s %s: %s\n", s.Unit, d.Output, d.State, d.Error)
			}
		}
	}
}

// shortDuration is notify.FormatDuration, but keeps a tenth of a second
// below a second: a quick job took 0.4s, not 0s.
func shortDuration(d time.Duration) string {
	if d > 0 && d < 950*time.Millisecond {
		return fmt.Sprintf("%.1fs", max(d.Seconds(), 0.1))
	}
	return notify.FormatDuration(d)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// activeUnits lists the units of repos that have not ended, from their
// state (internal/unit), checked against the systemd managers over D-Bus:
// a unit its manager no longer knows that never recorded an outcome is
// lost. With everywhere, units the user manager runs for repositories not in
// repos are listed too. unreachable names the managers units needed that
// could not be asked. askUser asks the user manager even when no unit that
// has not ended needs it, and so does idle when there is no such unit.
func (a *app) activeUnits(repos []string, everywhere, askUser, idle bool) (out []unitStatus, unreachable []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type live struct {
		st   *unit.State
		repo string
	}
	var states []live
	need := map[plan.Manager]bool{plan.ManagerUser: askUser}
	for _, r := range repos {
		all, _ := unit.Open(r).List()
		for _, st := range all {
			if st.Phase == unit.Ended {
				continue // the history has it
			}
			states = append(states, live{st, r})
			if st.Runner == plan.RunnerSystemd {
				need[st.Manager] = true
			}
		}
	}
	if idle && len(states) == 0 {
		need[plan.ManagerUser] = true
	}
	known := map[string]runner.Unit{} // by unit name, from the managers
	reached := map[plan.Manager]bool{}
	for _, m := range []plan.Manager{plan.ManagerUser, plan.ManagerSystem} {
		if !need[m] {
			continue
		}
		c, err := runner.DialSystemd(ctx, string(m), a.getenv)
		if err == nil {
			var units []runner.Unit
			units, err = c.Units(ctx)
			c.Close()
			for _, u := range units {
				known[u.Name] = u
			}
		}
		if err != nil {
			if !errors.Is(err, runner.ErrManagerUnreachable) {
				a.warnf("systemd %s manager: %v", m, err)
			}
			unreachable = append(unreachable, string(m))
			continue
		}
		reached[m] = true
	}
	for _, l := range states {
		st := l.st
		s := unitStatus{Record: history.Record{Unit: st.Unit, Repo: st.Repo, Job: st.Job, Runner: string(st.Runner), Start: st.Saved}, State: "queued"}
		if u, err := plan.Load(layout.Plan(l.repo, st.Unit)); err == nil {
			if len(u.Refs) > 0 {
				s.Ref, s.Short = u.Refs[0].Ref, u.Refs[0].TargetShort()
			}
			if len(u.Refs) > 1 {
				s.Refs = len(u.Refs)
			}
			if u.Host != nil {
				s.Host = u.Host.Name
			}
		}
		switch {
		case st.Exit != nil:
			s.State = "ending" // its notify is recording and reporting it
		case !st.JobStart.IsZero():
			s.State, s.Start = "running", st.JobStart
		case st.Phase == unit.Running:
			s.Reason = "waiting for its turn"
		}
		s.Duration = a.now().Sub(s.Start)
		if c := st.Cancel; c != nil {
			s.Reason = "cancelling: " + c.Reason
		}
		if _, ok := known[st.Unit]; ok {
			delete(known, st.Unit)
		} else if st.Runner == plan.RunnerSystemd && reached[st.Manager] && a.now().Sub(st.Saved) > unit.StartGrace {
			s.State, s.Reason = "lost", "the manager no longer knows it and no outcome was recorded"
		}
		out = append(out, s)
	}
	if everywhere {
		for _, k := range known { // units of repositories not in the index
			if slices.Contains(repos, k.RepoPath) {
				continue
			}
			s := unitStatus{Record: history.Record{Unit: k.Name, Repo: k.Repo, Job: k.Job, Ref: k.Ref, Runner: "systemd", Reason: "manager: " + k.State, Start: k.Start}, State: "running"}
			if len(k.New) >= 7 {
				s.Short = k.New[:7]
			}
			if !k.Start.IsZero() {
				s.Duration = a.now().Sub(k.Start)
			}
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Unit < out[j].Unit })
	return out, unreachable
}

// statusColumn is STATE's index in status rows.
const statusColumn = 5

// minStateWidth is as narrow as STATE gets: "failure (exit status 1)".
const minStateWidth = 24

// fitColumn shortens the cells of column col (but the header) with "..."
// so that rows laid out with pad spaces between columns fit in width; 0
// leaves them whole. The column keeps at least minStateWidth runes.
func fitColumn(rows [][]string, col, width, pad int) {
	if width <= 0 || len(rows) == 0 {
		return
	}
	others := 0
	for c := range rows[0] {
		if c == col {
			continue
		}
		w := 0
		for _, r := range rows {
			w = max(w, utf8.RuneCountInString(r[c]))
		}
		others += w + pad
	}
	room := max(width-others, minStateWidth)
	for _, r := range rows[1:] {
		if utf8.RuneCountInString(r[col]) > room {
			r[col] = string([]rune(r[col])[:room-3]) + "..."
		}
	}
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
