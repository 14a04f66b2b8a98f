package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/runner"
	"github.com/hookrun/hookrun/internal/unit"
)

func cmdStatus() *command {
	return &command{
		name:    "status",
		summary: "list a repository's running and recently finished units",
		usage:   "[--json] [--last N] [REPO]",
		help: `Shows the repository's units: those queued or running, as the systemd
manager reports them over D-Bus (found by the HOOKRUN_* environment of each
unit, never by its name) and from hookrun's own state of each unit (which
also covers queued and exec-runner units), then the most recent finished ones
(hookrun's own record, written when each unit stops, since systemd forgets
finished units). Outside a repository and without REPO it lists the running
units of every repository the user manager knows.`,
		exits: []exitDoc{{"0", "status shown"}, {"1", "the state could not be read"}, {"2", "usage error"}},
		flags: func(fs *pflag.FlagSet) {
			fs.Bool("json", false, "print JSON")
			fs.Int("last", 20, "show at most `n` finished units")
		},
		run: runStatus,
	}
}

// A status line is a history.Record; for units not yet finished its Result
// is their state: queued, running, or the manager's ActiveState/SubState.
type unitStatus = history.Record

func runStatus(a *app, fs *pflag.FlagSet) error {
	asJSON, _ := fs.GetBool("json")
	last, _ := fs.GetInt("last")
	if fs.NArg() > 1 {
		return usagef("at most one repository")
	}
	repo := repoDir(a, fs.Arg(0))
	if _, err := os.Stat(plan.StateDir(repo)); err != nil && fs.NArg() == 0 {
		repo = "" // not in a repository hookrun ran in: every repository's units
	}
	active, err := a.activeUnits(repo)
	if err != nil {
		return err
	}
	var recs []history.Record
	if repo != "" {
		if recs, err = history.Read(plan.HistoryPath(repo)); err != nil {
			return err
		}
	}
	var finished []unitStatus
	for i := len(recs) - 1; i >= 0 && len(finished) < last; i-- {
		finished = append(finished, recs[i])
	}
	all := append(active, finished...)
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Repo  string       `json:"repo"`
			Units []unitStatus `json:"units"`
		}{repo, append([]unitStatus{}, all...)})
	}
	if len(all) == 0 {
		if repo == "" {
			fmt.Fprintln(a.stdout, "no hookrun units running (name a repository to see its finished ones)")
		} else {
			fmt.Fprintf(a.stdout, "no hookrun units for %s\n", repo)
		}
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "UNIT\tREPO\tJOB\tREF\tSHA\tSTATE\tSTARTED\tDURATION\tNOTIFY")
	var failed []unitStatus
	for _, s := range all {
		state := s.Result
		if s.Reason != "" {
			state += " (" + s.Reason + ")"
		}
		started := "-"
		if !s.Start.IsZero() {
			started = s.Start.Local().Format("2006-01-02 15:04:05")
		}
		// The NOTIFY column says what became of the notification; the
		// failures' reasons follow the table.
		notified, _, _ := strings.Cut(s.Notify, ":")
		if notified == "" {
			notified = "-"
		}
		if s.NotifyFailed() {
			failed = append(failed, s)
		}
		job := s.Job
		if s.Host != "" {
			job += "@" + s.Host // runs on that host; the unit here watches it
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Unit, s.Repo, job, strings.TrimPrefix(s.Ref, "refs/heads/"), s.Short, state, started, notify.FormatDuration(s.Duration), notified)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range failed {
		fmt.Fprintf(a.stdout, "%s: notification %s\n", s.Unit, s.Notify)
	}
	return nil
}

// activeUnits lists the units of repo that have not ended: from the systemd
// managers, identified by the HOOKRUN_* environment hookrun gave each unit,
// and from the units' state (internal/unit), which also covers queued and
// exec-runner units. An empty repo
// lists every repository's units the user manager knows.
func (a *app) activeUnits(repo string) ([]unitStatus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	known := map[string]runner.Unit{} // by unit name, from the managers
	managers := []plan.Manager{plan.ManagerUser}
	var states []*unit.State
	if repo != "" {
		all, _ := unit.Open(repo).List()
		for _, st := range all {
			if st.Phase == unit.Ended {
				continue // the history has it
			}
			states = append(states, st)
			if st.Manager == plan.ManagerSystem && !slices.Contains(managers, plan.ManagerSystem) {
				managers = append(managers, plan.ManagerSystem)
			}
		}
	}
	reached := map[plan.Manager]bool{}
	for _, m := range managers {
		c, err := runner.DialSystemd(ctx, string(m), a.getenv)
		if err != nil {
			continue // no manager: states and history still tell
		}
		units, err := c.Units(ctx)
		c.Close()
		if err != nil {
			continue
		}
		reached[m] = true
		for _, u := range units {
			if repo == "" || u.RepoPath == repo {
				known[u.Name] = u
			}
		}
	}
	var out []unitStatus
	for _, st := range states {
		s := unitStatus{Unit: st.Unit, Repo: st.Repo, Job: st.Job, Runner: string(st.Runner), Result: "queued"}
		if u, err := plan.Load(plan.PlanPath(repo, st.Unit)); err == nil {
			if len(u.Refs) > 0 {
				s.Ref, s.Short = u.Refs[0].Ref, u.Refs[0].Short()
			}
			if u.Host != nil {
				s.Host = u.Host.Name
			}
		}
		if !st.JobStart.IsZero() {
			s.Result, s.Start, s.Duration = "running", st.JobStart, time.Since(st.JobStart).Round(time.Second)
		}
		if st.Exit != nil {
			s.Result = "ending" // its notify is recording and reporting it
		}
		if c := st.Cancel; c != nil {
			s.Reason = "cancelling: " + c.Reason
		}
		if k, ok := known[st.Unit]; ok {
			if st.Exit == nil {
				s.Result = k.State
			}
			delete(known, st.Unit)
		} else if st.Runner == plan.RunnerSystemd && reached[st.Manager] && time.Since(st.Saved) > unit.StartGrace {
			s.Result, s.Reason = "lost", "the manager no longer knows it and no outcome was recorded"
		}
		out = append(out, s)
	}
	for _, k := range known { // units whose plan is not here (another repo, or removed)
		s := unitStatus{Unit: k.Name, Repo: k.Repo, Job: k.Job, Ref: k.Ref, Runner: "systemd", Result: k.State, Start: k.Start}
		if len(k.New) >= 7 {
			s.Short = k.New[:7]
		}
		if !k.Start.IsZero() {
			s.Duration = time.Since(k.Start).Round(time.Second)
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Unit < out[j].Unit })
	return out, nil
}
