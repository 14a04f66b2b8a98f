// Command demo shows hookrun's main job end to end on this machine: a push
// into a throwaway bare repository starts real units, whose output and ntfy
// notifications it then shows. It uses the user's systemd manager when one is
// reachable, else (as root) a private systemd user manager in its own mount
// namespace, else hookrun's exec runner, and says which. With a real gitmal
// (-gitmal, else HOOKRUN_TEST_GITMAL, else gitmal on PATH) the push also
// generates a real site, whose path it prints; with a real ntfy
// (HOOKRUN_TEST_NTFY, else ntfy on PATH) the notifications go to a real ntfy
// server started for the demo, else to a small stand-in receiver. It says
// which it used.
//
//	go run ./demo -hookrun bin/hookrun -gitmal ../shared/peers/gitmal     (what `make demo` does)
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
	"github.com/hookrun/hookrun/internal/peertest"
	"github.com/hookrun/hookrun/internal/runner"
	"github.com/hookrun/hookrun/internal/systemdtest"
)

func main() {
	hookrun := flag.String("hookrun", "bin/hookrun", "hookrun binary to demonstrate")
	keep := flag.Bool("keep", false, "keep the throwaway directory")
	gitmal := flag.String("gitmal", "", "gitmal binary for the site job (default: $HOOKRUN_TEST_GITMAL, else gitmal on PATH; none: no site job)")
	site := flag.String("site", "", "directory the site job generates into (default: in the throwaway directory)")
	flag.Parse()
	if err := run(*hookrun, *gitmal, *site, *keep); err != nil {
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
TOKEN_FILE

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
jobs = ["summary", "lint"SITE_JOB]
`

// siteJob is the gitmal job the demo adds when it has a real gitmal.
const siteJob = `
# The real gitmal: a static site of the repository, swapped in atomically.
[jobs.site]
type = "gitmal"
gitmal = "GITMAL"
theme = "dracula"
output = "SITE"
`

func run(hookrun, gitmal, site string, keep bool) error {
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

	recv, err := startReceiver(dir)
	if err != nil {
		return err
	}
	defer recv.stop()

	if gitmal == "" {
		gitmal, err = peertest.FindGitmal()
	} else if _, err = os.Stat(gitmal); err == nil {
		gitmal, err = filepath.Abs(gitmal)
	}
	if site == "" {
		site = filepath.Join(dir, "www", "demo")
	} else if site, err = filepath.Abs(site); err != nil {
		return err
	}
	if err != nil {
		step("no gitmal (%v): the push runs no site job; give one with -gitmal PATH or HOOKRUN_TEST_GITMAL", err)
		gitmal = ""
	} else {
		step("using the real gitmal at %s: the push also generates a site into %s", gitmal, site)
	}

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
	cfg, jobs := hooksTOML, 2
	if gitmal != "" {
		cfg = strings.Replace(cfg, "SITE_JOB", `, "site"`, 1) + strings.NewReplacer("GITMAL", gitmal, "SITE", site).Replace(siteJob)
		jobs++
	}
	tokenLine := ""
	if recv.tokenFile != "" {
		tokenLine = fmt.Sprintf("token_file = %q", recv.tokenFile)
	}
	cfg = strings.NewReplacer("RUNNER", runnerName, "NTFY", recv.url, "TOKEN_FILE", tokenLine, "SITE_JOB", "").Replace(cfg)
	if err := os.WriteFile(filepath.Join(repo, "hooks.toml"), []byte(cfg), 0o600); err != nil {
		return err
	}
	step("created a throwaway bare repository %s with this hooks.toml:\n\n%s", repo, indent(cfg))
	step("hookrun validate:")
	if err := sh(env, repo, hookrun, "validate"); err != nil {
		return err
	}
	// --no-timer: a throwaway repository needs no reconcile timer left
	// behind in the user's own systemd units.
	step("hookrun install --no-timer:")
	if err := sh(env, dir, hookrun, "install", "--no-timer", repo); err != nil {
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
	msgs, err := recv.wait(jobs, 2*time.Minute)
	if err != nil {
		return err
	}
	step("notifications %s got:", recv.name)
	for _, m := range msgs {
		fmt.Printf("    topic %s, priority %d\n    %s\n    %s\n\n", m.Topic, m.Priority, m.Title, strings.ReplaceAll(m.Message, "\n", "\n    "))
	}
	// Each unit records its notification's delivery right after ntfy
	// answers: wait for all of them before showing status.
	if err := waitDelivered(filepath.Join(repo, "hookrun", "history.jsonl"), jobs, time.Minute); err != nil {
		return err
	}
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
	if gitmal != "" {
		pages, _ := filepath.Glob(filepath.Join(site, "blob", "main", "*.html"))
		if _, err := os.Stat(filepath.Join(site, "index.html")); err != nil || len(pages) == 0 {
			return fmt.Errorf("the site job succeeded but %s has no index.html or file pages", site)
		}
		step("the real gitmal generated a site: %s/index.html (file pages: %s)", site, strings.Join(relAll(site, pages), ", "))
		if !keep && strings.HasPrefix(site, dir+string(filepath.Separator)) {
			step("it is removed with the throwaway directory: run with -keep or -site DIR to look at it afterwards")
		}
	}
	step("done: the push started real units (%s runner), gitmal: %s, notifications: %s", runnerName, orNone(gitmal), recv.name)
	if keep {
		step("kept %s", dir)
	} else {
		step("%s is removed now with the throwaway directory, and with it the runs the 'hookrun logs' and 'hookrun status' hints above name: run with -keep to look at them afterwards", repo)
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

// receiver is where the demo's notifications go: a real ntfy server when
// one is found, else the stand-in receiver.
type receiver struct {
	name, url, tokenFile string
	wait                 func(n int, timeout time.Duration) ([]message, error)
	stop                 func()
}

type message struct {
	Topic, Title, Message string
	Priority              int
}

func startReceiver(dir string) (*receiver, error) {
	bin, err := peertest.FindNtfy()
	if err != nil {
		fake := ntfytest.New()
		step("no ntfy (%v): notifications go to a stand-in receiver at %s", err, fake.URL)
		return &receiver{
			name: "the stand-in receiver", url: fake.URL, stop: fake.Close,
			wait: func(n int, timeout time.Duration) ([]message, error) {
				var out []message
				for _, m := range fake.WaitFor(n, timeout) {
					out = append(out, message{m.Topic, m.Title, m.Message, m.Priority})
				}
				if len(out) < n {
					return out, fmt.Errorf("got %d of %d notifications within %v", len(out), n, timeout)
				}
				return out, nil
			},
		}, nil
	}
	s, err := peertest.StartNtfy(bin, peertest.NtfyOptions{})
	if err != nil {
		return nil, err
	}
	tokenFile := filepath.Join(dir, "ntfy.token")
	if err := os.WriteFile(tokenFile, []byte(s.Token+"\n"), 0o600); err != nil {
		s.Stop()
		return nil, err
	}
	step("a real ntfy server (%s, pid %d) listens at %s: deny-all, hookrun's token in %s", bin, s.PID, s.URL, tokenFile)
	return &receiver{
		name: "the real ntfy server", url: s.URL, tokenFile: tokenFile,
		stop: func() { s.Stop() },
		wait: func(n int, timeout time.Duration) ([]message, error) {
			ms, err := s.WaitFor("demo-builds", n, timeout)
			var out []message
			for _, m := range ms {
				out = append(out, message{m.Topic, m.Title, m.Message, m.Priority})
			}
			return out, err
		},
	}, nil
}

// waitDelivered waits until the history at path has n records whose
// notification was delivered.
func waitDelivered(path string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		b, _ := os.ReadFile(path)
		got := strings.Count(string(b), `"ntfy":{"output":"ntfy","state":"delivered"}`)
		if got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d notifications recorded as delivered in %s after %v", got, n, path, timeout)
		}
		time.Sleep(100 * time.Millisecond) // polling the file, not ordering
	}
}

func relAll(base string, paths []string) []string {
	var out []string
	for _, p := range paths {
		if r, err := filepath.Rel(base, p); err == nil {
			out = append(out, r)
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
