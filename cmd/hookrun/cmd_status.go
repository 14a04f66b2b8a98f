package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/queue"
	"github.com/hookrun/hookrun/internal/runner"
)

func init() {
	register(&command{
		name:    "status",
		summary: "list a repository's running and recently finished units",
		usage:   "[--json] [--last N] [REPO]",
		help: `Shows the repository's units: those queued or running (their saved plans,
with state and start time read from the systemd manager over D-Bus, or from
the exec runner's records) and the most recent finished ones (hookrun's own
record, written when each unit stops, since systemd forgets finished units).`,
		flags: func(fs *pflag.FlagSet) {
			fs.Bool("json", false, "print JSON")
			fs.Int("last", 20, "show at most `n` finished units")
		},
		run: runStatus,
	})
}

// A status line is a history.Record; for units not yet finished its Result
// is their state: queued, running, or the manager's ActiveState/SubState.
type unitStatus = history.Record

func runStatus(a *app, fs *pflag.FlagSet) error {
	asJSON, _ := fs.GetBool("json")
	last, _ := fs.GetInt("last")
	if fs.NArg() > 1 {
		return fmt.Errorf("%w: at most one repository", errUsage)
	}
	repo := repoDir(a, fs.Arg(0))
	active, err := a.activeUnits(repo)
	if err != nil {
		return err
	}
	recs, err := history.Read(plan.HistoryPath(repo))
	if err != nil {
		return err
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
		fmt.Fprintf(a.stdout, "no hookrun units for %s\n", repo)
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "UNIT\tJOB\tREF\tSHA\tSTATE\tSTARTED\tDURATION")
	for _, s := range all {
		state := s.Result
		if s.Reason != "" {
			state += " (" + s.Reason + ")"
		}
		started := "-"
		if !s.Start.IsZero() {
			started = s.Start.Local().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Unit, s.Job, strings.TrimPrefix(s.Ref, "refs/heads/"), s.Short, state, started, notify.FormatDuration(s.Duration))
	}
	return tw.Flush()
}

// activeUnits lists the repository's saved plans (a plan exists from the
// push until the unit's ExecStopPost) with their state from the manager.
func (a *app) activeUnits(repo string) ([]unitStatus, error) {
	paths, _ := filepath.Glob(filepath.Join(plan.StateDir(repo), "units", "*.json"))
	var out []unitStatus
	conns := map[string]*runner.Systemd{}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, p := range paths {
		u, err := plan.Load(p)
		if err != nil {
			continue
		}
		s := unitStatus{Unit: u.Name, Repo: u.Repo, Job: u.Job, Runner: u.Runner, Result: "queued"}
		if len(u.Refs) > 0 {
			s.Ref, s.Short = u.Refs[0].Ref, u.Refs[0].Short()
		}
		if t := startedAt(p, time.Time{}); !t.IsZero() {
			s.Result, s.Start, s.Duration = "running", t, time.Since(t).Round(time.Second)
		}
		if u.Runner != "exec" {
			c, ok := conns[u.Manager]
			if !ok {
				if c, err = runner.DialSystemd(ctx, u.Manager, a.getenv); err == nil {
					conns[u.Manager] = c
				}
			}
			if c != nil {
				if props, err := c.UnitProperties(ctx, u.Name, "Unit"); err == nil {
					if ls, _ := props["LoadState"].(string); ls == "not-found" && time.Since(u.Created) > queue.StartGrace {
						s.Result, s.Reason = "lost", "the manager no longer knows it and no outcome was recorded"
					} else if st, _ := props["ActiveState"].(string); st != "" {
						sub, _ := props["SubState"].(string)
						s.Result = st + "/" + sub
					}
				}
			}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Unit < out[j].Unit })
	return out, nil
}
