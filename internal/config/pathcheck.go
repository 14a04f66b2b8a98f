package config

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/hookrun/hookrun/internal/plan"
)

// Path templates (gitmal output, forward-build path, working_directory,
// read_write_paths) become file system paths once expanded. checkPaths
// judges each one against the refs the rules starting its job can match:
//
//   - {branch} is empty for tags and {tag} for branches; in a path that
//     turns "/srv/www/{repo}/{branch}" into the parent of every branch's
//     site, which a gitmal swap then replaces whole;
//   - {ref} and {repo_path} always hold "/", {branch} and {tag} when the
//     rule's globs allow one; as a whole component that only nests
//     directories the way git nests refs (git never lets refs/heads/a and
//     refs/heads/a/b exist together), but inside a component with other
//     text ("site-{branch}") it splits that component;
//   - literal "//", a trailing "/", "." or ".." components;
//   - a gitmal output that is the repository or contains another gitmal
//     job's output.
//
// Refnames never hold "." or ".." components or "//" (git-check-ref-format),
// so the variables themselves cannot climb out of a path; `hookrun exec`
// checks the expanded paths again and refuses a unit whose path would.

// pathPart is a literal run or a variable of a template.
type pathPart struct {
	text  string
	isVar bool
}

// pathComponents splits t into its "/"-separated components. A template
// starting with "/" has an empty first component (the root).
func pathComponents(t Template) [][]pathPart {
	comps := [][]pathPart{nil}
	_ = scanTemplate(string(t), func(text string, isVar bool) error {
		if isVar {
			comps[len(comps)-1] = append(comps[len(comps)-1], pathPart{text, true})
			return nil
		}
		for i, seg := range strings.Split(text, "/") {
			if i > 0 {
				comps = append(comps, nil)
			}
			if seg != "" {
				comps[len(comps)-1] = append(comps[len(comps)-1], pathPart{seg, false})
			}
		}
		return nil
	})
	return comps
}

// joinComponents is the template of comps, braces escaped again.
func joinComponents(comps [][]pathPart) string {
	var b strings.Builder
	for i, c := range comps {
		if i > 0 {
			b.WriteByte('/')
		}
		for _, p := range c {
			if p.isVar {
				b.WriteString("{" + p.text + "}")
			} else {
				b.WriteString(strings.NewReplacer("{", "{{", "}", "}}").Replace(p.text))
			}
		}
	}
	return b.String()
}

// refKinds is what the rules starting a job can select.
type refKinds struct {
	branch, tag           bool // any branch, any tag
	branchSlash, tagSlash bool // names holding "/"
}

func kindsOf(r *Rule) refKinds {
	k := refKinds{branch: !r.Selector.Branches.Empty(), tag: !r.Selector.Tags.Empty()}
	k.branchSlash = k.branch && r.Selector.Branches.MaySlash()
	k.tagSlash = k.tag && r.Selector.Tags.MaySlash()
	return k
}

func (k refKinds) mayBeEmpty(v string) bool {
	return v == "branch" && k.tag || v == "tag" && k.branch
}

func (k refKinds) maySlash(v string) bool {
	switch v {
	case "ref", "repo_path":
		return true
	case "branch":
		return k.branchSlash
	case "tag":
		return k.tagSlash
	}
	return false
}

// nonEmpty is the variable to use instead of v, which k can leave empty.
func (k refKinds) nonEmpty(v string) string {
	switch {
	case v == "branch" && !k.branch:
		return "tag"
	case v == "tag" && !k.tag:
		return "branch"
	}
	return "ref"
}

// pathProblem is one finding about one template; rules lists the rules
// that bring it about (none for findings that hold whatever the ref).
type pathProblem struct {
	kind, v string // kind: "empty" or "slash"; v: the variable
	comp    int
	rules   []*Rule
}

// checkPathTemplate returns the problems of t under rules, and a template
// without them when one can be made.
func checkPathTemplate(t Template, rules []*Rule) (literal []string, problems []*pathProblem, suggestion string) {
	if t == "" {
		return nil, nil, ""
	}
	comps := pathComponents(t)
	for i, c := range comps {
		switch {
		case len(c) == 0 && i == 0 && len(comps) > 1:
			// the root of an absolute path
		case len(c) == 0 && i == len(comps)-1 && i == 1 && len(comps[0]) == 0:
			literal = append(literal, "is the root directory \"/\"")
		case len(c) == 0 && i == len(comps)-1:
			literal = append(literal, "ends with \"/\" (an empty last path component)")
		case len(c) == 0:
			literal = append(literal, "has an empty path component (\"//\")")
		case len(c) == 1 && !c[0].isVar && (c[0].text == "." || c[0].text == ".."):
			literal = append(literal, fmt.Sprintf("has a %q path component", c[0].text))
		}
	}
	find := func(kind, v string, comp int) *pathProblem {
		for _, p := range problems {
			if p.kind == kind && p.v == v && p.comp == comp {
				return p
			}
		}
		p := &pathProblem{kind: kind, v: v, comp: comp}
		problems = append(problems, p)
		return p
	}
	var all refKinds
	for _, r := range rules {
		k := kindsOf(r)
		all.branch, all.tag = all.branch || k.branch, all.tag || k.tag
		all.branchSlash, all.tagSlash = all.branchSlash || k.branchSlash, all.tagSlash || k.tagSlash
		for i, c := range comps {
			for _, p := range c {
				if !p.isVar {
					continue
				}
				if k.mayBeEmpty(p.text) {
					if pp := find("empty", p.text, i); !slices.Contains(pp.rules, r) {
						pp.rules = append(pp.rules, r)
					}
				}
				if len(c) > 1 && k.maySlash(p.text) && (p.text == "branch" || p.text == "tag") {
					if pp := find("slash", p.text, i); !slices.Contains(pp.rules, r) {
						pp.rules = append(pp.rules, r)
					}
				}
			}
		}
	}
	for i, c := range comps {
		for _, p := range c {
			if p.isVar && len(c) > 1 && (p.text == "ref" || p.text == "repo_path") {
				find("slash", p.text, i)
			}
		}
	}
	if len(problems) == 0 {
		return literal, nil, ""
	}
	// The suggestion: variables that can be empty replaced, variables that
	// can hold "/" moved into components of their own.
	var fixed [][]pathPart
	for i, c := range comps {
		if i > 0 && (len(c) == 0 || len(c) == 1 && !c[0].isVar && c[0].text == ".") {
			continue
		}
		var out []pathPart
		for _, p := range c {
			if p.isVar && all.mayBeEmpty(p.text) {
				p.text = all.nonEmpty(p.text)
			}
			out = append(out, p)
		}
		if len(out) < 2 || !slices.ContainsFunc(out, func(p pathPart) bool { return p.isVar && all.maySlash(p.text) }) {
			fixed = append(fixed, out)
			continue
		}
		var run []pathPart
		for j, p := range out {
			if !p.isVar || !all.maySlash(p.text) {
				if !p.isVar {
					switch {
					case j > 0 && out[j-1].isVar && all.maySlash(out[j-1].text):
						p.text = strings.TrimLeft(p.text, "-_.")
					case j+1 < len(out) && out[j+1].isVar && all.maySlash(out[j+1].text):
						p.text = strings.TrimRight(p.text, "-_.")
					}
					if p.text == "" {
						continue
					}
				}
				run = append(run, p)
				continue
			}
			if len(run) > 0 {
				fixed = append(fixed, run)
				run = nil
			}
			fixed = append(fixed, []pathPart{p})
		}
		if len(run) > 0 {
			fixed = append(fixed, run)
		}
	}
	if s := joinComponents(fixed); s != string(t) {
		suggestion = s
	}
	return literal, problems, suggestion
}

// ruleNames describes rules for a message: `rules[2] (tags = ["v*"])`.
func ruleNames(rules []*Rule, key string, from *File) string {
	var names []string
	for _, r := range rules {
		n := fmt.Sprintf("rules[%d]", r.Index)
		if from == nil || r.File != from.Name {
			n += " of " + r.File
		}
		var pats []string
		if key == "tags" {
			pats = r.Tags
		} else {
			pats = r.Branches
		}
		if len(pats) > 0 {
			q := make([]string, len(pats))
			for i, p := range pats {
				q[i] = strconv.Quote(p)
			}
			n += fmt.Sprintf(" (%s = [%s])", key, strings.Join(q, ", "))
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

// startingRules maps each job to the rules that start it, directly or as
// a step of a sequence.
func (c *Config) startingRules() map[string][]*Rule {
	out := map[string][]*Rule{}
	for _, r := range c.Rules {
		var walk func(name string, seen []string)
		walk = func(name string, seen []string) {
			j := c.Jobs[name]
			if j == nil || slices.Contains(seen, name) {
				return
			}
			if !slices.Contains(out[name], r) {
				out[name] = append(out[name], r)
			}
			for _, s := range j.Steps {
				walk(s, append(seen, name))
			}
		}
		for _, name := range r.Jobs {
			walk(name, nil)
		}
	}
	return out
}

// pathTemplatesOf lists a job's path templates with the key path and file
// that set them (a job's own key, else [defaults]).
func (c *Config) pathTemplatesOf(name string, origin map[string]*File) (out []struct {
	path string
	file *File
	t    Template
}) {
	j := c.Jobs[name]
	add := func(path string, f *File, t Template) {
		out = append(out, struct {
			path string
			file *File
			t    Template
		}{path, f, t})
	}
	setting := func(key string) (string, *File) {
		if j.Settings.Defined[key] {
			return "jobs." + name + "." + key, origin[name]
		}
		if c.Repo != nil && c.Repo.Defaults.Defined[key] {
			return "defaults." + key, c.Repo
		}
		return "defaults." + key, c.Global
	}
	s := c.Effective(j)
	if s.WorkingDirectory != "" {
		p, f := setting("working_directory")
		add(p, f, s.WorkingDirectory)
	}
	p, f := setting("read_write_paths")
	for i, t := range s.ReadWritePaths {
		add(index(p, i), f, t)
	}
	if j.Type == plan.TypeGitmal && j.Output != "" {
		add("jobs."+name+".output", origin[name], j.Output)
	}
	if j.Type == plan.TypeForwardBuild && j.Path != "" {
		add("jobs."+name+".path", origin[name], j.Path)
	}
	return out
}

// checkPaths reports the path template problems described above, each once
// (a template in [defaults] once for all the jobs inheriting it).
func (c *Config) checkPaths(origin map[string]*File, at func(f *File, sev Severity, path, format string, args ...any)) {
	starting := c.startingRules()
	type seenKey struct{ file, path, msg string }
	seen := map[seenKey]bool{}
	report := func(f *File, path, msg string) {
		k := seenKey{path: path, msg: msg}
		if f != nil {
			k.file = f.Name
		}
		if !seen[k] {
			seen[k] = true
			at(f, Error, path, "%s", msg)
		}
	}
	// One template (file and key path) may be inherited by many jobs: its
	// rules and jobs are gathered before it is reported.
	type use struct {
		file  *File
		path  string
		t     Template
		jobs  []string
		rules []*Rule
	}
	var uses []*use
	names := slices.Sorted(maps.Keys(c.Jobs))
	for _, name := range names {
		for _, pt := range c.pathTemplatesOf(name, origin) {
			i := slices.IndexFunc(uses, func(u *use) bool { return u.file == pt.file && u.path == pt.path })
			if i < 0 {
				uses = append(uses, &use{file: pt.file, path: pt.path, t: pt.t})
				i = len(uses) - 1
			}
			u := uses[i]
			u.jobs = append(u.jobs, name)
			for _, r := range starting[name] {
				if !slices.Contains(u.rules, r) {
					u.rules = append(u.rules, r)
				}
			}
		}
	}
	for _, u := range uses {
		literal, problems, fix := checkPathTemplate(u.t, u.rules)
		for _, why := range literal {
			report(u.file, u.path, fmt.Sprintf("%s: %q %s; a path must name one directory: write it without", u.path, u.t, why))
		}
		mean, emptyMean := "", ""
		if fix != "" {
			mean = fmt.Sprintf(" (did you mean %q?)", fix)
			emptyMean = mean
			if strings.Contains(fix, "{ref}") {
				emptyMean = fmt.Sprintf(" (did you mean %q? {ref} is never empty and keeps branches and tags apart)", fix)
			}
		}
		jobs := "job " + strings.Join(u.jobs, ", ")
		if len(u.jobs) > 1 {
			jobs = "jobs " + strings.Join(u.jobs, ", ")
		}
		for _, p := range problems {
			comp := joinComponents([][]pathPart{pathComponents(u.t)[p.comp]})
			var msg string
			switch {
			case p.kind == "empty":
				other := "tags"
				if p.v == "tag" {
					other = "branches"
				}
				msg = fmt.Sprintf("%s: {%s} is empty for %s, and %s start%s %s for %s: %q would then name the directory above, and such a push would replace or write into all of it%s",
					u.path, p.v, other, ruleNames(p.rules, other, u.file), verbS(len(p.rules)), jobs, other, u.t, emptyMean)
			case len(p.rules) > 0:
				key := "branches"
				if p.v == "tag" {
					key = "tags"
				}
				msg = fmt.Sprintf("%s: {%s} can hold \"/\" for %s, which splits the path component %q of %q; give the variable a component of its own%s",
					u.path, p.v, ruleNames(p.rules, key, u.file), comp, u.t, mean)
			default:
				msg = fmt.Sprintf("%s: {%s} always holds \"/\", which splits the path component %q of %q; give the variable a component of its own%s",
					u.path, p.v, comp, u.t, mean)
			}
			report(u.file, u.path, msg)
		}
	}
	c.checkOutputs(names, origin, report)
}

// checkOutputs refuses gitmal outputs that are the repository itself or
// contain another gitmal job's output: their swap would replace it.
func (c *Config) checkOutputs(names []string, origin map[string]*File, report func(f *File, path, msg string)) {
	type out struct {
		name  string
		comps []string
	}
	var outs []out
	for _, name := range names {
		j := c.Jobs[name]
		if j.Type != plan.TypeGitmal || j.Output == "" {
			continue
		}
		var comps []string
		for _, c := range pathComponents(j.Output) {
			comps = append(comps, joinComponents([][]pathPart{c}))
		}
		if len(comps) == 1 && comps[0] == "{repo_path}" {
			report(origin[name], "jobs."+name+".output", fmt.Sprintf("jobs.%s.output: %q is the repository itself: the site would replace it; use a directory of its own, e.g. \"/srv/www/git/{repo}\"", name, j.Output))
		}
		outs = append(outs, out{name, comps})
	}
	for _, a := range outs {
		for _, b := range outs {
			if a.name != b.name && len(a.comps) < len(b.comps) && slices.Equal(a.comps, b.comps[:len(a.comps)]) {
				report(origin[a.name], "jobs."+a.name+".output", fmt.Sprintf("jobs.%s.output: %q contains jobs.%s.output %q: every build of %s would replace %s's site; give each site a directory of its own",
					a.name, c.Jobs[a.name].Output, b.name, c.Jobs[b.name].Output, a.name, b.name))
			}
		}
	}
}

// verbS is the "s" of "starts" for one subject.
func verbS(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}
