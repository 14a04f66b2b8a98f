package config

import (
	"strings"
	"testing"
)

// TestPathTemplates: every path template is judged against the refs the
// rules starting its job can match; each problem is reported once, with the
// rule named and a template without the problem.
func TestPathTemplates(t *testing.T) {
	const site = "version = 1\n[jobs.site]\ntype = \"gitmal\"\n"
	tests := []struct {
		name, src string
		want      []string // each must appear; nil: no error at all
	}{
		{"branch with tags", site + "output = \"/srv/www/{repo}/{branch}\"\n[[rules]]\nbranches = [\"main\"]\ntags = [\"v*\"]\njobs = [\"site\"]\n",
			[]string{`hooks.toml:4:10: error: jobs.site.output: {branch} is empty for tags, and rules[1] (tags = ["v*"]) starts job site for tags: "/srv/www/{repo}/{branch}" would then name the directory above, and such a push would replace or write into all of it (did you mean "/srv/www/{repo}/{ref}"? {ref} is never empty and keeps branches and tags apart)`}},
		{"branch with tags only", site + "output = \"/srv/www/{repo}/{branch}\"\n[[rules]]\ntags = [\"v*\"]\njobs = [\"site\"]\n",
			[]string{`(did you mean "/srv/www/{repo}/{tag}"?)`}},
		{"tag with branches", site + "output = \"/srv/www/{tag}\"\n[[rules]]\nbranches = [\"main\"]\njobs = [\"site\"]\n",
			[]string{`{tag} is empty for branches, and rules[1] (branches = ["main"]) starts job site for branches`, `did you mean "/srv/www/{branch}"?`}},
		{"branch alone is fine", site + "output = \"/srv/www/{repo}/{branch}\"\n[[rules]]\nbranches = [\"main\", \"feature/**\"]\njobs = [\"site\"]\n", nil},
		{"ref is fine", site + "output = \"/srv/www/{repo}/{ref}\"\n[[rules]]\nbranches = [\"**\"]\ntags = [\"**\"]\njobs = [\"site\"]\n", nil},
		{"slash splits a component", site + "output = \"/srv/www/site-{branch}\"\n[[rules]]\nbranches = [\"feature/**\"]\njobs = [\"site\"]\n",
			[]string{`jobs.site.output: {branch} can hold "/" for rules[1] (branches = ["feature/**"]), which splits the path component "site-{branch}" of "/srv/www/site-{branch}"; give the variable a component of its own (did you mean "/srv/www/site/{branch}"?)`}},
		{"no slash in one component", site + "output = \"/srv/www/site-{branch}\"\n[[rules]]\nbranches = [\"main\", \"v*\"]\njobs = [\"site\"]\n", nil},
		{"ref splits", site + "output = \"/srv/www/x{ref}\"\n[[rules]]\nbranches = [\"main\"]\njobs = [\"site\"]\n",
			[]string{`{ref} always holds "/"`, `did you mean "/srv/www/x/{ref}"?`}},
		{"trailing slash", site + "output = \"/srv/www/\"\n", []string{`jobs.site.output: "/srv/www/" ends with "/"`}},
		{"root", site + "output = \"/\"\n", []string{`is the root directory "/"`}},
		{"dot dot", site + "output = \"{repo_path}/../site\"\n", []string{`has a ".." path component`}},
		{"double slash", "version = 1\n[defaults]\nworking_directory = \"/srv//x\"\n[jobs.c]\ntype = \"command\"\ncommand = [\"true\"]\n", []string{`defaults.working_directory: "/srv//x" has an empty path component`}},
		{"the repository", site + "output = \"{repo_path}\"\n", []string{`jobs.site.output: "{repo_path}" is the repository itself`}},
		{"contains another site", site + "output = \"/srv/www/{repo}\"\n[jobs.docs]\ntype = \"gitmal\"\noutput = \"/srv/www/{repo}/docs\"\n",
			[]string{`jobs.site.output: "/srv/www/{repo}" contains jobs.docs.output "/srv/www/{repo}/docs"`}},
		{"through a sequence", "version = 1\n[jobs.b]\ntype = \"forward-build\"\nhost = \"b@h\"\ncommand = [\"make\"]\npath = \"src/{branch}\"\n[jobs.all]\ntype = \"sequence\"\nsteps = [\"b\"]\n[[rules]]\nbranches = [\"main\"]\njobs = [\"all\"]\n[[rules]]\ntags = [\"v*\"]\njobs = [\"all\"]\n",
			[]string{`jobs.b.path: {branch} is empty for tags, and rules[2] (tags = ["v*"]) starts job b for tags`}},
		{"read_write_paths", "version = 1\n[jobs.c]\ntype = \"command\"\ncommand = [\"true\"]\nread_write_paths = [\"/srv/www/{tag}\"]\n[[rules]]\nbranches = [\"main\"]\njobs = [\"c\"]\n",
			[]string{`jobs.c.read_write_paths[1]: {tag} is empty for branches`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, diags := parse(t, tt.src)
			if diags.HasErrors() {
				t.Fatalf("parse: %v", diags)
			}
			_, merged := Merge(nil, f)
			got := merged.Error()
			if tt.want == nil && merged.HasErrors() {
				t.Fatalf("want no errors, got:\n%s", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("diagnostics:\n%s\nwant one containing:\n%s", got, w)
				}
				if n := strings.Count(got, w); n > 1 {
					t.Errorf("%q reported %d times", w, n)
				}
			}
		})
	}
}

// TestPathTemplatesFromDefaults: a template in [defaults] is reported once,
// however many jobs inherit it.
func TestPathTemplatesFromDefaults(t *testing.T) {
	f, _ := parse(t, "version = 1\n[defaults]\nworking_directory = \"/srv/{tag}\"\n[jobs.a]\ntype = \"command\"\ncommand = [\"true\"]\n[jobs.b]\ntype = \"command\"\ncommand = [\"true\"]\n[[rules]]\nbranches = [\"main\"]\njobs = [\"a\", \"b\"]\n")
	_, diags := Merge(nil, f)
	if n := strings.Count(diags.Error(), "defaults.working_directory: {tag} is empty"); n != 1 {
		t.Errorf("reported %d times, want once:\n%v", n, diags)
	}
}
