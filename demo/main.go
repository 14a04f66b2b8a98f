// Command demo shows hookrun's main job end to end on this machine: a push
// into a throwaway bare repository starts real units, whose output and ntfy
// notifications it then shows. It uses the user's systemd manager when one is
// reachable, else (as root) a private systemd user manager in its own mount
// namespace, else hookrun's exec runner, and says which.
//
//	go run ./demo -hookrun bin/hookrun     (what `make demo` does)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hookrun/hookrun/internal/ntfytest"
	"github.com/hookrun/hookrun/internal/runner"
	"github.com/hookrun/hookrun/internal/systemdtest"
)

func main() {
	hookrun := flag.String("hookrun", "bin/hookrun", "hookrun binary to demonstrate")
	keep := flag.Bool("keep", false, "keep the throwaway directory")
	flag.Parse()
	if err := run(*hookrun, *keep); err != nil {
		fmt.Fprintf(os.Stderr, "demo: error: %v\n", err)
		os.Exit(1)
	}
}

const hooksTOML = `version = 1

[defaults]
runner = "RUNNER"
timeout = "1m"
memory_max = "128M"
cpu_quota = "50%"

[notify]
server = "NTFY"
topic = "demo-builds"

# Prints the pushed history: a stand-in for a site generator or a build.
[jobs.summary]
type = "command"
command = ["git", "--git-dir", "{repo_path}", "log", "--oneline", "--decorate", "-n", "5", "{new}"]

# Fails on purpose, to show a failure notification.
[jobs.lint]
type = "command"
command = ["/bin/sh", "-c", "echo 'lint: checking {short}: TODO found in README'; exit 3"]

[[rules]]
branches = ["main"]
jobs = ["summary", "lint"]
`

func run(hookrun string, keep bool) error {
	hookrun, err := filepath.Abs(hookrun)
	if err != nil {
		return err
	}
	if _, err := os.Stat(hookrun); err != nil {
		return fmt.Errorf("no hookrun binary at %s: run `make build` first", hookrun)
	}
	dir, err := os.MkdirTemp("", "hookrun-demo-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	env := cleanEnv(os.Environ())
	global := filepath.Join(dir, "global.toml")
	if err := os.WriteFile(global, []byte("version = 1\n"), 0o644); err != nil {
		return err
	}
	env = append(env, "HOOKRUN_CONFIG="+global,
		"GIT_AUTHOR_NAME=Demo", "GIT_AUTHOR_EMAIL=demo@example.com",
		"GIT_COMMITTER_NAME=Demo", "GIT_COMMITTER_EMAIL=demo@example.com")

	ntfy := ntfytest.New()
	defer ntfy.Close()
	step("a local ntfy receiver listens at %s", ntfy.URL)

	runnerName := "systemd"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if c, err := runner.DialSystemd(ctx, "user", os.Getenv); err == nil {
		step("using your systemd user manager at %s", c.Address())
		c.Close()
	} else if os.Getuid() == 0 {
		m, err := systemdtest.Launch()
		if err != nil {
			cancel()
			return fmt.Errorf("no user manager reachable and a private one would not start: %v", err)
		}
		defer m.Stop()
		step("no systemd user manager here (PID 1 is not systemd): started a private one, PID %d, in its own mount namespace; clients reach it at %s/systemd/private", m.PID, m.RuntimeDir)
		env = append(env, "XDG_RUNTIME_DIR="+m.RuntimeDir, "DBUS_SESSION_BUS_ADDRESS=")
	} else {
		runnerName = "exec"
		step("no systemd manager reachable and not root: using hookrun's exec runner (detached processes)")
	}
	cancel()

	repo := filepath.Join(dir, "demo.git")
	work := filepath.Join(dir, "work")
	if err := sh(env, dir, "git", "init", "-q", "--bare", "-b", "main", repo); err != nil {
		return err
	}
	cfg := strings.NewReplacer("RUNNER", runnerName, "NTFY", ntfy.URL).Replace(hooksTOML)
	if err := os.WriteFile(filepath.Join(repo, "hooks.toml"), []byte(cfg), 0o600); err != nil {
		return err
	}
	step("created a throwaway bare repository %s with this hooks.toml:\n\n%s", repo, indent(cfg))
	step("hookrun validate:")
	if err := sh(env, repo, hookrun, "validate"); err != nil {
		return err
	}
	step("hookrun install:")
	if err := sh(env, dir, hookrun, "install", repo); err != nil {
		return err
	}
	if err := sh(env, dir, "git", "clone", "-q", repo, work); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(work, "README"), []byte("hello from the hookrun demo\nTODO: more\n"), 0o644); err != nil {
		return err
	}
	if err := sh(env, work, "git", "add", "README"); err != nil {
		return err
	}
	if err := sh(env, work, "git", "commit", "-q", "-m", "Add README"); err != nil {
		return err
	}
	step("git push origin main (the hook starts one unit per job and returns at once):")
	start := time.Now()
	if err := sh(env, work, "git", "push", "origin", "HEAD:main"); err != nil {
		return err
	}
	step("the push returned after %v; waiting for the units to finish and notify...", time.Since(start).Round(time.Millisecond))
	msgs := ntfy.WaitFor(2, 60*time.Second)
	if len(msgs) < 2 {
		return fmt.Errorf("got %d of 2 notifications within a minute", len(msgs))
	}
	step("notifications the ntfy receiver got:")
	for _, m := range msgs {
		fmt.Printf("    topic %s, priority %d\n    %s\n    %s\n\n", m.Topic, m.Priority, m.Title, strings.ReplaceAll(m.Message, "\n", "\n    "))
	}
	time.Sleep(300 * time.Millisecond) // the history record is written right after publishing
	step("hookrun status:")
	if err := sh(env, repo, hookrun, "status"); err != nil {
		return err
	}
	logs, _ := filepath.Glob(filepath.Join(repo, "hookrun", "logs", "*.log"))
	for _, l := range logs {
		unit := strings.TrimSuffix(filepath.Base(l), ".log")
		step("hookrun logs %s:", unit)
		if err := sh(env, repo, hookrun, "logs", unit); err != nil {
			return err
		}
	}
	step("done: the push started real units (%s runner) and their notifications arrived", runnerName)
	if keep {
		step("kept %s", dir)
	}
	return nil
}

func step(format string, args ...any) {
	fmt.Printf("\n==> "+format+"\n", args...)
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

func sh(env []string, dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return nil
}

func cleanEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "GIT_") && !strings.HasPrefix(kv, "HOOKRUN_") {
			out = append(out, kv)
		}
	}
	return out
}
