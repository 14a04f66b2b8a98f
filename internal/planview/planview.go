// Package planview writes a push's plan for a person to read, as 'hookrun
// plan' prints it: for every ref, which rules matched and why; for every
// unit that would start, its job, argv (as a shell line that runs exactly
// it), limits, sandbox, environment, changed files and notification.
package planview

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/hookrun/hookrun/internal/job"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
)

// Print writes p to w.
func Print(w io.Writer, p *plan.Push) {
	last := ""
	for _, m := range p.Matches {
		if m.Ref != last {
			fmt.Fprintf(w, "ref %s\n", m.Ref)
			last = m.Ref
		}
		if m.Match {
			fmt.Fprintf(w, "  %s: match: %s -> %s\n", m.Rule, m.Reason, strings.Join(m.Jobs, ", "))
		} else {
			fmt.Fprintf(w, "  %s: no match: %s\n", m.Rule, m.Reason)
		}
	}
	if len(p.Units) == 0 {
		fmt.Fprintln(w, "no units would start")
		return
	}
	for _, u := range p.Units {
		printUnit(w, u)
	}
}

func printUnit(w io.Writer, u *plan.Unit) {
	fmt.Fprintf(w, "\nunit %s\n", u.Name)
	fmt.Fprintf(w, "  job:     %s (%s)\n", u.Job, u.Type)
	for _, r := range u.Refs {
		line := fmt.Sprintf("  ref:     %s %s %s..%s", r.Ref, r.Event, Short(r.Old), Short(r.New))
		if r.Commit != "" {
			line += " (tag of commit " + Short(r.Commit) + ")"
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "  rules:   %s\n", strings.Join(u.Rules, ", "))
	mgr := u.Manager + " manager"
	if u.Runner == plan.RunnerExec {
		mgr = "detached process"
	}
	fmt.Fprintf(w, "  runner:  %s (%s), concurrency %s\n", u.Runner, mgr, u.Concurrency)
	if h := u.Host; h != nil {
		fmt.Fprintf(w, "  host:    %s (%s): runs on its user manager, watched from here\n", h.Name, h.SSH)
	}
	if u.User != "" || u.Group != "" {
		fmt.Fprintf(w, "  user:    %s group %s\n", u.User, u.Group)
	}
	for i, s := range u.Steps {
		label := "run:    "
		if len(u.Steps) > 1 || u.Type == plan.TypeSequence {
			label = fmt.Sprintf("step %d: %s (%s)\n          ", i+1, s.Name, s.Type)
		}
		fmt.Fprintf(w, "  %s %s\n", label, stepLine(s))
		if s.Dir != "" {
			fmt.Fprintf(w, "           in %s\n", s.Dir)
		}
	}
	if u.Dir != "" {
		fmt.Fprintf(w, "  dir:     %s\n", u.Dir)
	}
	fmt.Fprintf(w, "  limits:  %s\n", limitsLine(u.Limits))
	if sb := sandboxLine(u.Sandbox); sb != "" {
		fmt.Fprintf(w, "  sandbox: %s\n", sb)
	}
	for _, e := range u.Env {
		fmt.Fprintf(w, "  env:     %s\n", job.Arg(e))
	}
	if u.ChangedFiles != nil {
		fmt.Fprintf(w, "  changed: %s (in the file HOOKRUN_CHANGED_FILES_FILE names)\n", changedLine(u.ChangedFiles))
	}
	if u.Notify.Server == "" {
		fmt.Fprintf(w, "  notify:  off (no [notify] server)\n")
	} else {
		on := "success, failure, cancelled"
		if len(u.Notify.On) > 0 {
			on = strings.Join(kindNames(u.Notify.On), ", ")
		}
		fmt.Fprintf(w, "  notify:  topic %s at %s on %s\n", u.Notify.Topic, u.Notify.Server, on)
	}
}

// changedLine lists a unit's changed files, the first few of them, each
// plain or as a Go string literal: file names are for reading here, and
// escapes keep non-UTF-8 bytes and newlines visible.
func changedLine(list []byte) string {
	files := strings.Split(strings.TrimSuffix(string(list), "\x00"), "\x00")
	const shown = 5
	q := make([]string, 0, shown)
	for _, f := range files[:min(len(files), shown)] {
		if job.Arg(f) != f {
			f = strconv.Quote(f)
		}
		q = append(q, f)
	}
	s := fmt.Sprintf("%d files: %s", len(files), strings.Join(q, " "))
	if len(files) == 1 {
		s = "1 file: " + q[0]
	}
	if len(files) > shown {
		s += fmt.Sprintf(" and %d more", len(files)-shown)
	}
	return s
}

func stepLine(s plan.Step) string {
	if s.Type == plan.TypeForwardBuild {
		return fmt.Sprintf("push %s to %s:%s, then run %s there", Short(s.Rev), s.Host, s.Path, job.Line(s.Command))
	}
	return job.Line(s.Argv)
}

// Short is an object name abbreviated to 7 characters.
func Short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func limitsLine(l plan.Limits) string {
	var parts []string
	if l.Timeout > 0 {
		parts = append(parts, "timeout="+Duration(l.Timeout))
	}
	if l.CPUQuotaPct > 0 {
		parts = append(parts, fmt.Sprintf("cpu_quota=%d%%", l.CPUQuotaPct))
	}
	if l.MemoryMax > 0 {
		parts = append(parts, "memory_max="+notify.FormatSize(l.MemoryMax))
	}
	if l.TasksMax > 0 {
		parts = append(parts, fmt.Sprintf("tasks_max=%d", l.TasksMax))
	}
	if l.Nice != nil {
		parts = append(parts, fmt.Sprintf("nice=%d", *l.Nice))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

func sandboxLine(s plan.Sandbox) string {
	var parts []string
	if s.NoNewPrivileges {
		parts = append(parts, "no_new_privileges")
	}
	if s.PrivateTmp {
		parts = append(parts, "private_tmp")
	}
	if s.ProtectSystem != "" {
		parts = append(parts, "protect_system="+s.ProtectSystem)
	}
	for _, p := range s.ReadWritePaths {
		parts = append(parts, "read_write_paths="+job.Arg(p))
	}
	return strings.Join(parts, " ")
}

// Duration writes d the way the config does: "30m", "1h30m", "90s".
func Duration(d time.Duration) string {
	if d%time.Second != 0 {
		return d.String()
	}
	var b strings.Builder
	for _, u := range []struct {
		s string
		d time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.s)
			d -= n * u.d
		}
	}
	return b.String()
}

// kindNames are the names of ks.
func kindNames(ks []outcome.Kind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.String()
	}
	return out
}
