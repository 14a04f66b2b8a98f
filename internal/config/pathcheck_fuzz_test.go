package config

import (
	"strings"
	"testing"

	"github.com/hookrun/hookrun/internal/match"
)

// FuzzPathTemplate: a path template that validate accepts for a rule never
// expands, for a ref that rule selects, into a path that `hookrun exec`
// refuses (an empty, "." or ".." component). validate's check and the run
// time refusal thus agree: whatever validate lets through runs.
func FuzzPathTemplate(f *testing.F) {
	f.Add("/srv/www/{repo}/{branch}", "main", false, "main")
	f.Add("/srv/www/{repo}/{branch}", "v1", true, "v*")
	f.Add("/srv/www/site-{branch}", "feature/x", false, "feature/**")
	f.Add("{repo_path}/site/{ref}", "a/b/c", true, "**")
	f.Add("src/{tag}.d/{short}", "v1.0", true, "v[0-9]*")
	f.Add("/x/{{literal}}/{event}-{job}", "main", false, "*")
	f.Fuzz(func(t *testing.T, tmpl, name string, isTag bool, pat string) {
		if tmpl == "" || CheckTemplate(tmpl) != nil {
			return
		}
		ns := "refs/heads/"
		if isTag {
			ns = "refs/tags/"
		}
		if match.CheckRefName(ns+name) != nil {
			return
		}
		p, err := match.CompilePatterns([]string{pat})
		if err != nil || !p.Match(name) {
			return // the rule must select the ref
		}
		r := &Rule{Index: 1, File: "hooks.toml"}
		if isTag {
			r.Tags, r.Selector.Tags = []string{pat}, p
		} else {
			r.Branches, r.Selector.Branches = []string{pat}, p
		}
		literal, problems, fix := checkPathTemplate(Template(tmpl), []*Rule{r})
		if fix != "" && CheckTemplate(fix) != nil {
			t.Fatalf("suggestion %q for %q is not a template: %v", fix, tmpl, CheckTemplate(fix))
		}
		if len(literal) > 0 || len(problems) > 0 {
			return
		}
		vars := map[string]string{
			"repo": "web", "repo_path": "/srv/git/web.git", "ref": ns + name, "branch": "", "tag": "",
			"old": strings.Repeat("1", 40), "new": strings.Repeat("2", 40), "commit": strings.Repeat("2", 40),
			"short": "2222222", "event": "update", "job": "site",
		}
		if isTag {
			vars["tag"] = name
		} else {
			vars["branch"] = name
		}
		got := Template(tmpl).Expand(vars)
		for i, c := range strings.Split(got, "/") {
			if c == "" && i == 0 || got == "/" {
				continue
			}
			if c == "" || c == "." || c == ".." {
				t.Fatalf("validate accepted %q for %s %q (rule %q), but it expands to %q, which exec refuses", tmpl, ns, name, pat, got)
			}
		}
	})
}
