package config

import (
	"strings"
	"testing"
)

func TestOrigins(t *testing.T) {
	global, gd := Parse(strings.NewReader(`version = 1
[defaults]
timeout = "30m"
memory_max = "1G"
[notify]
server = "https://ntfy.example"
topic = "builds"
[jobs.site]
type = "gitmal"
output = "/srv/www/{repo}"
theme = "nord"
[jobs.deploy]
type = "deploy"
script = "/srv/deploy.sh"
[[rules]]
branches = ["main"]
jobs = ["site"]
`), "/etc/hookrun/hookrun.toml")
	repo, rd := Parse(strings.NewReader(`version = 1
[defaults]
timeout = "10m"
environment = { A = "1", B = "x y" }
[jobs.site]
theme = "dracula"
[jobs.deploy]
type = "command"
command = ["make", "deploy"]
[[rules]]
tags = ["v*"]
jobs = ["deploy"]
`), "/srv/git/web.git/hooks.toml")
	if gd.HasErrors() || rd.HasErrors() {
		t.Fatal(gd, rd)
	}
	got := map[string]Origin{}
	for _, o := range Origins(global, repo) {
		got[o.Key] = o
	}
	const g, r = "/etc/hookrun/hookrun.toml", "/srv/git/web.git/hooks.toml"
	for _, tt := range []struct {
		key, value, file string
		line             int
		overrides        string
	}{
		{"defaults.timeout", `"10m"`, r, 3, g + ":3"},
		{"defaults.memory_max", `"1G"`, g, 4, ""},
		{"defaults.environment", `{ A = "1", B = "x y" }`, r, 4, ""},
		{"defaults.runner", `"systemd"`, "", 0, ""},
		{"notify.topic", `"builds"`, g, 7, ""},
		{"jobs.site.theme", `"dracula"`, r, 6, g + ":11"},
		{"jobs.site.output", `"/srv/www/{repo}"`, g, 10, ""},
		{"jobs.deploy.type", `"command"`, r, 8, ""},
		{"jobs.deploy.command", `["make", "deploy"]`, r, 9, ""},
		{"rules[1].branches", `["main"]`, g, 16, ""},
		{"rules[2].tags", `["v*"]`, r, 11, ""},
		{"version", "1", r, 1, g + ":1"},
	} {
		o, ok := got[tt.key]
		if !ok {
			t.Errorf("%s: missing", tt.key)
			continue
		}
		if o.Value != tt.value || o.File != tt.file || o.Line != tt.line || strings.Join(o.Overrides, " ") != tt.overrides {
			t.Errorf("%s = %+v, want %s from %s:%d overriding %q", tt.key, o, tt.value, tt.file, tt.line, tt.overrides)
		}
	}
	if o, ok := got["jobs.deploy.script"]; ok {
		t.Errorf("a job of another type replaces the global one whole; still have %+v", o)
	}
	if o := got["jobs.deploy.type"]; len(o.Overrides) != 0 {
		t.Errorf("the replaced job's type is not an override: %+v", o)
	}

	no := false
	repo.InheritRules = &no
	for _, o := range Origins(global, repo) {
		if o.Key == "rules[1].tags" && o.File != r {
			t.Errorf("inherit_rules = false: rules[1] is the repository's, got %+v", o)
		}
		if strings.HasPrefix(o.Key, "rules[") && o.File == g {
			t.Errorf("inherit_rules = false still lists %+v", o)
		}
	}
}
