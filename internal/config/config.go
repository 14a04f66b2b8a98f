package config

import (
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/hookrun/hookrun/internal/ntfyconf"
	"github.com/hookrun/hookrun/internal/plan"
)

// DefaultGlobalPath is the server-wide config file.
const DefaultGlobalPath = "/etc/hookrun/hookrun.toml"

// Config is the global file layered under a repository's hooks.toml: repo
// values override global ones, jobs merge by name key by key, and global
// rules apply unless the repo says inherit_rules = false.
type Config struct {
	Defaults Settings
	Notify   Notify
	Site     Site
	Forge    Forge
	// Webhooks are the global file's followed by the repository's.
	Webhooks []*Webhook
	Jobs     map[string]*Job
	Hosts    map[string]*Host
	Rules    []*Rule
	// Policies are the global file's policies that apply (final, inherited
	// and not disabled) followed by the repository's own.
	Policies []*Policy
	// SecretsConfig and SecretsIgnore are the files secrets = true reads
	// (the repo file's, else the global file's; "" for none).
	SecretsConfig, SecretsIgnore string
	// Global and Repo are the files it was built from; either may be nil.
	Global, Repo *File

	hostOrigin map[string]*File // where each host was (last) defined
}

// Merge layers repo over global and checks what spans both: job references,
// sequence cycles, required keys of each job type. Either file may be nil.
func Merge(global, repo *File) (*Config, Diagnostics) {
	c := &Config{Jobs: map[string]*Job{}, Hosts: map[string]*Host{}, Global: global, Repo: repo}
	c.hostOrigin = map[string]*File{}
	origin := map[string]*File{} // where each job was (last) defined
	for _, f := range []*File{global, repo} {
		if f == nil {
			continue
		}
		overlay(&c.Defaults, &f.Defaults, f.Defaults.Defined)
		overlay(&c.Notify, &f.Notify, f.Notify.Defined)
		overlay(&c.Site, &f.Site, f.Site.Defined)
		overlay(&c.Forge, &f.Forge, f.Forge.Defined)
		c.Webhooks = append(c.Webhooks, f.Webhooks...)
		for _, name := range slices.Sorted(maps.Keys(f.Jobs)) {
			j := f.Jobs[name]
			if prev, ok := c.Jobs[name]; ok && (j.Type == "" || j.Type == prev.Type) {
				merged := *prev
				merged.Defined = union(prev.Defined, j.Defined)
				overlay(&merged, j, j.Defined)
				merged.Settings.Defined = union(prev.Settings.Defined, j.Settings.Defined)
				c.Jobs[name] = &merged
			} else {
				c.Jobs[name] = j
			}
			origin[name] = f
		}
	}
	for _, f := range []*File{global, repo} {
		if f == nil {
			continue
		}
		// A repo file's [hosts.NAME] overrides the global one key by key.
		for _, name := range slices.Sorted(maps.Keys(f.Hosts)) {
			h := f.Hosts[name]
			if prev, ok := c.Hosts[name]; ok {
				merged := *prev
				overlay(&merged, h, h.Defined)
				c.Hosts[name] = &merged
			} else {
				c.Hosts[name] = h
			}
			c.hostOrigin[name] = f
		}
	}
	if global != nil && (repo == nil || repo.InheritRules == nil || *repo.InheritRules) {
		c.Rules = append(c.Rules, global.Rules...)
	}
	if repo != nil {
		c.Rules = append(c.Rules, repo.Rules...)
	}
	for _, f := range []*File{global, repo} {
		if f != nil && f.SecretsConfig != "" {
			c.SecretsConfig = f.SecretsConfig
		}
		if f != nil && f.SecretsIgnore != "" {
			c.SecretsIgnore = f.SecretsIgnore
		}
	}
	diags := c.check(origin)
	diags = append(diags, c.mergePolicies(global, repo)...)
	diags = append(diags, c.unusedJobs(origin)...)
	diags.Sort()
	return c, diags
}

func union(a, b keySet) keySet {
	out := keySet{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// overlay copies the fields of src whose keys are in set onto dst (both
// pointers to the same struct type).
func overlay(dst, src any, set keySet) {
	dv, sv := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
	for _, f := range fieldsOf(dv.Type()) {
		if set[f.key] {
			dv.FieldByIndex(f.index).Set(sv.FieldByIndex(f.index))
		}
	}
	if d := dv.FieldByName("Defined"); d.IsValid() {
		prev, _ := d.Interface().(keySet)
		d.Set(reflect.ValueOf(union(prev, set)))
	}
}

// SignedRules reports whether a rule of c needs a signed push (so the
// push certificate must be verified).
func (c *Config) SignedRules() bool {
	return c != nil && slices.ContainsFunc(c.Rules, func(r *Rule) bool { return r.Signed })
}

// Effective returns the settings a job runs with: defaults, then the job's own.
func (c *Config) Effective(j *Job) Settings {
	s := c.Defaults
	overlay(&s, &j.Settings, j.Settings.Defined)
	if s.Runner == "" {
		s.Runner = plan.RunnerSystemd
	}
	if s.Manager == "" {
		s.Manager = plan.ManagerUser
	}
	if s.Concurrency == "" {
		s.Concurrency = plan.Parallel
	}
	if s.Per == "" {
		s.Per = PerRef
	}
	return s
}

func (c *Config) check(origin map[string]*File) Diagnostics {
	var diags Diagnostics
	at := func(f *File, sev Severity, path, format string, args ...any) {
		diags = append(diags, diagAt(f, sev, path, ntfyconf.RedactURLs(fmt.Sprintf(format, args...))))
	}
	names := slices.Sorted(maps.Keys(c.Jobs))
	// user and group without the system manager: once for [defaults], and
	// for a job only where the job's own keys bring it about.
	defaultsBad := c.Defaults.Manager != plan.ManagerSystem && (c.Defaults.User != "" || c.Defaults.Group != "")
	if defaultsBad {
		f := c.Global
		if c.Repo != nil && (c.Repo.Defaults.Defined["user"] || c.Repo.Defaults.Defined["group"] || c.Repo.Defaults.Defined["manager"]) {
			f = c.Repo
		}
		at(f, Error, "defaults.user", "defaults: user and group need manager = \"system\"; a user manager runs units as its own user")
	}
	for _, name := range names {
		j, f, path := c.Jobs[name], origin[name], "jobs."+name
		if j.Type == "" {
			if !j.Defined["type"] { // else the decoder reported the bad type
				at(f, Error, path, "%s: missing type: one of %s", path, quoteList(jobTypes))
			}
			continue
		}
		for _, fd := range fieldsOf(reflect.TypeFor[Job]()) {
			if fd.key != "type" && (slices.Contains(fd.required, string(j.Type)) || slices.Contains(fd.required, "*")) && !j.Defined[fd.key] {
				at(f, Error, path, "%s: a %s job needs %q", path, j.Type, fd.key)
			}
		}
		s := c.Effective(j)
		own := j.Settings.Defined["manager"] || j.Settings.Defined["user"] || j.Settings.Defined["group"]
		if s.Manager != plan.ManagerSystem && (s.User != "" || s.Group != "") && (own || !defaultsBad) {
			at(f, Error, path, "%s: user and group need manager = \"system\"; a user manager runs units as its own user", path)
		}
		if s.Manager == plan.ManagerSystem && s.User == "" {
			at(f, Warning, path, "%s: runs as root: manager = \"system\" without user; set user = \"git\" (or use the user manager)", path)
		}
		for i, step := range j.Steps {
			sp := index(path+".steps", i)
			sj, ok := c.Jobs[step]
			if !ok {
				at(f, Error, sp, "%s: no job named %q%s", sp, step, didYouMean(step, names))
				continue
			}
			if step == name {
				continue // reported as a cycle below
			}
			for _, k := range []string{"timeout", "cpu_quota", "memory_max", "tasks_max", "log_max", "nice", "topic", "per", "concurrency", "notify_on", "runner", "manager", "user", "group",
				"no_new_privileges", "private_tmp", "protect_system", "read_write_paths"} {
				if sj.Defined[k] {
					at(origin[step], Warning, "jobs."+step+"."+k, "jobs.%s.%s is ignored when %s runs inside sequence %q (the sequence's own value applies)", step, k, step, name)
				}
			}
		}
	}
	for _, cyc := range c.cycles() {
		name := cyc[0]
		at(origin[name], Error, "jobs."+name+".steps", "jobs.%s.steps: sequence cycle %s", name, strings.Join(cyc, " -> "))
	}
	for _, r := range c.Rules {
		f := c.Repo
		if c.Global != nil && r.File == c.Global.Name && (c.Repo == nil || r.File != c.Repo.Name) {
			f = c.Global
		}
		for i, jn := range r.Jobs {
			if _, ok := c.Jobs[jn]; !ok {
				p := index(fmt.Sprintf("rules[%d].jobs", r.Index), i-0)
				at(f, Error, p, "%s: no job named %q%s", p, jn, didYouMean(jn, names))
			}
		}
	}
	c.checkPaths(origin, at)
	c.checkHosts(origin, at)
	if c.Notify.Server == "" {
		for _, name := range names {
			if c.Jobs[name].Topic != "" {
				at(origin[name], Warning, "jobs."+name+".topic", "jobs.%s.topic is set but [notify] has no server: no notifications will be sent", name)
			}
		}
	} else {
		for _, name := range names {
			if c.Effective(c.Jobs[name]).Topic == "" && c.Notify.Topic == "" {
				at(origin[name], Error, "jobs."+name, "jobs.%s: no ntfy topic: set topic in the job or in [notify]", name)
			}
		}
	}
	return diags
}

// checkHosts checks what jobs say about hosts: a host that is not a
// forward-build destination must name a [hosts.NAME]; sequence steps run
// where their sequence runs.
func (c *Config) checkHosts(origin map[string]*File, at func(f *File, sev Severity, path, format string, args ...any)) {
	hosts := slices.Sorted(maps.Keys(c.Hosts))
	for _, name := range hosts {
		if c.Hosts[name].SSH == "" {
			path := "hosts." + name
			at(c.hostOrigin[name], Error, path, "%s: missing ssh: the ssh destination, e.g. ssh = \"builder@buildhost\"", path)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Jobs)) {
		j, path := c.Jobs[name], "jobs."+name+".host"
		if _, ok := c.Hosts[j.Host]; ok || !j.Defined["host"] || j.Type == plan.TypeForwardBuild {
			continue
		}
		hint := ""
		if m := nearest(j.Host, hosts); m != "" {
			hint = fmt.Sprintf(" (did you mean %q?)", m)
		} else if len(hosts) > 0 {
			hint = "; defined hosts: " + strings.Join(hosts, ", ")
		}
		at(origin[name], Error, path, "%s: no host named %q: define [hosts.%s] with its ssh destination%s", path, j.Host, j.Host, hint)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Jobs)) {
		for _, step := range c.Jobs[name].Steps {
			if sj, ok := c.Jobs[step]; ok && step != name && c.Hosts[sj.Host] != nil && sj.Type != plan.TypeForwardBuild {
				at(origin[step], Warning, "jobs."+step+".host", "jobs.%s.host is ignored when %s runs inside sequence %q (steps run where the sequence runs)", step, step, name)
			}
		}
	}
}

func didYouMean(s string, names []string) string {
	if m := nearest(s, names); m != "" {
		return fmt.Sprintf(" (did you mean %q?)", m)
	}
	if len(names) == 0 {
		return "; no jobs are defined"
	}
	return "; defined jobs: " + strings.Join(names, ", ")
}

// cycles finds sequence cycles, each reported once from its smallest name.
func (c *Config) cycles() [][]string {
	var out [][]string
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(string)
	visit = func(n string) {
		color[n] = grey
		stack = append(stack, n)
		if j := c.Jobs[n]; j != nil {
			for _, s := range j.Steps {
				switch color[s] {
				case white:
					if c.Jobs[s] != nil {
						visit(s)
					}
				case grey:
					i := slices.Index(stack, s)
					cyc := append(slices.Clone(stack[i:]), s)
					out = append(out, cyc)
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
	}
	for _, n := range slices.Sorted(maps.Keys(c.Jobs)) {
		if color[n] == white {
			visit(n)
		}
	}
	return out
}

// globalPath returns the global config path: flag, else $HOOKRUN_CONFIG, else
// the default. explicit is true for the first two: a file someone named must
// exist, while the default one is optional.
func globalPath(flag string, getenv func(string) string) (path string, explicit bool) {
	if flag != "" {
		return flag, true
	}
	if p := getenv("HOOKRUN_CONFIG"); p != "" {
		return p, true
	}
	return DefaultGlobalPath, false
}

// loadMerged reads the global file (optional unless explicit) and the repo
// file (optional; "" for none) and merges them, for Source.LoadMerged.
func loadMerged(globalPath string, globalExplicit bool, repoPath string) (*Config, Diagnostics, error) {
	var files [2]*File
	var all Diagnostics
	for i, p := range []string{globalPath, repoPath} {
		if p == "" {
			continue
		}
		f, diags, err := LoadFile(p)
		if err != nil {
			if os.IsNotExist(err) && (i == 1 || !globalExplicit) {
				continue
			}
			return nil, all, err
		}
		all = append(all, diags...)
		files[i] = f
	}
	// Merge even a broken file: problems that span files are reported in the
	// same run as the rest.
	c, diags := Merge(files[0], files[1])
	all = append(all, diags...)
	all.Sort()
	return c, all, nil
}
