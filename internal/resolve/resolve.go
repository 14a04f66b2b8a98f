// Package resolve turns a config and a push into the plan of units to start:
// which rules match which refs, and for every unit the expanded argv,
// limits, environment and notification settings.
package resolve

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/plan"
)

// Push is what a hook run knows about one push.
type Push struct {
	RepoPath string // absolute path of the bare repository
	Repo     string // its name
	Updates  []match.RefUpdate
	Cert     match.PushCert
	Pusher   match.Pusher // who pushed; unknown when the server does not say
	Now      time.Time
	// Ancestry tells update from force; asked only when a rule needs it.
	// nil treats every non-create, non-delete update as "update".
	Ancestry match.Ancestry
	// Changes lists the files the refs changed; asked once per push (and
	// once more for the other refs of per = "push" jobs that a paths rule
	// selected), only for the refs that a rule with paths could match.
	// nil means no file changed: rules with paths match nothing.
	Changes match.Changes
	// Peel returns the commit an object (an annotated tag) points to; it is
	// asked only for the tags a rule selected. nil leaves {commit} = {new}.
	Peel func(object string) (string, error)
	// UnitName makes a unique unit name for a job.
	UnitName func(job, repo string, now time.Time) string
	// Explain records every rule decision in Push.Matches (for `plan`);
	// the hook does not need them.
	Explain bool
	// Getenv reads the hook's environment: the forge's repository
	// (GITEA_REPO_USER_NAME, GITEA_REPO_NAME) when [forge] has no repo.
	// nil: none.
	Getenv func(string) string
}

// ruleLabel names a rule for people: "hooks.toml rules[2]", with its name
// when it has one: "hooks.toml rules[2] \"deploy main\"".
func ruleLabel(r *config.Rule) string {
	if r.Name != "" {
		return fmt.Sprintf("%s rules[%d] %q", filepath.Base(r.File), r.Index, r.Name)
	}
	return fmt.Sprintf("%s rules[%d]", filepath.Base(r.File), r.Index)
}

type selection struct {
	job   string
	refs  []plan.Ref
	refIx []int // indexes of refs in Push.Updates
	rules []string
	files bool // a rule with paths selected the job: the unit gets the changed files
}

// hit is a rule that selected a ref on name, event and certificate; a
// rule with paths still waits for the ref's changed files.
type hit struct {
	ref, rule int
	ev        match.Event
	explain   int // index in Push.Matches, or -1
}

// Resolve computes the plan. It starts nothing and, unless a rule needs to
// tell update from force or has paths, runs no git command.
func Resolve(c *config.Config, p Push) (*plan.Push, error) {
	out := &plan.Push{}
	labels := make([]string, len(c.Rules))
	for i, r := range c.Rules {
		labels[i] = ruleLabel(r)
	}
	explain := func(m plan.Match) int {
		if !p.Explain {
			return -1
		}
		out.Matches = append(out.Matches, m)
		return len(out.Matches) - 1
	}
	byKey := map[string]*selection{} // job for per=push, job+ref for per=ref
	var order []*selection
	perPush := map[string]bool{} // by job: computed once, not per ref
	for name, j := range c.Jobs {
		perPush[name] = c.Effective(j).Per == config.PerPush
	}
	// Without a rule with paths every hit is final at once; with one, hits
	// wait (in order) until one question has listed the changed files.
	anyPaths := slices.ContainsFunc(c.Rules, func(r *config.Rule) bool { return r.Selector.Paths != nil })
	var files map[int][]string
	add := func(h hit) {
		u, r := p.Updates[h.ref], c.Rules[h.rule]
		if r.Selector.Paths != nil {
			f, ok := r.Selector.MatchFiles(files[h.ref])
			if h.explain >= 0 {
				m := &out.Matches[h.explain]
				m.Match, m.File = ok, f
				m.Reason = pathsReason(m.Reason, f, ok, len(files[h.ref]))
				if !ok {
					m.Jobs = nil
				}
			}
			if !ok {
				return
			}
		}
		ref := refOf(u, h.ev, p.Peel)
		for _, jn := range r.Jobs {
			key := jn
			if !perPush[jn] {
				key += "\x00" + u.Name
			}
			s := byKey[key]
			if s == nil {
				s = &selection{job: jn}
				byKey[key] = s
				order = append(order, s)
			}
			if len(s.refs) == 0 || s.refs[len(s.refs)-1].Ref != u.Name {
				s.refs = append(s.refs, ref)
				if anyPaths {
					s.refIx = append(s.refIx, h.ref)
				}
			}
			if lbl := labels[h.rule]; !slices.Contains(s.rules, lbl) {
				s.rules = append(s.rules, lbl)
			}
			s.files = s.files || r.Selector.Paths != nil
		}
	}
	var hits []hit
	var wantFiles []int // refs a rule with paths could match
	for ui, u := range p.Updates {
		kind, short := u.Short()
		var ev match.Event
		known, exact := false, false // exact: update vs force was asked of git
		wants := false
		for ri, r := range c.Rules {
			if !r.Selector.MatchName(kind, short) {
				explain(plan.Match{Ref: u.Name, Rule: labels[ri], Reason: "ref not selected by branches/tags"})
				continue
			}
			needs := r.Selector.NeedsAncestry() && p.Ancestry != nil
			if !known || (needs && !exact) {
				var anc match.Ancestry
				if needs {
					anc = p.Ancestry
				}
				e, err := u.Event(anc)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", u.Name, err)
				}
				ev, known, exact = e, true, needs || u.IsCreate() || u.IsDelete()
			}
			v := r.Selector.Decide(u, ev, p.Cert)
			m := plan.Match{Ref: u.Name, Rule: labels[ri], Match: v.Match, Reason: v.Reason}
			if v.Match {
				m.Jobs = r.Jobs
			}
			at := explain(m)
			if !v.Match {
				continue
			}
			h := hit{ref: ui, rule: ri, ev: ev, explain: at}
			if !anyPaths {
				add(h)
				continue
			}
			if r.Selector.Paths != nil && !wants {
				wants = true
				wantFiles = append(wantFiles, ui)
			}
			hits = append(hits, h)
		}
	}
	if anyPaths {
		var err error
		if files, err = changedFiles(p, wantFiles, nil); err != nil {
			return nil, err
		}
		for _, h := range hits {
			add(h)
		}
	}
	if err := unitFiles(p, order, files); err != nil {
		return nil, err
	}
	for _, s := range order {
		u, err := buildUnit(c, p, s)
		if err != nil {
			return nil, err
		}
		if s.files {
			u.ChangedFiles = joinFiles(s.refIx, files)
		}
		out.Units = append(out.Units, u)
	}
	return out, nil
}

// pathsReason adds the paths decision to a rule's reason.
func pathsReason(reason, file string, ok bool, changed int) string {
	switch {
	case ok:
		return reason + "; changed file " + strconv.Quote(file) + " matches paths"
	case changed == 0:
		return reason + ", but the push changed no file in the ref"
	case changed == 1:
		return reason + ", but its one changed file does not match paths"
	}
	return fmt.Sprintf("%s, but none of its %d changed files matches paths", reason, changed)
}

// changedFiles asks p.Changes, once, for the files of the refs in want
// (indexes into p.Updates) that files does not hold yet.
func changedFiles(p Push, want []int, files map[int][]string) (map[int][]string, error) {
	if files == nil {
		files = map[int][]string{}
	}
	var ask []int
	for _, i := range want {
		if _, ok := files[i]; !ok {
			ask = append(ask, i)
		}
	}
	if len(ask) == 0 || p.Changes == nil {
		return files, nil
	}
	ups := make([]match.RefUpdate, len(ask))
	for k, i := range ask {
		ups[k] = p.Updates[i]
	}
	got, err := p.Changes.Files(ups)
	if err != nil {
		return nil, err
	}
	for k, i := range ask {
		files[i] = got[k]
	}
	return files, nil
}

// unitFiles adds to files the refs that per = "push" units selected by a
// rule with paths also hold through other rules, in one more question.
func unitFiles(p Push, order []*selection, files map[int][]string) error {
	var want []int
	for _, s := range order {
		if s.files && len(s.refIx) > 1 {
			want = append(want, s.refIx...)
		}
	}
	_, err := changedFiles(p, want, files)
	return err
}

// joinFiles is the NUL-separated union of the files the refs changed.
func joinFiles(refs []int, files map[int][]string) []byte {
	all := files[refs[0]]
	if len(refs) > 1 {
		all = nil
		for _, i := range refs {
			all = append(all, files[i]...)
		}
		slices.Sort(all)
		all = slices.Compact(all)
	}
	n := 0
	for _, f := range all {
		n += len(f) + 1
	}
	b := make([]byte, 0, n)
	for _, f := range all {
		b = append(append(b, f...), 0)
	}
	return b
}

func refOf(u match.RefUpdate, ev match.Event, peel func(string) (string, error)) plan.Ref {
	r := plan.Ref{Ref: u.Name, Old: u.Old, New: u.New, Event: string(ev)}
	switch kind, short := u.Short(); kind {
	case match.Branch:
		r.Branch = short
	case match.Tag:
		r.Tag = short
		if peel != nil && !u.IsDelete() {
			// An annotated tag's New is the tag object; jobs and messages
			// want the commit. A tag of a tree or blob keeps New.
			if c, err := peel(u.New); err == nil && c != u.New {
				r.Commit = c
			}
		}
	}
	return r
}

func buildUnit(c *config.Config, p Push, s *selection) (*plan.Unit, error) {
	j := c.Jobs[s.job]
	set := c.Effective(j)
	ref := s.refs[0]
	name := p.UnitName(s.job, p.Repo, p.Now)
	vars := map[string]string{
		"repo": p.Repo, "repo_path": p.RepoPath, "ref": ref.Ref, "branch": ref.Branch,
		"tag": ref.Tag, "old": ref.Old, "new": ref.New, "commit": ref.Target(), "short": ref.Short(),
		"event": ref.Event, "job": s.job,
	}
	u := &plan.Unit{
		Version: plan.Version, Name: name, Job: s.job, Type: j.Type,
		Repo: p.Repo, RepoPath: p.RepoPath, Created: p.Now, Refs: s.refs, Rules: s.rules,
		Dir:    set.WorkingDirectory.Expand(vars),
		Runner: set.Runner, Manager: set.Manager, User: set.User, Group: set.Group,
		Concurrency: set.Concurrency, Pusher: p.Pusher.String(),
		Limits: plan.Limits{
			Timeout: time.Duration(set.Timeout), CPUQuotaPct: uint64(set.CPUQuota),
			MemoryMax: uint64(set.MemoryMax), TasksMax: uint64(set.TasksMax), LogMax: uint64(set.LogMax),
		},
		Sandbox: plan.Sandbox{ProtectSystem: string(set.ProtectSystem)},
	}
	if set.Nice != nil {
		n := int(*set.Nice)
		u.Limits.Nice = &n
	}
	if set.NoNewPrivileges != nil {
		u.Sandbox.NoNewPrivileges = *set.NoNewPrivileges
	}
	if set.PrivateTmp != nil {
		u.Sandbox.PrivateTmp = *set.PrivateTmp
	}
	for _, rw := range set.ReadWritePaths {
		u.Sandbox.ReadWritePaths = append(u.Sandbox.ReadWritePaths, rw.Expand(vars))
	}
	// The signer is passed on only where the certificate vouches for the
	// unit's ref, not because the environment says so.
	if p.Cert.Verified() && p.Cert.Fresh() && p.Cert.Bound(match.RefUpdate{Old: ref.Old, New: ref.New, Name: ref.Ref}) == "" {
		u.Signer = p.Cert.Signer
	}
	if h := c.Hosts[j.Host]; h != nil && j.Type != plan.TypeForwardBuild {
		u.Host = &plan.Host{Name: j.Host, SSH: h.SSH, SSHOptions: h.SSHOptions, RuntimeDir: h.RuntimeDir, Hookrun: h.Hookrun,
			LostContact: time.Duration(h.LostContact)}
	}
	u.Env = unitEnv(u, ref, set, vars)
	var err error
	if u.Steps, err = steps(c, s.job, vars, nil); err != nil {
		return nil, err
	}
	if c.Notify.Server != "" {
		u.Notify = plan.Notify{
			Server: c.Notify.Server, Topic: c.Notify.Topic, TokenFile: c.Notify.TokenFile, Click: c.Notify.Click.Expand(vars),
			RetryBudget: time.Duration(c.Notify.RetryBudget), DigestOver: config.DefaultDigestOver,
		}
		if c.Notify.DigestOver != nil {
			u.Notify.DigestOver = *c.Notify.DigestOver
		}
		if set.Topic != "" {
			u.Notify.Topic = set.Topic
		}
		on := c.Notify.On
		if len(set.NotifyOn) > 0 {
			on = set.NotifyOn
		}
		for _, o := range on {
			u.Notify.On = append(u.Notify.On, o.Kind())
		}
		if set.Priority != nil {
			u.Notify.Priority = int(*set.Priority)
		}
		if c.Notify.LogLines != nil {
			u.Notify.LogLines = *c.Notify.LogLines
		}
	}
	u.Outputs = outputs(c, p.Getenv)
	return u, nil
}

// outputs are the [site], [forge] and [[webhook]]s of c as a unit keeps
// them; nil when there are none.
func outputs(c *config.Config, getenv func(string) string) *plan.Outputs {
	var o plan.Outputs
	if c.Site.Dir != "" {
		o.Site = &plan.Site{Dir: c.Site.Dir, URL: c.Site.URL, Logs: c.Site.Logs}
	}
	if c.Forge.URL != "" {
		f := &plan.Forge{URL: c.Forge.URL, TokenFile: c.Forge.TokenFile}
		if owner, name, ok := strings.Cut(c.Forge.Repo, "/"); ok {
			f.Owner, f.Repo = owner, name
		} else if getenv != nil {
			f.Owner, f.Repo = getenv("GITEA_REPO_USER_NAME"), getenv("GITEA_REPO_NAME")
		}
		o.Forge = f
	}
	for _, w := range c.Webhooks {
		o.Webhooks = append(o.Webhooks, plan.Webhook{URL: w.URL, SecretFile: w.SecretFile, On: config.Kinds(w.On)})
	}
	if o.Site == nil && o.Forge == nil && len(o.Webhooks) == 0 {
		return nil
	}
	o.RetryBudget = time.Duration(c.Notify.RetryBudget)
	return &o
}

func unitEnv(u *plan.Unit, ref plan.Ref, set config.Settings, vars map[string]string) []string {
	env := []string{
		"HOOKRUN_ACTIVE=1",
		"HOOKRUN_REPO=" + u.Repo,
		"HOOKRUN_REPO_PATH=" + u.RepoPath,
		"HOOKRUN_REF=" + ref.Ref,
		"HOOKRUN_OLD=" + ref.Old,
		"HOOKRUN_NEW=" + ref.New,
		"HOOKRUN_COMMIT=" + ref.Target(),
		"HOOKRUN_EVENT=" + ref.Event,
		"HOOKRUN_JOB=" + u.Job,
		"HOOKRUN_UNIT=" + u.Name,
	}
	if ref.Branch != "" {
		env = append(env, "HOOKRUN_BRANCH="+ref.Branch)
	}
	if ref.Tag != "" {
		env = append(env, "HOOKRUN_TAG="+ref.Tag)
	}
	if u.Signer != "" {
		env = append(env, "HOOKRUN_PUSH_SIGNER="+u.Signer)
	}
	if u.Pusher != "" {
		env = append(env, "HOOKRUN_PUSHER="+u.Pusher)
	}
	if u.Host != nil {
		env = append(env, "HOOKRUN_HOST="+u.Host.Name)
	}
	// All the unit's refs, while they fit an environment string; the job
	// always has them in HOOKRUN_REFS_FILE (written by hookrun exec).
	n := len("HOOKRUN_REFS=")
	for _, r := range u.Refs {
		n += len(r.Old) + len(r.New) + len(r.Ref) + 3
	}
	if n-1 <= plan.MaxRefsEnvBytes {
		var refs strings.Builder
		refs.Grow(n)
		refs.WriteString("HOOKRUN_REFS=")
		for i, r := range u.Refs {
			if i > 0 {
				refs.WriteByte('\n')
			}
			refs.WriteString(r.Old)
			refs.WriteByte(' ')
			refs.WriteString(r.New)
			refs.WriteByte(' ')
			refs.WriteString(r.Ref)
		}
		env = append(env, refs.String())
	}
	return append(env, expandEnv(set.Environment, vars)...)
}

func expandEnv(m map[string]config.Template, vars map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var env []string
	for _, k := range keys {
		env = append(env, k+"="+m[k].Expand(vars))
	}
	return env
}

// steps flattens a job (and nested sequences) into the steps a unit runs.
// Its switch is every job type's plan-time implementation: a type it does
// not know is an error here, never an empty step found at run time
// (docs/contributing.md, "Adding a job type").
func steps(c *config.Config, name string, vars map[string]string, seen []string) ([]plan.Step, error) {
	j := c.Jobs[name]
	if j == nil || slices.Contains(seen, name) { // validation reports both; never loop
		return nil, nil
	}
	if j.Type == plan.TypeSequence {
		var out []plan.Step
		for _, s := range j.Steps {
			st, err := steps(c, s, vars, append(seen, name))
			if err != nil {
				return nil, err
			}
			out = append(out, st...)
		}
		return out, nil
	}
	v := make(map[string]string, len(vars))
	for k, x := range vars {
		v[k] = x
	}
	v["job"] = name
	st := plan.Step{Name: name, Type: j.Type, Dir: j.WorkingDirectory.Expand(v)}
	if len(seen) > 0 { // a sequence step keeps its own environment
		st.Env = expandEnv(j.Environment, v)
	}
	args := expandAll(j.Args, v)
	switch j.Type {
	case plan.TypeGitmal:
		bin := j.Gitmal
		if bin == "" {
			bin = "gitmal"
		}
		theme := string(j.Theme)
		if theme == "" {
			theme = config.DefaultTheme
		}
		st.Output = j.Output.Expand(v)
		for _, other := range slices.Sorted(maps.Keys(c.Jobs)) {
			if oj := c.Jobs[other]; other != name && oj.Type == plan.TypeGitmal && oj.Output != "" {
				ov := maps.Clone(v)
				ov["job"] = other
				st.Keep = append(st.Keep, oj.Output.Expand(ov))
			}
		}
		st.Argv = append([]string{bin, "--theme", theme, "--output", st.Output, "--name", vars["repo"]}, args...)
		st.Argv = append(st.Argv, vars["repo_path"])
	case plan.TypeForwardBuild:
		st.Host, st.Path, st.Rev = j.Host, j.Path.Expand(v), vars["new"]
		st.Command = expandAll(j.Command, v)
		st.SSHOptions = j.SSHOptions
		if h := c.Hosts[j.Host]; h != nil {
			// A [hosts.NAME]: its destination, and its options after
			// the job's own (ssh keeps the first value it sees).
			st.Host = h.SSH
			st.SSHOptions = append(slices.Clone(j.SSHOptions), h.SSHOptions...)
		}
	case plan.TypeDeploy:
		st.Argv = append([]string{j.Script.Expand(v)}, args...)
	case plan.TypeCommand:
		st.Argv = expandAll(j.Command, v)
	default:
		return nil, fmt.Errorf("jobs.%s: hookrun cannot plan a job of type %q: resolve has no step for it (a bug: report it)", name, j.Type)
	}
	return []plan.Step{st}, nil
}

func expandAll(ts []config.Template, vars map[string]string) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Expand(vars)
	}
	return out
}

// JobUnit is the unit that runs job for refs outside any rule (a policy's
// check job): the settings, limits, sandbox, environment and steps a rule
// would give it. Update and force are not told apart (event "update").
func JobUnit(c *config.Config, p Push, job string, refs []match.RefUpdate) (*plan.Unit, error) {
	s := &selection{job: job}
	for _, u := range refs {
		ev, _ := u.Event(nil)
		s.refs = append(s.refs, refOf(u, ev, nil))
	}
	return buildUnit(c, p, s)
}
