package job

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/waittest"
)

// hostile are arguments a shell would act on; they must arrive verbatim.
func hostile(marker string) []string {
	return []string{
		"$(touch " + marker + ")",
		"`touch " + marker + "`",
		"'; touch " + marker + "; echo '",
		`"$(touch ` + marker + `)"`,
		"a;b|c&d>e<f",
		"$HOME ${PATH} *",
		"with space\tand tab\nand newline",
		"",
		"-n",
		"--output=/etc",
		"naïve ☃ \\x41",
	}
}

func commandUnit(t *testing.T, steps ...plan.Step) *plan.Unit {
	t.Helper()
	return &plan.Unit{
		Version:  plan.Version,
		Name:     "git-test-repo-20260101-000000-abcdef.service",
		Job:      "test",
		Type:     steps[0].Type,
		Repo:     "repo",
		RepoPath: t.TempDir(),
		Env:      []string{testPath(), "HOOKRUN_REPO=repo"},
		Steps:    steps,
	}
}

func TestEnvironmentAndWorkingDirectory(t *testing.T) {
	// A hook runs with these; none may reach the job.
	t.Setenv("GIT_DIR", ".")
	t.Setenv("GIT_WORK_TREE", "/nonexistent")
	t.Setenv("GIT_QUARANTINE_PATH", "/nonexistent")
	t.Setenv("HOOKRUN_ACTIVE", "")
	t.Setenv("KEEP_ME", "process")

	tmp := t.TempDir()
	stepDir, unitDir := filepath.Join(tmp, "step"), filepath.Join(tmp, "unit")
	for _, d := range []string{stepDir, unitDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	rec := filepath.Join(tmp, "rec.json")
	u := commandUnit(t, plan.Step{Name: "env", Type: plan.TypeCommand, Argv: []string{"recorder"},
		Env: []string{"FOO=step", "HOOKRUN_TEST_RECORD=" + rec}})
	u.Env = append(u.Env, "FOO=unit", "BAR=unit", "HOOKRUN_ACTIVE=0")

	for _, tc := range []struct {
		name, stepDir, unitDir, want string
	}{
		{"step", stepDir, unitDir, stepDir},
		{"unit", "", unitDir, unitDir},
		{"repo", "", "", u.RepoPath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u.Steps[0].Dir, u.Dir = tc.stepDir, tc.unitDir
			if err := Run(context.Background(), u, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
			r := readRecord(t, rec)
			if r.Dir != tc.want {
				t.Errorf("working directory %s, want %s", r.Dir, tc.want)
			}
			env := map[string][]string{}
			for _, kv := range r.Env {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = append(env[k], v)
				if strings.HasPrefix(k, "GIT_") {
					t.Errorf("job environment has %s", kv)
				}
			}
			for k, want := range map[string]string{
				"HOOKRUN_ACTIVE": "1", "FOO": "step", "BAR": "unit",
				"KEEP_ME": "process", "HOOKRUN_REPO": "repo",
			} {
				if got := env[k]; len(got) != 1 || got[0] != want {
					t.Errorf("%s = %q, want exactly [%q]", k, got, want)
				}
			}
		})
	}
}

func TestEnvironGitFromConfigKept(t *testing.T) {
	env := Environ([]string{"GIT_DIR=.", "PATH=/bin", "GIT_SSH=x"}, []string{"GIT_SSH_COMMAND=ssh -4"}, nil)
	want := []string{"PATH=/bin", "GIT_SSH_COMMAND=ssh -4", Guard}
	if !slices.Equal(env, want) {
		t.Errorf("Environ = %q, want %q", env, want)
	}
}

func TestHostileArgumentsVerbatim(t *testing.T) {
	tmp := t.TempDir()
	marker := filepath.Join(tmp, "pwned")
	args := hostile(marker)

	// A deploy script whose own name is hostile, passing its arguments on.
	script := filepath.Join(tmp, `deploy '$(touch pwned)" ;x.sh`)
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec recorder \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		typ  plan.JobType
		argv []string
	}{
		{plan.TypeCommand, append([]string{"recorder"}, args...)},
		{plan.TypeDeploy, append([]string{script}, args...)},
	} {
		t.Run(string(tc.typ), func(t *testing.T) {
			rec := filepath.Join(tmp, string(tc.typ)+".json")
			u := commandUnit(t, plan.Step{Name: "x", Type: tc.typ, Argv: tc.argv, Env: []string{"HOOKRUN_TEST_RECORD=" + rec}})
			if err := Run(context.Background(), u, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
			got := readRecord(t, rec).Args[1:]
			if !slices.Equal(got, args) {
				t.Errorf("arguments arrived as\n%q\nwant\n%q", got, args)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("a hostile argument was run by a shell")
			}
		})
	}
}

func TestSingleStepHasNoHeading(t *testing.T) {
	u := commandUnit(t, plan.Step{Name: "one", Type: plan.TypeCommand, Argv: []string{"recorder", "hi"}})
	var out bytes.Buffer
	if err := Run(context.Background(), u, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "recorder: hi\n" {
		t.Errorf("output %q, want only the program's", got)
	}
}

func TestSequence(t *testing.T) {
	tmp := t.TempDir()
	step := func(name string, exit int) plan.Step {
		return plan.Step{Name: name, Type: plan.TypeCommand, Argv: []string{"recorder", name},
			Env: []string{"HOOKRUN_TEST_RECORD=" + filepath.Join(tmp, name+".json"), "HOOKRUN_TEST_EXIT=" + strconv.Itoa(exit)}}
	}

	t.Run("all succeed", func(t *testing.T) {
		u := commandUnit(t, step("site", 0), step("build", 0))
		u.Type = plan.TypeSequence
		var out bytes.Buffer
		if err := Run(context.Background(), u, &out, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		want := `==> step site \(command\)
recorder: site
==> step site: success in [0-9.]+m?s
==> step build \(command\)
recorder: build
==> step build: success in [0-9.]+m?s
$`
		if !regexp.MustCompile("^" + want).MatchString(out.String()) {
			t.Errorf("output:\n%s\nwant (regexp):\n%s", out.String(), want)
		}
	})

	t.Run("stops at first failure", func(t *testing.T) {
		u := commandUnit(t, step("one", 0), step("two", 3), step("three", 0), step("four", 0))
		u.Type = plan.TypeSequence
		var out bytes.Buffer
		err := Run(context.Background(), u, &out, &bytes.Buffer{})
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Step != "two" || ee.Code != 3 {
			t.Fatalf("Run = %#v, want *ExitError{Step: two, Code: 3}", err)
		}
		if got, want := err.Error(), "step two: recorder: exit status 3"; got != want {
			t.Errorf("error %q, want %q", got, want)
		}
		want := `==> step one \(command\)
recorder: one
==> step one: success in [0-9.]+m?s
==> step two \(command\)
recorder: two
==> step two: failed in [0-9.]+m?s: recorder: exit status 3
==> skipped: three, four
$`
		if !regexp.MustCompile("^" + want).MatchString(out.String()) {
			t.Errorf("output:\n%s\nwant (regexp):\n%s", out.String(), want)
		}
		for _, name := range []string{"three", "four"} {
			if _, err := os.Stat(filepath.Join(tmp, name+".json")); err == nil {
				t.Errorf("step %s ran after a failure", name)
			}
		}
	})

	t.Run("one step typed sequence has headings", func(t *testing.T) {
		u := commandUnit(t, step("only", 0))
		u.Type = plan.TypeSequence
		var out bytes.Buffer
		if err := Run(context.Background(), u, &out, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out.String(), "==> step only (command)\n") {
			t.Errorf("output %q has no heading", out.String())
		}
	})

	t.Run("a name cannot forge lines", func(t *testing.T) {
		s := step("x", 0)
		s.Name = "x\n==> step y: success"
		u := commandUnit(t, s)
		u.Type = plan.TypeSequence
		var out bytes.Buffer
		if err := Run(context.Background(), u, &out, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String(), "\n==> step y") {
			t.Errorf("a step name forged an output line:\n%s", out.String())
		}
	})
}

func TestMissingPrograms(t *testing.T) {
	tmp := t.TempDir()
	notExec := filepath.Join(tmp, "deploy.sh")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badInterp := filepath.Join(tmp, "interp.sh")
	if err := os.WriteFile(badInterp, []byte("#!/nonexistent/interpreter\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		step plan.Step
		code int
		msg  string
	}{
		{"command", plan.Step{Type: plan.TypeCommand, Argv: []string{"no-such-program-hookrun", "x"}}, ExitNotFound,
			"no-such-program-hookrun: command not found in PATH: install it"},
		{"script", plan.Step{Type: plan.TypeDeploy, Argv: []string{"/nonexistent/deploy.sh"}}, ExitNotFound,
			"/nonexistent/deploy.sh: no such file"},
		{"not executable", plan.Step{Type: plan.TypeDeploy, Argv: []string{notExec}}, ExitCannotRun,
			notExec + ": not executable: chmod +x it"},
		{"missing interpreter", plan.Step{Type: plan.TypeDeploy, Argv: []string{badInterp}}, ExitNotFound,
			"its #! interpreter is missing"},
		{"gitmal", plan.Step{Type: plan.TypeGitmal, Argv: []string{"gitmal", "--output", filepath.Join(tmp, "site"), "."},
			Output: filepath.Join(tmp, "site")}, ExitNotFound,
			"gitmal: command not found in PATH: install gitmal (go install github.com/antonmedv/gitmal@v1.0.2) or set gitmal ="},
		{"empty argv", plan.Step{Type: plan.TypeCommand}, ExitFailure, "nothing to run"},
		{"working directory", plan.Step{Type: plan.TypeCommand, Argv: []string{"true"}, Dir: "/nonexistent/dir"}, ExitFailure,
			"working directory /nonexistent/dir does not exist"},
		{"unknown type", plan.Step{Type: "teleport", Argv: []string{"true"}}, ExitFailure, `unknown step type "teleport"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.step.Name = "s"
			u := commandUnit(t, tc.step)
			u.Env = []string{"PATH=/usr/bin:/bin"} // no fake gitmal
			err := Run(context.Background(), u, &bytes.Buffer{}, &bytes.Buffer{})
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Code != tc.code || ee.Step != "s" {
				t.Fatalf("Run = %v, want *ExitError with code %d", err, tc.code)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
		})
	}
	t.Run("no steps", func(t *testing.T) {
		if err := Run(context.Background(), &plan.Unit{}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Fatal("Run of a unit without steps succeeded")
		}
	})
}

func TestSignalStatus(t *testing.T) {
	u := commandUnit(t, plan.Step{Name: "s", Type: plan.TypeCommand, Argv: []string{"sh", "-c", "kill -USR1 $$"}})
	err := Run(context.Background(), u, &bytes.Buffer{}, &bytes.Buffer{})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 128+10 {
		t.Fatalf("Run = %v, want exit code 138 (128+SIGUSR1)", err)
	}
}

func TestCancelStopsProcessGroup(t *testing.T) {
	old := killGrace
	killGrace = 2 * time.Second
	t.Cleanup(func() { killGrace = old })

	tmp := t.TempDir()
	pidFile := filepath.Join(tmp, "pid")
	u := commandUnit(t, plan.Step{Name: "slow", Type: plan.TypeCommand,
		Argv: []string{"sh", "-c", `sleep 60 & echo $! > "$1"; wait`, "sh", pidFile}},
		plan.Step{Name: "next", Type: plan.TypeCommand, Argv: []string{"recorder"},
			Env: []string{"HOOKRUN_TEST_RECORD=" + filepath.Join(tmp, "next.json")}})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	var out bytes.Buffer
	err := Run(ctx, u, &out, &bytes.Buffer{})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %s after the context ended", d)
	}
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Step != "slow" || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v, want the slow step's *ExitError wrapping DeadlineExceeded", err)
	}
	if ee.Code != 128+15 {
		t.Errorf("code %d, want 143 (SIGTERM)", ee.Code)
	}
	// said in words, not Go's "context deadline exceeded (sh stopped: signal: terminated)"
	if want := "step slow: timed out: sh was stopped by signal TERM"; err.Error() != want {
		t.Errorf("Run = %q, want %q", err, want)
	}
	if _, err := os.Stat(filepath.Join(tmp, "next.json")); err == nil {
		t.Error("the next step ran after cancellation")
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(b))
	waittest.Until(t, 3*time.Second, "the step's child "+pid+" to die with the cancellation", func() (bool, string) {
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		// Gone, or a zombie waiting for its reaper.
		return err != nil || strings.Contains(string(stat), ") Z "), "/proc/" + pid + "/stat: " + string(stat)
	})
}

func TestChangedFilesFile(t *testing.T) {
	list := []byte("docs/new\nline.md\x00docs/caf\xe9.md\x00src/a.go\x00")
	out := filepath.Join(t.TempDir(), "copy")
	u := commandUnit(t,
		plan.Step{Name: "copy", Type: plan.TypeCommand, Argv: []string{"/bin/sh", "-c", `cp "$HOOKRUN_CHANGED_FILES_FILE" "$0" && echo "$HOOKRUN_CHANGED_FILES_FILE"`, out}})
	u.ChangedFiles = list
	var stdout bytes.Buffer
	if err := Run(context.Background(), u, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, list) {
		t.Errorf("the job read %q (%v), want %q", got, err, list)
	}
	if path := strings.TrimSpace(stdout.String()); path == "" {
		t.Error("HOOKRUN_CHANGED_FILES_FILE not set")
	} else if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left behind after the job (%v)", path, err)
	}

	// A unit no paths rule selected has no list.
	u.ChangedFiles = nil
	stdout.Reset()
	if err := Run(context.Background(), u, &stdout, &bytes.Buffer{}); err == nil {
		t.Error("cp of an unset variable succeeded")
	}
	if strings.TrimSpace(stdout.String()) != "" {
		t.Errorf("HOOKRUN_CHANGED_FILES_FILE set without a list: %q", stdout.String())
	}
}

// Every job type but sequence (whose steps are its jobs') has a way to
// run; a type this hookrun does not know is an error, never a no-op.
func TestEveryJobTypeRuns(t *testing.T) {
	for _, jt := range plan.JobTypes() {
		f, err := stepRunner(jt)
		if jt == plan.TypeSequence {
			if err == nil {
				t.Error("a sequence step runs: resolve should have planned its jobs' steps")
			}
			continue
		}
		if err != nil || f == nil {
			t.Errorf("type %q: %v", jt, err)
		}
	}
	if _, err := stepRunner("made-up"); err == nil {
		t.Error("a made-up type runs")
	}
}
