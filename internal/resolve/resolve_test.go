package resolve

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/plan"
)

const (
	zero = "0000000000000000000000000000000000000000"
	a    = "1111111111111111111111111111111111111111"
	b    = "2222222222222222222222222222222222222222"
)

func load(t *testing.T, src string) *config.Config {
	t.Helper()
	f, d := config.Parse(strings.NewReader(src), "hooks.toml")
	c, md := config.Merge(nil, f)
	if d = append(d, md...); d.HasErrors() {
		t.Fatal(d)
	}
	return c
}

type countingAncestry struct {
	ff    bool
	calls int
}

func (c *countingAncestry) IsAncestor(string, string) (bool, error) { c.calls++; return c.ff, nil }

func push(ups ...match.RefUpdate) Push {
	n := 0
	return Push{
		RepoPath: "/srv/git/web.git", Repo: "web", Updates: ups, Now: time.Unix(0, 0),
		UnitName: func(job, repo string, _ time.Time) string {
			n++
			return "git-" + job + "-" + repo + "-" + string(rune('0'+n)) + ".service"
		},
	}
}

func env(envs []string, key string) string {
	for _, e := range envs {
		if k, v, _ := strings.Cut(e, "="); k == key {
			return v
		}
	}
	return "<unset>"
}

func TestResolve(t *testing.T) {
	c := load(t, `version = 1
[defaults]
timeout = "10m"
memory_max = "1G"
environment = { STAGE = "{branch}" }
[notify]
server = "https://ntfy.example.com"
topic = "git"
[jobs.site]
type = "gitmal"
output = "/srv/www/{repo}"
per = "push"
[jobs.build]
type = "command"
command = ["make", "-C", "{repo_path}", "REV={short}"]
topic = "builds"
memory_max = "2G"
[jobs.deploy]
type = "deploy"
script = "/srv/deploy.sh"
args = ["{branch}", "{new}"]
environment = { DEPLOY = "yes" }
[jobs.release]
type = "sequence"
steps = ["build", "deploy"]
timeout = "1h"
[[rules]]
branches = ["main", "dev"]
jobs = ["site", "build"]
[[rules]]
branches = ["main"]
jobs = ["build", "release"]
`)
	p, err := Resolve(c, push(
		match.RefUpdate{Old: a, New: b, Name: "refs/heads/main"},
		match.RefUpdate{Old: zero, New: b, Name: "refs/heads/dev"},
	))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range p.Units {
		got = append(got, u.Job+":"+strings.Join(refsOf(u.Refs), ","))
	}
	// site once per push with both refs; build once per ref even though two
	// rules select it for main; release for main only.
	want := []string{"site:refs/heads/main,refs/heads/dev", "build:refs/heads/main", "release:refs/heads/main", "build:refs/heads/dev"}
	if !slices.Equal(got, want) {
		t.Fatalf("units = %q, want %q", got, want)
	}
	site, build, release := p.Units[0], p.Units[1], p.Units[2]
	if !slices.Equal(site.Steps[0].Argv, []string{"gitmal", "--theme", "github-dark", "--output", "/srv/www/web", "--name", "web", "/srv/git/web.git"}) {
		t.Errorf("gitmal argv = %q", site.Steps[0].Argv)
	}
	if env(site.Env, "HOOKRUN_REFS") != a+" "+b+" refs/heads/main\n"+zero+" "+b+" refs/heads/dev" {
		t.Errorf("HOOKRUN_REFS = %q", env(site.Env, "HOOKRUN_REFS"))
	}
	if !slices.Equal(build.Steps[0].Argv, []string{"make", "-C", "/srv/git/web.git", "REV=2222222"}) {
		t.Errorf("build argv = %q", build.Steps[0].Argv)
	}
	if build.Notify.Topic != "builds" || site.Notify.Topic != "git" {
		t.Errorf("topics: build %q, site %q", build.Notify.Topic, site.Notify.Topic)
	}
	if build.Limits.MemoryMax != 2<<30 || site.Limits.MemoryMax != 1<<30 || site.Limits.Timeout != 10*time.Minute {
		t.Errorf("limits: build %+v site %+v", build.Limits, site.Limits)
	}
	if !slices.Equal(build.Rules, []string{"hooks.toml rules[1]", "hooks.toml rules[2]"}) {
		t.Errorf("build rules = %q", build.Rules)
	}
	// A sequence runs its steps with the sequence's own limits; a step keeps
	// its own environment.
	if len(release.Steps) != 2 || release.Steps[0].Name != "build" || release.Steps[1].Name != "deploy" {
		t.Fatalf("release steps = %+v", release.Steps)
	}
	if release.Limits.Timeout != time.Hour || release.Limits.MemoryMax != 1<<30 {
		t.Errorf("sequence limits = %+v", release.Limits)
	}
	if !slices.Equal(release.Steps[1].Argv, []string{"/srv/deploy.sh", "main", b}) || env(release.Steps[1].Env, "DEPLOY") != "yes" {
		t.Errorf("deploy step = %+v", release.Steps[1])
	}
	for k, v := range map[string]string{"HOOKRUN_ACTIVE": "1", "HOOKRUN_REPO": "web", "HOOKRUN_BRANCH": "main", "HOOKRUN_EVENT": "update",
		"HOOKRUN_JOB": "build", "HOOKRUN_UNIT": build.Name, "STAGE": "main", "HOOKRUN_TAG": "<unset>"} {
		if got := env(build.Env, k); got != v {
			t.Errorf("build env %s = %q, want %q", k, got, v)
		}
	}
}

func refsOf(rs []plan.Ref) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Ref)
	}
	return out
}

// TestAncestryOnlyWhenNeeded: git is asked whether an update was a
// fast-forward only when a matching rule tells update from force.
func TestAncestryOnlyWhenNeeded(t *testing.T) {
	cfg := func(events string) *config.Config {
		return load(t, `version = 1
[jobs.x]
type = "command"
command = ["x"]
[[rules]]
branches = ["main"]
`+events+`
jobs = ["x"]
`)
	}
	up := match.RefUpdate{Old: a, New: b, Name: "refs/heads/main"}
	for _, tt := range []struct {
		events string
		ff     bool
		calls  int
		units  int
	}{
		{"", false, 0, 1},                    // default: create, update, force
		{`events = ["update"]`, true, 1, 1},  // fast-forward only
		{`events = ["update"]`, false, 1, 0}, // a force push does not deploy
		{`events = ["force"]`, false, 1, 1},
		{`events = ["create"]`, false, 0, 0},
	} {
		anc := &countingAncestry{ff: tt.ff}
		p := push(up)
		p.Ancestry = anc
		got, err := Resolve(cfg(tt.events), p)
		if err != nil {
			t.Fatal(err)
		}
		if anc.calls != tt.calls || len(got.Units) != tt.units {
			t.Errorf("%s (ff=%v): git asked %d times, %d units; want %d, %d", tt.events, tt.ff, anc.calls, len(got.Units), tt.calls, tt.units)
		}
	}
	// Refs no rule selects never reach git.
	anc := &countingAncestry{}
	p := push(match.RefUpdate{Old: a, New: b, Name: "refs/heads/other"})
	p.Ancestry = anc
	Resolve(cfg(`events = ["update"]`), p)
	if anc.calls != 0 {
		t.Errorf("git asked about a ref no rule selects")
	}
}

func BenchmarkResolve1000RefsPerPush(b *testing.B) {
	f, _ := config.Parse(strings.NewReader(`version = 1
[jobs.site]
type = "gitmal"
output = "/srv/www/{repo}"
per = "push"
[[rules]]
branches = ["**"]
jobs = ["site"]
`), "hooks.toml")
	c, _ := config.Merge(nil, f)
	ups := make([]match.RefUpdate, 1000)
	for i := range ups {
		ups[i] = match.RefUpdate{Old: a, New: "2222222222222222222222222222222222222222", Name: "refs/heads/topic/" + strings.Repeat("x", i%50) + string(rune('a'+i%26))}
	}
	b.ReportAllocs()
	for b.Loop() {
		p, err := Resolve(c, push(ups...))
		if err != nil || len(p.Units) != 1 {
			b.Fatal(err)
		}
	}
}

// TestResolveHosts: host = "NAME" puts the [hosts.NAME] entry in the unit
// (which then runs there); forward-build takes the host's destination and
// options after its own.
func TestResolveHosts(t *testing.T) {
	c := load(t, `version = 1
[hosts.builder]
ssh = "build@buildhost"
ssh_options = ["-o", "ControlMaster=auto"]
hookrun = "/usr/local/bin/hookrun"
[jobs.test]
type = "command"
command = ["make", "test"]
host = "builder"
memory_max = "1G"
[jobs.local]
type = "command"
command = ["true"]
[jobs.fb]
type = "forward-build"
host = "builder"
path = "/srv/b"
command = ["make"]
ssh_options = ["-p", "2222"]
[[rules]]
branches = ["main"]
jobs = ["test", "local", "fb"]
`)
	p, err := Resolve(c, push(match.RefUpdate{Old: a, New: b, Name: "refs/heads/main"}))
	if err != nil {
		t.Fatal(err)
	}
	byJob := map[string]*plan.Unit{}
	for _, u := range p.Units {
		byJob[u.Job] = u
	}
	h := byJob["test"].Host
	if h == nil || h.Name != "builder" || h.SSH != "build@buildhost" || h.Hookrun != "/usr/local/bin/hookrun" ||
		!slices.Equal(h.SSHOptions, []string{"-o", "ControlMaster=auto"}) {
		t.Errorf("test unit host = %+v", h)
	}
	if byJob["test"].Limits.MemoryMax != 1<<30 {
		t.Errorf("remote unit limits = %+v", byJob["test"].Limits)
	}
	if byJob["local"].Host != nil || byJob["fb"].Host != nil {
		t.Errorf("local and forward-build units run here: %+v %+v", byJob["local"].Host, byJob["fb"].Host)
	}
	st := byJob["fb"].Steps[0]
	if st.Host != "build@buildhost" || !slices.Equal(st.SSHOptions, []string{"-p", "2222", "-o", "ControlMaster=auto"}) {
		t.Errorf("forward-build step through [hosts.builder] = %+v", st)
	}
}
