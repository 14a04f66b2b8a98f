package config

import (
	"maps"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/ntfyconf"
	"github.com/hookrun/hookrun/internal/plan"
)

// Name rules, as patterns for the JSON schema and as plain functions for the
// decoder (compiling regexps at start-up would cost every hook run).
const (
	jobNamePattern = `^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`
	envNamePattern = `^[A-Za-z_][A-Za-z0-9_]*$`
)

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func validJobName(s string) bool {
	if len(s) == 0 || len(s) > 64 || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func validEnvName(s string) bool {
	if len(s) == 0 || '0' <= s[0] && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' {
			return false
		}
	}
	return true
}

func (d *decoder) checkFile(f *File) {
	if !f.Defined["version"] {
		d.report(Error, "", false, "missing version: add `version = %d` at the top of the file", SchemaVersion)
	} else if f.Version != SchemaVersion && !d.reported("version") {
		d.errorf("version", "version %d is not supported: this hookrun reads version %d", f.Version, SchemaVersion)
	}
	d.checkSettings("defaults", &f.Defaults)
	d.checkNotify(&f.Notify)
	d.checkOutputs(f)
	for key, v := range map[string]string{"secrets_config": f.SecretsConfig, "secrets_ignore": f.SecretsIgnore} {
		if v != "" && !filepath.IsAbs(v) {
			d.errorf(key, "%s: %q must be an absolute path", key, v)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(f.Jobs)) {
		j := f.Jobs[name]
		j.Name = name
		d.checkJob("jobs."+name, j)
	}
	for _, name := range slices.Sorted(maps.Keys(f.Hosts)) {
		h := f.Hosts[name]
		h.Name = name
		d.checkHost("hosts."+name, h)
	}
	for i, r := range f.Rules {
		r.Index, r.File = i+1, f.Name
		d.checkRule(index("rules", i), r)
	}
	names := map[string]int{}
	for i, p := range f.Policies {
		p.Index, p.File = i+1, f.Name
		path := index("policy", i)
		d.checkPolicy(path, p)
		if prev, ok := names[p.Name]; ok && p.Name != "" {
			d.errorf(joinKey(path, "name"), "%s.name: %q is also the name of policy[%d]; policy names are unique", path, p.Name, prev)
		}
		names[p.Name] = i + 1
	}
}

// reported tells whether path already has a diagnostic, to avoid a second
// message about the same value.
func (d *decoder) reported(path string) bool {
	return slices.ContainsFunc(d.diags, func(x Diagnostic) bool { return x.Path == path })
}

func (d *decoder) checkSettings(path string, s *Settings) {
	for _, k := range slices.Sorted(maps.Keys(s.Environment)) {
		kp := joinKey(path, "environment."+k)
		switch {
		case !validEnvName(k):
			d.report(Error, kp, false, "%s: %q is not a valid environment variable name", kp, k)
		case strings.HasPrefix(k, "HOOKRUN_"):
			d.report(Error, kp, false, "%s: HOOKRUN_* variables are set by hookrun itself", kp)
		case strings.HasPrefix(k, "GIT_"):
			d.report(Error, kp, false, "%s: GIT_* variables are removed from job environments (they make git tools read the wrong repository)", kp)
		}
	}
	if s.Topic != "" {
		if err := ntfyconf.CheckTopic(s.Topic); err != nil {
			d.errorf(joinKey(path, "topic"), "%s: %v", joinKey(path, "topic"), err)
		}
	}
	if s.WorkingDirectory != "" && !strings.HasPrefix(string(s.WorkingDirectory), "/") && !strings.HasPrefix(string(s.WorkingDirectory), "{repo_path}") {
		d.errorf(joinKey(path, "working_directory"), "%s.working_directory: %q must be an absolute path", path, s.WorkingDirectory)
	}
	for i, p := range s.ReadWritePaths {
		if !strings.HasPrefix(string(p), "/") && !strings.HasPrefix(string(p), "{repo_path}") {
			d.errorf(index(joinKey(path, "read_write_paths"), i), "%s.read_write_paths: %q must be an absolute path", path, p)
		}
	}
}

func (d *decoder) checkNotify(n *Notify) {
	if n.Server != "" {
		if err := ntfyconf.CheckServerURL(n.Server); err != nil {
			d.errorf("notify.server", "notify.server: %v", err)
		} else if u, _ := url.Parse(n.Server); strings.Trim(u.Path, "/") != "" {
			d.report(Warning, "notify.server", true, "notify.server: %q has a path; hookrun publishes to %s/ (ntfy behind a path prefix); if %q is a topic, set topic = %q instead",
				n.Server, strings.TrimRight(n.Server, "/"), strings.Trim(u.Path, "/"), strings.Trim(u.Path, "/"))
		}
	}
	if n.Topic != "" {
		if err := ntfyconf.CheckTopic(n.Topic); err != nil {
			d.errorf("notify.topic", "notify.topic: %v", err)
		}
	}
	if n.TokenFile != "" && !filepath.IsAbs(n.TokenFile) {
		d.errorf("notify.token_file", "notify.token_file: %q must be an absolute path", n.TokenFile)
	}
	if n.DigestOver != nil && *n.DigestOver < 0 {
		d.errorf("notify.digest_over", "notify.digest_over: %d is negative: want a number of units, or 0 for no digests", *n.DigestOver)
	}
	if b := time.Duration(n.RetryBudget); b < 0 || b > MaxRetryBudget {
		d.errorf("notify.retry_budget", "notify.retry_budget: %s is more than %s: the notification is sent by the unit's ExecStopPost, which systemd stops after 2 minutes",
			b, MaxRetryBudget)
	}
}

func (d *decoder) checkJob(path string, j *Job) {
	if !validJobName(j.Name) {
		d.report(Error, path, false, "%s: job name %q may only use letters, digits, '.', '-' and '_' (at most 64, starting with a letter or digit)", path, j.Name)
	}
	d.checkSettings(path, &j.Settings)
	if j.Type != "" {
		for _, f := range fieldsOf(reflect.TypeFor[Job]()) {
			if j.Defined[f.key] && f.types != nil && !slices.Contains(f.types, string(j.Type)) {
				d.report(Error, joinKey(path, f.key), false, "%s: key %q does not apply to type %q jobs (it is for %s)", path, f.key, j.Type, strings.Join(f.types, ", "))
			}
		}
	}
	if j.Type == plan.TypeGitmal || j.Type == "" {
		for i, a := range j.Args {
			ap := index(joinKey(path, "args"), i)
			switch arg, _, _ := strings.Cut(string(a), "="); arg {
			case "--preview-themes":
				d.errorf(ap, "%s: gitmal --preview-themes starts a server and never exits; remove it", ap)
			case "--output", "--theme":
				d.errorf(ap, "%s: set %s with the job's %q key, not in args", ap, arg, strings.TrimPrefix(arg, "--"))
			}
		}
	}
	if j.Defined["host"] && !validSSHDest(j.Host) {
		d.errorf(joinKey(path, "host"), "%s.host: %q is neither a [hosts.NAME] name nor an ssh destination such as \"builder@buildhost\"", path, j.Host)
	}
	if j.Defined["path"] && j.Path == "" {
		d.errorf(joinKey(path, "path"), "%s.path: must not be empty", path)
	}
	if j.Defined["command"] && len(j.Command) == 0 && !d.reported("jobs."+j.Name+".command") {
		d.errorf(joinKey(path, "command"), "%s.command: must name a program: [\"make\", \"build\"]", path)
	}
	if j.Defined["script"] && !strings.HasPrefix(string(j.Script), "/") && !strings.HasPrefix(string(j.Script), "{repo_path}") {
		d.errorf(joinKey(path, "script"), "%s.script: %q must be an absolute path", path, j.Script)
	}
	if j.Defined["gitmal"] && !filepath.IsAbs(j.Gitmal) {
		d.errorf(joinKey(path, "gitmal"), "%s.gitmal: %q must be an absolute path (leave it out to use gitmal from PATH)", path, j.Gitmal)
	}
	if j.Defined["steps"] && len(j.Steps) == 0 {
		d.errorf(joinKey(path, "steps"), "%s.steps: a sequence needs at least one step", path)
	}
}

// validSSHDest reports whether s can be given to ssh as a destination:
// not empty, no leading '-' (an option), no white space, quotes, ';', ':'
// or '/' (ports and IPv6 addresses go in ssh_options or ~/.ssh/config).
func validSSHDest(s string) bool {
	return s != "" && !strings.HasPrefix(s, "-") && !strings.ContainsAny(s, " \t\n\r'\"\\;:/\x00")
}

func (d *decoder) checkHost(path string, h *Host) {
	if !validJobName(h.Name) {
		d.report(Error, path, false, "%s: host name %q may only use letters, digits, '.', '-' and '_' (at most 64, starting with a letter or digit)", path, h.Name)
	}
	if h.Defined["ssh"] && !validSSHDest(h.SSH) {
		d.errorf(joinKey(path, "ssh"), "%s.ssh: %q is not an ssh destination such as \"builder@buildhost\" (put a port in ssh_options or ~/.ssh/config)", path, h.SSH)
	}
	for i, o := range h.SSHOptions {
		if strings.ContainsRune(o, 0) || strings.ContainsAny(o, "\n\r") {
			d.errorf(index(joinKey(path, "ssh_options"), i), "%s.ssh_options: %q contains a NUL or a line break", path, o)
		}
	}
	if h.Defined["runtime_dir"] && !filepath.IsAbs(h.RuntimeDir) {
		d.errorf(joinKey(path, "runtime_dir"), "%s.runtime_dir: %q must be an absolute path such as \"/run/user/1000\"", path, h.RuntimeDir)
	}
	if h.Defined["hookrun"] && !filepath.IsAbs(h.Hookrun) {
		d.errorf(joinKey(path, "hookrun"), "%s.hookrun: %q must be an absolute path (leave it out to use hookrun from the remote PATH)", path, h.Hookrun)
	}
}

func (d *decoder) checkRule(path string, r *Rule) {
	d.checkRefGlobs(path, "branches", r.Branches)
	d.checkRefGlobs(path, "tags", r.Tags)
	r.Selector.Branches = d.compileGlobs(path, "branches", r.Branches)
	r.Selector.Tags = d.compileGlobs(path, "tags", r.Tags)
	if r.Defined["paths"] {
		d.checkPaths(path, r)
		r.Selector.Paths = d.compileGlobs(path, "paths", r.Paths) // never nil: a rule with paths needs a changed file
	}
	r.Selector.Events = r.Events
	r.Selector.Signed, r.Selector.Signers = r.Signed, r.Signers
	if !r.Defined["branches"] && !r.Defined["tags"] {
		d.report(Warning, path, false, "%s matches nothing: it has neither branches nor tags", path)
	}
	if !r.Defined["jobs"] {
		d.report(Error, path, false, "%s: missing jobs: name the jobs this rule starts, e.g. jobs = [\"site\"]", path)
	} else if len(r.Jobs) == 0 {
		d.errorf(joinKey(path, "jobs"), "%s.jobs: empty; name at least one job", path)
	}
	if len(r.Signers) > 0 && !r.Signed {
		d.errorf(joinKey(path, "signers"), "%s.signers: has no effect without signed = true", path)
	}
}

// checkPaths reports paths globs that can never match a file git names, and
// paths on a rule that matches no push with a diff.
func (d *decoder) checkPaths(path string, r *Rule) {
	if len(r.Paths) == 0 {
		d.errorf(joinKey(path, "paths"), "%s.paths: empty; name at least one glob, e.g. paths = [\"docs/**\"], or remove paths to match every push", path)
	}
	for i, p := range r.Paths {
		g := strings.TrimPrefix(p, "!")
		switch {
		case strings.HasPrefix(g, "/") || strings.HasPrefix(g, "./"):
			d.report(Warning, index(joinKey(path, "paths"), i), true, "%s: %q never matches: git names files relative to the top of the repository, without a leading %q (write %q)",
				index(joinKey(path, "paths"), i), p, g[:strings.IndexByte(g, '/')+1], strings.TrimLeft(strings.TrimPrefix(g, "."), "/"))
		case strings.HasSuffix(g, "/"):
			d.report(Warning, index(joinKey(path, "paths"), i), true, "%s: %q never matches: git names files, not directories (write %q for everything under it)", index(joinKey(path, "paths"), i), p, g+"**")
		}
	}
	onlyDeletes := len(r.Events) > 0 && !slices.ContainsFunc(r.Events, func(e match.Event) bool { return e != match.Delete })
	switch {
	case onlyDeletes:
		d.report(Warning, joinKey(path, "paths"), false, "%s.paths: the rule matches only deletes, which change no files: it never matches", path)
	case !r.Defined["branches"] && r.Defined["tags"]:
		d.report(Warning, joinKey(path, "paths"), false, "%s.paths: the rule matches only tags; a tag usually names a commit already pushed, so its push changes no files and the rule seldom matches (put paths on a branches rule)", path)
	}
}
