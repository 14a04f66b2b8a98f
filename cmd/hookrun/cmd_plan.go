package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/job"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/policy"
	"github.com/hookrun/hookrun/internal/resolve"
	"github.com/hookrun/hookrun/internal/runner"
)

func cmdPlan() *command {
	return withOptions(&command{
		name:    "plan",
		summary: "show which units a push would start, without starting any",
		usage:   "[--repo DIR] [--file FILE] [--ref REF [--old SHA] [--new SHA]] [--json] < ref-lines",
		help: `Reads post-receive ref lines ("<old> <new> <refname>") from standard input,
or takes one update from --ref/--old/--new, and prints for every rule whether
it matched and, for every unit that would start, its name, job, argv
(templates expanded), limits, environment and notification topic. It starts
nothing and needs no systemd. A signed push is checked with the push
certificate GIT_PUSH_CERT names, verified as the hook does; the pusher is
read from the variables the hook reads (HOOKRUN_PUSHER, GL_USERNAME, ...).
When the config has [[policy]] tables, it
also shows which apply to each ref and, for real object names, what they
would refuse, judged on the commits between old and new (see 'hookrun
check').`,
		exits: []exitDoc{{"0", "plan shown"}, {"1", "the config is invalid, or malformed input"}, {"2", "usage error or unreadable config file"}},
	}, func(fs *pflag.FlagSet, o *planOptions) {
		defineRepo(fs, &o.repo, repoUsage)
		o.config.defineFile(fs)
		o.config.define(fs)
		fs.StringVar(&o.ref, "ref", "", "refname to simulate, e.g. refs/heads/main or main")
		fs.StringVar(&o.old, "old", "", "old object name for --ref (default: the parent of --new)")
		fs.StringVar(&o.new, "new", "", "new object name for --ref (default: the ref's tip, else a placeholder)")
		fs.BoolVar(&o.json, "json", false, "print the plan as JSON")
	}, runPlan)
}

type planOptions struct {
	repo          string
	config        configFlags
	ref, old, new string
	json          bool
}

func runPlan(a *app, fs *pflag.FlagSet, o *planOptions) error {
	repoFlag, ref, old, new, asJSON := o.repo, o.ref, o.old, o.new, o.json
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	repoPath := repoDir(a, repoFlag)
	if repoFlag != "" {
		if err := checkRepository(repoPath); err != nil {
			return err
		}
	}
	c, _, err := loadNamedConfig(a, o.config.source(a, repoPath))
	if err != nil {
		return err
	}
	if c == nil {
		return errors.New("the config is invalid; nothing would start")
	}

	var ups []match.RefUpdate
	var anc match.Ancestry
	if ref != "" {
		u, explicit, err := simulatedUpdate(a, repoPath, ref, old, new)
		if err != nil {
			return err
		}
		ups = []match.RefUpdate{u}
		if explicit {
			anc = gitx.Ancestry{GitDir: repoPath}
		}
	} else {
		if old != "" || new != "" {
			return usagef("--old and --new go with --ref")
		}
		ups, err = match.ParseRefLines(a.stdin)
		if err != nil {
			return fmt.Errorf("malformed input:\n%v", err)
		}
		anc = gitx.Ancestry{GitDir: repoPath}
	}
	p, err := resolve.Resolve(c, resolve.Push{
		RepoPath: repoPath, Repo: gitx.RepoName(repoPath), Updates: ups,
		Cert: pushCert(a, repoPath, signedRules(c), nil, nil), Pusher: match.PusherFromEnv(a.getenv), Now: a.now(), Ancestry: anc, Changes: gitx.Changes{GitDir: repoPath}, Peel: peeler(repoPath),
		UnitName: runner.UnitName, Explain: true,
	})
	if err != nil {
		return err
	}
	var pols *policyReport
	if len(c.Policies) > 0 {
		real := ref == "" || anc != nil
		if pols, err = evaluatePolicies(repoPath, c, ups, real, pushCert(a, repoPath, false, nil, nil), match.PusherFromEnv(a.getenv)); err != nil {
			a.warnf("policies not evaluated: %v", err)
			pols = &policyReport{Decisions: policy.Decisions(c.Policies, ups)}
		}
	}
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			*plan.Push
			Policies *policyReport `json:"policies,omitempty"`
		}{p, pols})
	}
	printPlan(a.stdout, p)
	if pols != nil {
		fmt.Fprintln(a.stdout)
		pols.print(a.stdout)
	}
	return nil
}

func printPlan(w io.Writer, p *plan.Push) {
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
		fmt.Fprintf(w, "\nunit %s\n", u.Name)
		fmt.Fprintf(w, "  job:     %s (%s)\n", u.Job, u.Type)
		for _, r := range u.Refs {
			line := fmt.Sprintf("  ref:     %s %s %s..%s", r.Ref, r.Event, short(r.Old), short(r.New))
			if r.Commit != "" {
				line += " (tag of commit " + short(r.Commit) + ")"
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
			fmt.Fprintf(w, "  env:     %s\n", quoteArg(e))
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
}

// changedLine lists a unit's changed files, the first few of them, each
// plain or as a Go string literal: file names are for reading here, and
// escapes keep non-UTF-8 bytes and newlines visible.
func changedLine(list []byte) string {
	files := strings.Split(strings.TrimSuffix(string(list), "\x00"), "\x00")
	const shown = 5
	q := make([]string, 0, shown)
	for _, f := range files[:min(len(files), shown)] {
		if quoteArg(f) != f {
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
		return fmt.Sprintf("push %s to %s:%s, then run %s there", short(s.Rev), s.Host, s.Path, quoteArgs(s.Command))
	}
	return quoteArgs(s.Argv)
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// quoteArgs is argv as a POSIX shell command line that runs exactly argv
// when pasted: each word quoted by quoteArg, and a first word holding "="
// quoted even so (bare, the shell would take it for an assignment).
func quoteArgs(argv []string) string {
	q := make([]string, len(argv))
	for i, s := range argv {
		q[i] = quoteArg(s)
		if i == 0 && q[i] == s && strings.Contains(s, "=") {
			q[i] = job.Quote(s)
		}
	}
	return strings.Join(q, " ")
}

func limitsLine(l plan.Limits) string {
	var parts []string
	if l.Timeout > 0 {
		parts = append(parts, "timeout="+durationString(l.Timeout))
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
		parts = append(parts, "read_write_paths="+quoteArg(p))
	}
	return strings.Join(parts, " ")
}

// durationString writes d the way the config does: "30m", "1h30m", "90s".
func durationString(d time.Duration) string {
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
