// Package status gathers and lays out what 'hookrun status' shows: the
// units of repositories, ended ones from their history and the others from
// their state checked against the systemd managers, as one table.
package status

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/runner"
	"github.com/hookrun/hookrun/internal/unit"
)

// A Line is a history.Record and its state: the recorded outcome of an
// ended unit, else queued, running, ending or lost (its JSON "result").
type Line struct {
	history.Record
	State string `json:"result"`
	// Notify is ntfy's delivery (Record.Ntfy) in its text form, as
	// status has always printed it: "delivered", "not delivered: ...".
	Notify string `json:"notify,omitempty"`
	// Deliveries is what became of the outcome at each output, ntfy's
	// included (history.Record.Deliveries), typed.
	Deliveries []outcome.Delivery `json:"deliveries,omitempty"`
}

// newLine is the status line of rec, whose state is state.
func newLine(rec history.Record, state string) Line {
	s := Line{Record: rec, State: state, Deliveries: rec.Deliveries()}
	if rec.Ntfy != nil {
		s.Notify = rec.Ntfy.Text()
	}
	return s
}

// Ran reports whether hookrun has run in repo: its directory there
// ($GIT_DIR/hookrun) exists, whatever kind of directory repo is.
func Ran(repo string) bool {
	_, err := os.Stat(layout.Dir(repo))
	return err == nil
}

// Query is what Finished and Active need from the caller.
type Query struct {
	Getenv func(string) string // for the managers' buses
	Now    func() time.Time
	Warn   func(string) // a history that cannot be read, a manager's error
}

// Finished is the last ended units of repos, newest first across them, from
// their histories.
func (q Query) Finished(repos []string, last int) []Line {
	var finished []Line
	for _, r := range repos {
		recs, err := history.Read(layout.History(r))
		if err != nil {
			q.Warn(fmt.Sprintf("%s: cannot read its history: %v", r, err))
			continue
		}
		for _, rec := range recs {
			finished = append(finished, newLine(rec, rec.Result.String()))
		}
	}
	// Newest first, across repositories.
	sort.SliceStable(finished, func(i, j int) bool { return finished[i].Start.After(finished[j].Start) })
	return finished[:min(len(finished), last)]
}

// Table writes lines as status's table to w, and after it the reasons of
// failed notifications and the deliveries of the other outputs. scope is
// the one repository shown ("" for all of repos, how many there are).
// width > 0 keeps rows within it by shortening the STATE column.
func Table(w io.Writer, all []Line, scope string, repos int, width int) {
	if len(all) == 0 {
		switch {
		case scope != "":
			fmt.Fprintf(w, "no runs recorded for %s yet\n", scope)
		case repos == 0:
			fmt.Fprintln(w, "no runs recorded: hookrun has not run in any repository of this user yet (name a repository to look at one)")
		default:
			fmt.Fprintf(w, "no runs recorded in the %d repositories hookrun knows\n", repos)
		}
		return
	}
	rows := [][]string{{"UNIT", "REPO", "JOB", "REF", "SHA", "STATE", "STARTED", "DURATION", "NOTIFY"}}
	var failed []Line
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
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	_ = tw.Flush()
	for _, s := range failed {
		fmt.Fprintf(w, "%s: notification %s\n", s.Unit, s.Notify)
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
		fmt.Fprintf(w, "%s: outputs: %s\n", s.Unit, strings.Join(parts, ", "))
		for _, d := range s.Outputs {
			if d.Error != "" {
				fmt.Fprintf(w, "%s: %s %s: %s\n", s.Unit, d.Output, d.State, d.Error)
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

// Active lists the units of repos that have not ended, from their state
// (internal/unit), checked against the systemd managers over D-Bus: a unit
// its manager no longer knows that never recorded an outcome is lost. With
// everywhere, units the user manager runs for repositories not in repos are
// listed too. unreachable names the managers units needed that could not be
// asked (warn is told why, when it is not plain unreachability). askUser
// asks the user manager even when no unit that has not ended needs it, and
// so does idle when there is no such unit.
func (q Query) Active(repos []string, everywhere, askUser, idle bool) (out []Line, unreachable []string) {
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
		c, err := runner.DialSystemd(ctx, string(m), q.Getenv)
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
				q.Warn(fmt.Sprintf("systemd %s manager: %v", m, err))
			}
			unreachable = append(unreachable, string(m))
			continue
		}
		reached[m] = true
	}
	for _, l := range states {
		st := l.st
		s := Line{Record: history.Record{Unit: st.Unit, Repo: st.Repo, Job: st.Job, Runner: string(st.Runner), Start: st.Saved}, State: "queued"}
		if u, err := plan.Load(layout.Plan(l.repo, st.Unit)); err == nil {
			unit.PlanFacts(&s.Record, u)
		}
		switch {
		case st.Exit != nil:
			s.State = "ending" // its notify is recording and reporting it
		case !st.JobStart.IsZero():
			s.State, s.Start = "running", st.JobStart
		case st.Phase == unit.Running:
			s.Reason = "waiting for its turn"
		}
		s.Duration = q.Now().Sub(s.Start)
		if c := st.Cancel; c != nil {
			s.Reason = "cancelling: " + c.Reason
		}
		if _, ok := known[st.Unit]; ok {
			delete(known, st.Unit)
		} else if st.Runner == plan.RunnerSystemd && reached[st.Manager] && q.Now().Sub(st.Saved) > unit.StartGrace {
			s.State, s.Reason = "lost", "the manager no longer knows it and no outcome was recorded"
		}
		out = append(out, s)
	}
	if everywhere {
		for _, k := range known { // units of repositories not in the index
			if slices.Contains(repos, k.RepoPath) {
				continue
			}
			s := Line{Record: history.Record{Unit: k.Name, Repo: k.Repo, Job: k.Job, Ref: k.Ref, Runner: "systemd", Reason: "manager: " + k.State, Start: k.Start}, State: "running"}
			if len(k.New) >= 7 {
				s.Short = k.New[:7]
			}
			if !k.Start.IsZero() {
				s.Duration = q.Now().Sub(k.Start)
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
