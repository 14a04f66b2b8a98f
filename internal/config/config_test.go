package config

import (
	"strings"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/plan"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"90s", 90 * time.Second, false},
		{"30m", 30 * time.Minute, false},
		{"1h30m", 90 * time.Minute, false},
		{"1h 30m", 90 * time.Minute, false},
		{"2d", 48 * time.Hour, false},
		{"1.5h", 90 * time.Minute, false},
		{"500ms", 500 * time.Millisecond, false},
		{"45", 45 * time.Second, false},
		{"10 min", 10 * time.Minute, false},
		{"", 0, true},
		{"soon", 0, true},
		{"5 parsecs", 0, true},
		{"0s", 0, true},
		{"-5s", 0, true},
		{"999999999999h", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  bool
	}{
		{"512M", 512 << 20, false},
		{"1G", 1 << 30, false},
		{"1.5G", 3 << 29, false},
		{"100K", 100 << 10, false},
		{"2T", 2 << 40, false},
		{"1048576", 1 << 20, false},
		{"512MB", 512 << 20, false},
		{"infinity", Infinity, false},
		{"lots", 0, true},
		{"-1M", 0, true},
		{"1e9", 0, true},
		{"0", 0, true},
		{"M", 0, true},
		{"99999999999999T", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParseCPUQuota(t *testing.T) {
	for in, want := range map[string]uint64{"50%": 50, "200%": 200, "1%": 1} {
		if got, err := ParseCPUQuota(in); err != nil || got != want {
			t.Errorf("ParseCPUQuota(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"50", "0%", "-5%", "half", "%", "1.5%"} {
		if _, err := ParseCPUQuota(in); err == nil {
			t.Errorf("ParseCPUQuota(%q) accepted", in)
		}
	}
}

func TestTemplate(t *testing.T) {
	vars := map[string]string{"repo": "web", "branch": "feature/x", "new": "abc"}
	tests := []struct {
		in, want, err string
	}{
		{"/srv/{repo}", "/srv/web", ""},
		{"{branch}@{new}", "feature/x@abc", ""},
		{"literal {{braces}}", "literal {braces}", ""},
		{"no vars", "no vars", ""},
		{"{repoo}", "", "unknown template variable {repoo}"},
		{"{repo", "", "unclosed"},
		{"repo}", "", "unmatched"},
		{"{}", "", "unknown template variable {}"},
		{"test -f x || { echo x; exit 1; }", "", `unknown template variable { echo x; exit 1; } in "test -f x || { echo x; exit 1; }": braces that are not a template variable are written doubled, {{ and }} (e.g. "test -f x || {{ echo x; exit 1; }}")`},
	}
	for _, tt := range tests {
		err := CheckTemplate(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("CheckTemplate(%q) = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("CheckTemplate(%q) = %v", tt.in, err)
		}
		if got := Template(tt.in).Expand(vars); got != tt.want {
			t.Errorf("Expand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNearestTheme(t *testing.T) {
	for in, want := range map[string]string{
		"github-light": "github", "light": "github", "dark": "github-dark", "auto": "github",
		"draculla": "dracula", "nrod": "nord", "solarized_dark": "solarized-dark",
	} {
		if got := NearestTheme(in); got != want {
			t.Errorf("NearestTheme(%q) = %q, want %q", in, got, want)
		}
	}
	if len(GitmalThemes) != 65 {
		t.Errorf("gitmal v1.0.2 has 65 themes, the list has %d", len(GitmalThemes))
	}
	if !IsTheme(DefaultTheme) {
		t.Error("the default theme is not a gitmal theme")
	}
}

func parse(t *testing.T, src string) (*File, Diagnostics) {
	t.Helper()
	return Parse(strings.NewReader(src), "hooks.toml")
}

// TestDiagnostics: each bad input gives exactly the expected message at the
// expected place.
func TestDiagnostics(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"syntax", "version = 1\n[jobs\n", "hooks.toml:2:6: error: invalid TOML"},
		{"unclosed array", "version = 1\n[[rules]]\nbranches = [\"main\"\njobs = [\"a\"]\n", `hooks.toml:3:19: error: invalid TOML: expected a comma (',') or array terminator (']'), but got 'j'; is a "]" missing at the end of this line?`},
		{"unclosed inline table", "version = 1\nx = { a = 1 # note\n\n  y = 2\n", `hooks.toml:2:12: error: invalid TOML: expected a comma or an inline table terminator '}', but got 'y' instead; is a "}" missing at the end of this line?`},
		{"missing version", "[defaults]\n", "hooks.toml: error: missing version"},
		{"unknown key", "version = 1\n[notify]\nsever = \"http://x\"\n", `hooks.toml:3:1: error: unknown key "sever" in notify (did you mean "server"?)`},
		{"no suggestion", "version = 1\nzzzzzz = 1\n", `hooks.toml:2:1: error: unknown key "zzzzzz" in the top level`},
		{"wrong type", "version = 1\n[defaults]\nnice = \"high\"\n", "hooks.toml:3:8: error: defaults.nice: want an integer from -20 to 19, got a string"},
		{"bool type", "version = 1\n[[rules]]\nbranches = [\"a\"]\njobs = [\"x\"]\nsigned = \"yes\"\n", "rules[1].signed: want true or false, got a string"},
		{"array type", "version = 1\n[[rules]]\nbranches = \"main\"\njobs = [\"x\"]\n", "hooks.toml:3:12: error: rules[1].branches: want an array, got a string"},
		{"table type", "version = 1\njobs = 5\n", "jobs: want a table, got an integer"},
		{"inline table key", "version = 1\n[defaults]\nenvironment = { OK = \"1\", \"bad-name\" = \"2\" }\n", `hooks.toml:3:27: error: defaults.environment.bad-name: "bad-name" is not a valid environment variable name`},
		{"dotted key", "version = 1\njobs.x.type = \"command\"\njobs.x.comand = [\"a\"]\n", `hooks.toml:3:1: error: unknown key "comand" in jobs.x (did you mean "command"?)`},
		{"job name", "version = 1\n[jobs.\"bad name\"]\ntype = \"command\"\ncommand = [\"x\"]\n", `job name "bad name" may only use`},
		{"relative script", "version = 1\n[jobs.d]\ntype = \"deploy\"\nscript = \"deploy.sh\"\n", `jobs.d.script: "deploy.sh" must be an absolute path`},
		{"gitmal output in args", "version = 1\n[jobs.s]\ntype = \"gitmal\"\noutput = \"/x\"\nargs = [\"--output=/etc\"]\n", `set --output with the job's "output" key, not in args`},
		{"only exclusions", "version = 1\n[jobs.x]\ntype = \"command\"\ncommand = [\"a\"]\n[[rules]]\nbranches = [\"!main\"]\njobs = [\"x\"]\n", "warning: rules[1].branches: only exclusions"},
		{"server with path", "version = 1\n[notify]\nserver = \"https://ntfy.sh/mytopic\"\n", `warning: notify.server: "https://ntfy.sh/mytopic" has a path; hookrun publishes to https://ntfy.sh/mytopic/ (ntfy behind a path prefix); if "mytopic" is a topic, set topic = "mytopic" instead`},
		{"relative token file", "version = 1\n[notify]\ntoken_file = \"token\"\n", `notify.token_file: "token" must be an absolute path`},
		{"relative secrets config", "version = 1\nsecrets_config = \"gitleaks.toml\"\n", `secrets_config: "gitleaks.toml" must be an absolute path`},
		{"relative secrets ignore", "version = 1\nsecrets_ignore = \".gitleaksignore\"\n", `secrets_ignore: ".gitleaksignore" must be an absolute path`},
		{"retry budget over 90s", "version = 1\n[notify]\nretry_budget = \"2m\"\n", `notify.retry_budget: 2m0s is more than 1m30s: the notification is sent by the unit's ExecStopPost, which systemd stops after 2 minutes`},
		{"paths glob", "version = 1\n[jobs.x]\ntype = \"command\"\ncommand = [\"a\"]\n[[rules]]\nbranches = [\"main\"]\npaths = [\"docs/**\", \"[bad\"]\njobs = [\"x\"]\n", `hooks.toml:7:21: error: rules[1].paths: glob "[bad"`},
		{"paths typo", "version = 1\n[[rules]]\nbranches = [\"main\"]\npath = [\"docs/**\"]\njobs = [\"x\"]\n", `hooks.toml:4:1: error: unknown key "path" in rules[1] (did you mean "paths"?)`},
		{"paths-ignore", "version = 1\n[[rules]]\nbranches = [\"main\"]\npaths_ignore = [\"docs/**\"]\njobs = [\"x\"]\n", `hooks.toml:4:1: error: unknown key "paths_ignore" in rules[1]: exclude files with "!" in paths, e.g. paths = ["**", "!docs/**"]`},
		{"paths empty", "version = 1\n[[rules]]\nbranches = [\"main\"]\npaths = []\njobs = [\"x\"]\n", `hooks.toml:4:9: error: rules[1].paths: empty`},
		{"paths leading slash", "version = 1\n[[rules]]\nbranches = [\"main\"]\npaths = [\"docs/**\", \"/src/**\"]\njobs = [\"x\"]\n", `hooks.toml:4:21: warning: rules[1].paths[2]: "/src/**" never matches: git names files relative to the top of the repository, without a leading "/" (write "src/**")`},
		{"paths directory", "version = 1\n[[rules]]\nbranches = [\"main\"]\npaths = [\"!docs/\"]\njobs = [\"x\"]\n", `warning: rules[1].paths[1]: "!docs/" never matches: git names files, not directories (write "docs/**" for everything under it)`},
		{"paths only exclusions", "version = 1\n[[rules]]\nbranches = [\"main\"]\npaths = [\"!docs/**\"]\njobs = [\"x\"]\n", `hooks.toml:4:1: warning: rules[1].paths: only exclusions (!...) match nothing`},
		{"paths on tags", "version = 1\n[[rules]]\ntags = [\"v*\"]\npaths = [\"docs/**\"]\njobs = [\"x\"]\n", `hooks.toml:4:1: warning: rules[1].paths: the rule matches only tags`},
		{"paths on deletes", "version = 1\n[[rules]]\nbranches = [\"main\"]\nevents = [\"delete\"]\npaths = [\"docs/**\"]\njobs = [\"x\"]\n", `hooks.toml:5:1: warning: rules[1].paths: the rule matches only deletes, which change no files`},
		{"deep nesting", "version = 1\nx = " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n", "nested 100 deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := parse(t, tt.src)
			if !strings.Contains(diags.Error(), tt.want) {
				t.Errorf("diagnostics:\n%v\nwant one containing:\n%s", diags, tt.want)
			}
		})
	}
}

func TestLayering(t *testing.T) {
	global, gd := Parse(strings.NewReader(`version = 1
[defaults]
timeout = "30m"
memory_max = "512M"
[notify]
server = "https://ntfy.example.com"
topic = "git"
[jobs.site]
type = "gitmal"
theme = "github-dark"
output = "/srv/www/{repo}"
per = "push"
[[rules]]
branches = ["**"]
jobs = ["site"]
`), "/etc/hookrun/hookrun.toml")
	repo, rd := Parse(strings.NewReader(`version = 1
[defaults]
timeout = "5m"
[notify]
topic = "web"
[jobs.site]
theme = "nord"
[jobs.deploy]
type = "deploy"
script = "/srv/deploy.sh"
[[rules]]
branches = ["main"]
jobs = ["deploy"]
`), "hooks.toml")
	if gd.HasErrors() || rd.HasErrors() {
		t.Fatal(gd, rd)
	}
	c, diags := Merge(global, repo)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	site := c.Jobs["site"]
	if site.Type != plan.TypeGitmal || site.Theme != "nord" || site.Output != "/srv/www/{repo}" || site.Per != "push" {
		t.Errorf("site job merged by name key by key: %+v", site)
	}
	if s := c.Effective(site); time.Duration(s.Timeout) != 5*time.Minute || s.MemoryMax != 512<<20 || s.Runner != plan.RunnerSystemd || s.Manager != plan.ManagerUser {
		t.Errorf("effective settings: %+v", s)
	}
	if c.Notify.Server != "https://ntfy.example.com" || c.Notify.Topic != "web" {
		t.Errorf("notify: %+v", c.Notify)
	}
	if len(c.Rules) != 2 {
		t.Errorf("global rules are inherited: %d rules", len(c.Rules))
	}

	repo2, _ := Parse(strings.NewReader("version = 1\ninherit_rules = false\n"), "hooks.toml")
	c2, _ := Merge(global, repo2)
	if len(c2.Rules) != 0 {
		t.Errorf("inherit_rules = false drops global rules: %d rules", len(c2.Rules))
	}
}

func TestRuleReferencesAcrossFiles(t *testing.T) {
	global, _ := Parse(strings.NewReader("version = 1\n[jobs.site]\ntype = \"command\"\ncommand = [\"x\"]\n"), "global.toml")
	repo, _ := Parse(strings.NewReader("version = 1\n[[rules]]\nbranches = [\"main\"]\njobs = [\"site\", \"nope\"]\n"), "hooks.toml")
	_, diags := Merge(global, repo)
	if got := diags.Error(); !strings.Contains(got, `hooks.toml:4:17: error: rules[1].jobs[2]: no job named "nope"`) || strings.Contains(got, `"site"`) {
		t.Errorf("a repo rule may use a global job; unknown ones are errors:\n%s", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"version = 1\n",
		"version = 1\n[jobs.a]\ntype = \"command\"\ncommand = [\"x\", \"{repo}\"]\n[[rules]]\nbranches = [\"main\"]\njobs = [\"a\"]\n",
		"version = 1\n[defaults]\ntimeout = \"1h30m\"\nmemory_max = \"1G\"\ncpu_quota = \"50%\"\nenvironment = { A = \"b\" }\n",
		"version = 1\n[jobs.s]\ntype = \"sequence\"\nsteps = [\"s\"]\n",
		"a = [[[[]]]]\n",
		"[[rules]]\n[[rules]]\nbranches = ['''x''']\n",
		"x = \"\"\"\nmulti\n\"\"\"\ny = 'lit'\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		file, diags := Parse(strings.NewReader(src), "f.toml")
		for _, d := range diags {
			if d.Msg == "" || d.Line < 0 || d.Col < 0 {
				t.Fatalf("bad diagnostic %+v", d)
			}
		}
		if file != nil {
			Merge(file, nil)
			Merge(nil, file)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	src := `version = 1
[defaults]
timeout = "30m"
cpu_quota = "50%"
memory_max = "512M"
[notify]
server = "http://127.0.0.1:8111"
topic = "git-builds"
[jobs.site]
type = "gitmal"
theme = "github-dark"
output = "/srv/www/git/{repo}"
per = "push"
[jobs.deploy]
type = "deploy"
script = "/etc/deploy.sh"
args = ["{branch}", "{new}"]
[[rules]]
branches = ["main", "feature/**", "!feature/wip-*"]
tags = ["v*"]
jobs = ["site", "deploy"]
`
	b.ReportAllocs()
	for b.Loop() {
		f, d := Parse(strings.NewReader(src), "hooks.toml")
		if d.HasErrors() {
			b.Fatal(d)
		}
		Merge(nil, f)
	}
}

func BenchmarkParseHugeArray(b *testing.B) {
	big := "version = 1\nx = [" + strings.Repeat(`"aaaaaaaaaaaa",`, 60_000) + "]\n"
	b.SetBytes(int64(len(big)))
	for b.Loop() {
		if _, d := Parse(strings.NewReader(big), "hooks.toml"); !d.HasErrors() {
			b.Fatal("no error for 60,000 array elements")
		}
	}
}

// TestHostileFiles: TOML bombs and oversized files give a clear error (or a
// prompt result), never a hang or a crash.
func TestHostileFiles(t *testing.T) {
	big := "version = 1\nx = [" + strings.Repeat(`"aaaaaaaaaaaa",`, 60_000) + "]\n"
	// No wall-clock bound (a loaded machine would fail it): a hang ends in
	// the test binary's timeout; the cost is BenchmarkParseHugeArray's.
	_, diags := parse(t, big)
	if !strings.Contains(diags.Error(), "hooks.toml: error: more than 20000 keys, array elements and tables; a hooks.toml has a few hundred") {
		t.Errorf("a huge array: %v", diags)
	}
	_, diags = parse(t, "version = 1\n#"+strings.Repeat("x", MaxFileSize)+"\n")
	if !strings.Contains(diags.Error(), "larger than") {
		t.Errorf("an oversized file: %v", diags)
	}
	_, diags = parse(t, "version = 1\nx = "+strings.Repeat("{a=", 5000)+strings.Repeat("}", 5000)+"\n")
	if !strings.Contains(diags.Error(), "nested 5000 deep") {
		t.Errorf("deep inline tables: %v", diags)
	}
	_, diags = parse(t, "version = 1\n"+strings.Repeat("[a]\n", 3)+"\x00\xff\n")
	if !diags.HasErrors() {
		t.Error("binary garbage accepted")
	}
}

// TestSecretsFiles: secrets_config and secrets_ignore come from the repo
// file when it sets them, else from the global file.
func TestSecretsFiles(t *testing.T) {
	global, _ := parse(t, "version = 1\nsecrets_config = \"/etc/g.toml\"\nsecrets_ignore = \"/etc/g.ignore\"\n")
	repo, _ := parse(t, "version = 1\nsecrets_config = \"/srv/r.toml\"\n")
	c, _ := Merge(global, repo)
	if c.SecretsConfig != "/srv/r.toml" || c.SecretsIgnore != "/etc/g.ignore" {
		t.Errorf("merged: %q %q", c.SecretsConfig, c.SecretsIgnore)
	}
	c, _ = Merge(global, nil)
	if c.SecretsConfig != "/etc/g.toml" {
		t.Errorf("global only: %q", c.SecretsConfig)
	}
}
