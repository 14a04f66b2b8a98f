package config

import (
	"strings"
	"testing"
)

func TestHostDiagnostics(t *testing.T) {
	for _, tt := range []struct{ name, src, want string }{
		{"no ssh", "version = 1\n[hosts.build]\nruntime_dir = \"/run/user/1000\"\n", `hooks.toml:2:1: error: hosts.build: missing ssh: the ssh destination, e.g. ssh = "builder@buildhost"`},
		{"option as destination", "version = 1\n[hosts.build]\nssh = \"-oProxyCommand=x\"\n", `hooks.toml:3:7: error: hosts.build.ssh: "-oProxyCommand=x" is not an ssh destination`},
		{"port in destination", "version = 1\n[hosts.build]\nssh = \"b@h:22\"\n", `hosts.build.ssh: "b@h:22" is not an ssh destination such as "builder@buildhost" (put a port in ssh_options or ~/.ssh/config)`},
		{"relative runtime dir", "version = 1\n[hosts.build]\nssh = \"b@h\"\nruntime_dir = \"run\"\n", `hosts.build.runtime_dir: "run" must be an absolute path`},
		{"relative hookrun", "version = 1\n[hosts.build]\nssh = \"b@h\"\nhookrun = \"bin/hookrun\"\n", `hosts.build.hookrun: "bin/hookrun" must be an absolute path`},
		{"bad host name", "version = 1\n[hosts.\"a b\"]\nssh = \"b@h\"\n", `host name "a b" may only use`},
		{"newline in option", "version = 1\n[hosts.build]\nssh = \"b@h\"\nssh_options = [\"-o\", \"a\\nb\"]\n", `hosts.build.ssh_options: "a\nb" contains a NUL or a line break`},
		{"unknown key", "version = 1\n[hosts.build]\nssh = \"b@h\"\nruntimedir = \"/x\"\n", `unknown key "runtimedir" in hosts.build (did you mean "runtime_dir"?)`},
		{"unknown host", "version = 1\n[hosts.builder]\nssh = \"b@h\"\n[jobs.t]\ntype = \"command\"\ncommand = [\"make\"]\nhost = \"buidler\"\n", `hooks.toml:7:8: error: jobs.t.host: no host named "buidler": define [hosts.buidler] with its ssh destination (did you mean "builder"?)`},
		{"no hosts at all", "version = 1\n[jobs.t]\ntype = \"command\"\ncommand = [\"make\"]\nhost = \"b\"\n", `jobs.t.host: no host named "b": define [hosts.b] with its ssh destination`},
		{"step host ignored", "version = 1\n[hosts.b]\nssh = \"b@h\"\n[jobs.t]\ntype = \"command\"\ncommand = [\"make\"]\nhost = \"b\"\n[jobs.s]\ntype = \"sequence\"\nsteps = [\"t\"]\n", `warning: jobs.t.host is ignored when t runs inside sequence "s" (steps run where the sequence runs)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, diags := parse(t, tt.src)
			if !diags.HasErrors() {
				_, md := Merge(nil, f)
				diags = append(diags, md...)
			}
			if !strings.Contains(diags.Error(), tt.want) {
				t.Errorf("diagnostics:\n%v\nwant one containing:\n%s", diags, tt.want)
			}
		})
	}
}

// A host may be defined server-wide and used (or refined) by a repository;
// forward-build keeps taking a plain ssh destination.
func TestHostsAcrossFiles(t *testing.T) {
	global, gd := Parse(strings.NewReader(`version = 1
[hosts.builder]
ssh = "build@buildhost"
ssh_options = ["-o", "ControlMaster=auto"]
`), "/etc/hookrun/hookrun.toml")
	repo, rd := Parse(strings.NewReader(`version = 1
[hosts.builder]
runtime_dir = "/run/user/1002"
[jobs.test]
type = "command"
command = ["make", "test"]
host = "builder"
[jobs.fb]
type = "forward-build"
host = "ci@other"
path = "/srv/b"
command = ["make"]
`), "hooks.toml")
	if gd.HasErrors() || rd.HasErrors() {
		t.Fatal(gd, rd)
	}
	c, diags := Merge(global, repo)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	h := c.Hosts["builder"]
	if h == nil || h.SSH != "build@buildhost" || h.RuntimeDir != "/run/user/1002" || len(h.SSHOptions) != 2 {
		t.Errorf("hosts.builder merged key by key: %+v", h)
	}
	if c.Jobs["test"].Host != "builder" {
		t.Errorf("jobs.test.host = %q", c.Jobs["test"].Host)
	}
}
