package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLint: configs that decode but would not do what was written each get
// exactly one diagnostic of the expected severity, and correct spellings
// none.
func TestLint(t *testing.T) {
	const job = "[jobs.x]\ntype = \"command\"\ncommand = [\"a\"]\n"
	rule := func(key, glob string) string {
		return job + "[[rules]]\n" + key + " = [" + glob + "]\njobs = [\"x\"]\n"
	}
	tests := []struct {
		name, src string
		sev       Severity
		want      string // "" for no diagnostic at all
	}{
		{"full branch ref", rule("branches", `"refs/heads/main"`), Error, `rules[1].branches[1]: "refs/heads/main" never matches: branches match names without "refs/heads/"; write "main"`},
		{"full tag ref", rule("tags", `"refs/tags/v*"`), Error, `write "v*"`},
		{"tag ref in branches", rule("branches", `"refs/tags/v1"`), Error, `"refs/tags/v1" names a tag, not a branch: put "v1" in tags`},
		{"branch ref in tags", rule("tags", `"refs/heads/main"`), Error, `"refs/heads/main" names a branch, not a tag: put "main" in branches`},
		{"excluded full ref", rule("branches", `"main", "!refs/heads/wip"`), Error, `never excludes anything: branches match names without "refs/heads/"; write "!wip"`},
		{"trailing space", rule("branches", `"main "`), Error, `"main " has white space around it`},
		{"leading tab", rule("tags", `"\tv1"`), Error, `write "v1"`},
		{"other full ref", rule("branches", `"refs/pull/*"`), Warning, `looks like a full ref name`},
		{"good globs", rule("branches", `"main", "release/**", "!wip"`), "", ""},
		{"hour and bare number", "[defaults]\ntimeout = \"1h30\"\n", Warning, `"1h30" ends in a number without a unit, which means seconds (1h30s); write "1h30m" for minutes, or "1h30s" to say so`},
		{"day and bare number", "[defaults]\ntimeout = \"2d 3\"\n", Warning, `write "2d3h" for hours`},
		{"minute and bare number", "[defaults]\ntimeout = \"5m30\"\n", Warning, `write "5m30s" to say so`},
		{"bare number of seconds", "[defaults]\ntimeout = \"90\"\n", "", ""},
		{"integer seconds", "[defaults]\ntimeout = 90\n", "", ""},
		{"explicit span", "[defaults]\ntimeout = \"1h 30m\"\n", "", ""},
		{"bare integer size", "[defaults]\nmemory_max = 512\n", Warning, `512 has no unit: it is 512 bytes`},
		{"bare string size", "[defaults]\nmemory_max = \"2048\"\n", Warning, `2048 has no unit: it is 2048 bytes; write "2K" to say so`},
		{"size with unit", "[defaults]\nmemory_max = \"512M\"\n", "", ""},
		{"size infinity", "[defaults]\nmemory_max = \"infinity\"\n", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := parse(t, "version = 1\n"+tt.src)
			if tt.want == "" {
				if len(diags) > 0 {
					t.Fatalf("want no diagnostics, got:\n%v", diags)
				}
				return
			}
			if len(diags) != 1 || diags[0].Severity != tt.sev || !strings.Contains(diags[0].Msg, tt.want) {
				t.Fatalf("diagnostics:\n%v\nwant exactly one %s containing:\n%s", diags, tt.sev, tt.want)
			}
		})
	}
}

func TestVersionStringIsOneError(t *testing.T) {
	_, diags := parse(t, "version = \"1\"\n")
	if len(diags) != 1 || !strings.Contains(diags[0].Msg, "version: want an integer, got a string") {
		t.Fatalf("want one error about the string, got:\n%v", diags)
	}
}

func TestUnusedJobs(t *testing.T) {
	global, _ := Parse(strings.NewReader("version = 1\n[jobs.shared]\ntype = \"command\"\ncommand = [\"a\"]\n"), "global.toml")
	repo, _ := Parse(strings.NewReader(`version = 1
[jobs.used]
type = "sequence"
steps = ["step"]
[jobs.step]
type = "command"
command = ["a"]
[jobs.idle]
type = "command"
command = ["a"]
[[rules]]
branches = ["main"]
jobs = ["used"]
`), "hooks.toml")
	_, diags := Merge(global, repo)
	if len(diags) != 1 || diags[0].File != "hooks.toml" || !strings.Contains(diags[0].Msg, "jobs.idle: no rule starts it") {
		t.Fatalf("want one warning about jobs.idle (not shared, which repositories may use, nor step, used by a sequence), got:\n%v", diags)
	}
	norules, _ := Parse(strings.NewReader("version = 1\n[jobs.a]\ntype = \"command\"\ncommand = [\"a\"]\n[jobs.b]\ntype = \"command\"\ncommand = [\"a\"]\n"), "hooks.toml")
	if _, diags := Merge(nil, norules); len(diags) != 1 || !strings.Contains(diags[0].Msg, "no [[rules]]") {
		t.Fatalf("a file without rules: want one warning, got:\n%v", diags)
	}
	if _, diags := Merge(global, nil); len(diags) != 0 {
		t.Fatalf("the global file alone: want no warning, got:\n%v", diags)
	}
}

func TestCheckHost(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exe, plain, tok, openTok := write("run.sh", 0o755), write("plain.sh", 0o644), write("token", 0o600), write("open-token", 0o644)
	for _, tt := range []struct{ name, job, notify, want string }{
		{"executable script", `type = "deploy"` + "\nscript = \"" + exe + "\"", "", ""},
		{"templated script", `type = "deploy"` + "\nscript = \"{repo_path}/deploy.sh\"", "", ""},
		{"missing script", `type = "deploy"` + "\nscript = \"/nonexistent/x\"", "", "jobs.j.script: /nonexistent/x: no such file or directory on this machine"},
		{"not executable", `type = "deploy"` + "\nscript = \"" + plain + "\"", "", "is not executable (mode 0644)"},
		{"directory", `type = "deploy"` + "\nscript = \"" + dir + "\"", "", "is a directory, not a program"},
		{"absolute command", `type = "command"` + "\ncommand = [\"/nonexistent/tool\", \"x\"]", "", "jobs.j.command: /nonexistent/tool: no such file"},
		{"command from PATH", `type = "command"` + "\ncommand = [\"make\"]", "", ""},
		{"forward-build runs remotely", `type = "forward-build"` + "\nhost = \"b@h\"\npath = \"/x\"\ncommand = [\"/nonexistent/tool\"]", "", ""},
		{"gitmal path", `type = "gitmal"` + "\noutput = \"/srv\"\ngitmal = \"/nonexistent/gitmal\"", "", "jobs.j.gitmal: /nonexistent/gitmal: no such file"},
		{"private token", `type = "command"` + "\ncommand = [\"a\"]", "token_file = \"" + tok + "\"", ""},
		{"token readable by others", `type = "command"` + "\ncommand = [\"a\"]", "token_file = \"" + openTok + "\"", "is readable by others (mode 0644)"},
		{"missing token", `type = "command"` + "\ncommand = [\"a\"]", "token_file = \"/nonexistent/token\"", "notify.token_file: cannot read /nonexistent/token: no such file or directory; no notification would be sent"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := "version = 1\n[notify]\n" + tt.notify + "\n[jobs.j]\n" + tt.job + "\n[[rules]]\nbranches = [\"main\"]\njobs = [\"j\"]\n"
			f, diags := parse(t, src)
			c, more := Merge(nil, f)
			if diags = append(diags, more...); diags.HasErrors() {
				t.Fatalf("config has errors:\n%v", diags)
			}
			got := CheckHost(c)
			if tt.want == "" {
				if len(got) > 0 {
					t.Fatalf("want no warnings, got:\n%v", got)
				}
				return
			}
			if len(got) != 1 || got[0].Severity != Warning || !strings.Contains(got[0].Msg, tt.want) || got[0].Line == 0 {
				t.Fatalf("got:\n%v\nwant one placed warning containing %q", got, tt.want)
			}
		})
	}
}
