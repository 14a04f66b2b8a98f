// Command bench measures hookrun side by side with the hand-written bash +
// systemd-run hook it replaces and with a minimal reference program (the
// floor), against one private systemd user manager, and prints markdown
// tables for docs/PERFORMANCE.md.
//
//	go run ./bench            # the benchmark (a few minutes)
//	go run ./bench -quick     # fewer rounds (two to three minutes)
//	go run ./bench -u10000    # also the 10,000-unit start scenario (minutes more)
//	go run ./bench -stress    # 50 concurrent pushes and 50 hook runs in one second, vs bash;
//	                          # then hookrun's outcome scenarios against a real ntfy
//	go run ./bench -stress -only replace-systemd,signals-exec   # chosen stress scenarios
//
// It must run as root (the private manager needs a mount namespace), from the
// module root. It builds hookrun (as `make build` does) and bench/refstart,
// starts the manager with systemdtest.Launch and always stops it, also on
// error or SIGINT/SIGTERM.
//
// Every hook is run the way git runs post-receive: a fresh process with the
// ref lines on stdin, GIT_DIR=. and the bare repository as working
// directory. Variants alternate within each round (the starting variant
// rotates), the manager is idle (no git-* unit loaded) before every run, and
// the ratios are paired: per round, then the median of those.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"

	"github.com/hookrun/hookrun/internal/systemdtest"
)

var (
	quickFlag  = flag.Bool("quick", false, "fewer rounds per scenario")
	stressFlag = flag.Bool("stress", false, "run the stress test instead of the benchmark")
	roundsFlag = flag.Int("rounds", 0, "rounds per scenario (overrides the defaults, 0 = default)")
	onlyFlag   = flag.String("only", "", "run only these scenarios, comma-separated: 1x1, 1x3, slope (the further unit, paired), 100, 1000, paths1, paths1000, u1000, u10000 (start throughput), nomatch, push (the real git pushes); with -stress: bash (hookrun vs the bash hook) and the outcome scenarios (replace-systemd, queue-exec, coalesce-systemd, signals-exec, ntfy-stopped, ntfy-429, hook-killed, manager-killed, enospc, ...)")
	mdFlag     = flag.String("md", "", "also write the markdown report to this file")
	dirFlag    = flag.String("dir", "", "where the work directory (the repository, its clone, the binaries) goes (default: $TMPDIR or /tmp); /dev/shm, a tmpfs, leaves the disk out (the report names the file system)")
	holdFlag   = flag.Bool("hold", false, "set up the manager and repository, print their environment and wait for ^C (for profiling by hand)")
	u10000Flag = flag.Bool("u10000", false, "also run the 10,000-unit start scenario (u10000: one round is 10,000 units per variant, several minutes; never part of the default or -quick run)")
	manyLimit  = flag.Duration("many-limit", 15*time.Minute, "bound on one hook run of the many-unit scenarios (u1000, u10000): past it the run is stopped and the scenario fails, saying so")
)

func main() {
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{}
	var once sync.Once
	cleanup := func() { once.Do(b.cleanup) }
	go func() {
		<-ctx.Done()
		if ctx.Err() != nil && !b.finished() {
			logf("interrupted: stopping the manager")
			cleanup()
			os.Exit(130)
		}
	}()
	err := b.run(ctx)
	b.markFinished()
	cleanup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// bench is one run: the manager, the scratch directory and the binaries.
type bench struct {
	mu   sync.Mutex
	done bool

	m        *systemdtest.Manager
	work     string // scratch directory
	hookrun  string // the built hookrun binary
	hook     string // the built hookrun-hook beside it: what install makes post-receive run
	refstart string // the built reference program
	repo     string // the bare repository
	clone    string // a clone of it, for real pushes
	env      []string
	oldSHA   string
	newSHA   string
	report   bytes.Buffer
	stage    string // where setup made the repository and the clone, when not in work
	// createBefore and createAfter: creating a file beside the repository
	// before and after the runs (createCost); settled: how long settle
	// waited for the first.
	createBefore, createAfter, settled time.Duration
}

func (b *bench) finished() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.done }
func (b *bench) markFinished()  { b.mu.Lock(); b.done = true; b.mu.Unlock() }

func (b *bench) cleanup() {
	if b.m != nil {
		if err := b.m.Stop(); err != nil {
			logf("stopping the manager: %v", err)
		}
	}
	if b.work != "" {
		os.RemoveAll(b.work)
	}
	if b.stage != "" {
		os.RemoveAll(b.stage)
	}
}

func (b *bench) run(ctx context.Context) error {
	if os.Geteuid() != 0 {
		return errors.New("run as root: the benchmark starts a private systemd user manager")
	}
	if _, err := os.Stat("go.mod"); err != nil {
		return errors.New("run from the module root: go run ./bench")
	}
	var err error
	if b.work, err = os.MkdirTemp(*dirFlag, "hookrun-bench-"); err != nil {
		return err
	}
	logf("building hookrun, hookrun-hook and bench/refstart")
	b.hookrun = filepath.Join(b.work, "bin", "hookrun")
	b.hook = filepath.Join(b.work, "bin", "hookrun-hook")
	b.refstart = filepath.Join(b.work, "bin", "refstart")
	// Both static, as `make build` builds hookrun.
	static := append(os.Environ(), "CGO_ENABLED=0")
	if err := runCmd(ctx, "", static, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", b.hookrun, "./cmd/hookrun"); err != nil {
		return err
	}
	if err := runCmd(ctx, "", static, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", b.hook, "./cmd/hookrun-hook"); err != nil {
		return err
	}
	if err := runCmd(ctx, "", static, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", b.refstart, "./bench/refstart"); err != nil {
		return err
	}
	logf("starting a private systemd user manager")
	if b.m, err = systemdtest.Launch(); err != nil {
		return err
	}
	if !b.m.Private() {
		return errors.New("systemdtest.Launch returned the user's own manager; the benchmark needs a private one")
	}
	if err := b.setup(ctx); err != nil {
		return err
	}
	switch {
	case *holdFlag:
		return b.hold(ctx)
	case *stressFlag:
		err = b.stress(ctx)
	default:
		err = b.benchmark(ctx)
	}
	if err != nil {
		return err
	}
	os.Stdout.Write(b.report.Bytes())
	if *mdFlag != "" {
		return os.WriteFile(*mdFlag, b.report.Bytes(), 0o644)
	}
	return nil
}

// hold prints how to run hooks against the manager by hand and waits for
// a signal.
func (b *bench) hold(ctx context.Context) error {
	if err := b.writeConfig(hooksTOML(1, "ref", "main", `["/bin/true"]`)); err != nil {
		return err
	}
	fmt.Printf("cd %s\nexport %s XDG_RUNTIME_DIR=%s\nunset DBUS_SESSION_BUS_ADDRESS\n", b.repo, "GIT_DIR=.", b.m.RuntimeDir)
	fmt.Printf("echo '%s %s refs/heads/main' | hooks/post-receive    # hookrun (hooks.toml: 1 job on main)\n", b.oldSHA, b.newSHA)
	fmt.Printf("echo '%s %s refs/heads/main' | %s -jobs 1    # the reference\n", b.oldSHA, b.newSHA, b.refstart)
	fmt.Printf("# ^C to stop the manager and remove %s\n", b.work)
	<-ctx.Done()
	return nil
}

// dialManager opens a connection of the benchmark's own (idle checks,
// reload). It is closed again before any hook runs: systemd sends every
// unit and job signal to every client of its private socket, so a client
// left connected would add to the manager's work during the timed runs.
func dialManager(ctx context.Context, m *systemdtest.Manager) (*sd.Conn, error) {
	return sd.NewConnection(func() (*godbus.Conn, error) {
		c, err := godbus.Dial(m.Address, godbus.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		if err := c.Auth([]godbus.Auth{godbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	})
}

// notifyTemplate is the OnSuccess= target of the bash hook's units, as the
// old setup had one (its ntfy call replaced by /bin/true).
const notifyTemplate = `[Unit]
Description=notify about %i

[Service]
Type=oneshot
ExecStart=/bin/true
`

// setup writes the notify template into the manager's runtime unit
// directory, creates the bare repository with two commits and a clone, and
// the hooks' environment.
func (b *bench) setup(ctx context.Context) error {
	unitDir := filepath.Join(b.m.RuntimeDir, "systemd", "user")
	if err := os.MkdirAll(unitDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(unitDir, "git-notify@.service"), []byte(notifyTemplate), 0o644); err != nil {
		return err
	}
	conn, err := dialManager(ctx, b.m)
	if err != nil {
		return err
	}
	err = conn.ReloadContext(ctx)
	conn.Close()
	if err != nil {
		return fmt.Errorf("reload the manager: %w", err)
	}

	b.env = []string{"GIT_DIR=.", "XDG_RUNTIME_DIR=" + b.m.RuntimeDir}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GIT_") || strings.HasPrefix(k, "HOOKRUN_") ||
			k == "DBUS_SESSION_BUS_ADDRESS" || k == "XDG_RUNTIME_DIR" {
			continue
		}
		b.env = append(b.env, kv)
	}

	// git creates and removes files as it sets up, which on an ext4
	// without a journal slows the files created after it (see settle): the
	// repository is made on a tmpfs where there is one, and copied into
	// place; the clone stays there.
	stage := b.work
	if fsType("/dev/shm") == "tmpfs" && fsType(b.work) != "tmpfs" {
		var err error
		if b.stage, err = os.MkdirTemp("/dev/shm", "hookrun-bench-setup-"); err != nil {
			return err
		}
		stage = b.stage
	}
	b.repo = filepath.Join(b.work, "web.git")
	staged := filepath.Join(stage, "web.git")
	b.clone = filepath.Join(stage, "clone")
	git := func(dir string, args ...string) error {
		return runCmd(ctx, dir, b.gitEnv(), "git", append([]string{"-c", "user.name=bench", "-c", "user.email=bench@example.com"}, args...)...)
	}
	if err := git(stage, "init", "-q", "--bare", "-b", "main", staged); err != nil {
		return err
	}
	if err := git(stage, "clone", "-q", staged, b.clone); err != nil {
		return err
	}
	// The second commit changes docs/x.md, for the path filter scenarios.
	if err := os.MkdirAll(filepath.Join(b.clone, "docs"), 0o755); err != nil {
		return err
	}
	for _, msg := range []string{"one", "two"} {
		if msg == "two" {
			if err := os.WriteFile(filepath.Join(b.clone, "docs", "x.md"), []byte("x\n"), 0o644); err != nil {
				return err
			}
			if err := git(b.clone, "add", "docs/x.md"); err != nil {
				return err
			}
		}
		if err := git(b.clone, "commit", "-q", "--allow-empty", "-m", msg); err != nil {
			return err
		}
	}
	if err := git(b.clone, "push", "-q", "origin", "HEAD:main"); err != nil {
		return err
	}
	if staged != b.repo {
		if err := runCmd(ctx, "", nil, "cp", "-a", staged, b.repo); err != nil {
			return err
		}
		if err := git(b.clone, "remote", "set-url", "origin", b.repo); err != nil {
			return err
		}
	}
	for i, rev := range []string{"HEAD~1", "HEAD"} {
		out, err := exec.CommandContext(ctx, "git", "-C", b.clone, "rev-parse", rev).Output()
		if err != nil {
			return err
		}
		sha := strings.TrimSpace(string(out))
		if i == 0 {
			b.oldSHA = sha
		} else {
			b.newSHA = sha
		}
	}
	for _, d := range []string{"hooks", "bash", "empty"} {
		os.MkdirAll(filepath.Join(b.work, d), 0o755)
	}
	if err := os.WriteFile(filepath.Join(b.work, "empty", "post-receive"), []byte("#!/bin/sh\ncat >/dev/null\n"), 0o755); err != nil {
		return err
	}
	return b.installHook(b.hook, true)
}

// gitEnv is the environment for git commands: the hooks' minus GIT_DIR.
func (b *bench) gitEnv() []string {
	var env []string
	for _, kv := range b.env {
		if !strings.HasPrefix(kv, "GIT_DIR=") {
			env = append(env, kv)
		}
	}
	return env
}

// installHook makes repo/hooks/post-receive a symlink to target (link) or a
// copy of it.
func (b *bench) installHook(target string, link bool) error {
	p := filepath.Join(b.repo, "hooks", "post-receive")
	os.Remove(p)
	if link {
		return os.Symlink(target, p)
	}
	data, err := os.ReadFile(target)
	if err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o755)
}

// writeConfig writes the repository's hooks.toml (mode 600: hookrun refuses
// configs others can write).
// pathsConfig is the global config file of the hookrun+paths variant.
func (b *bench) pathsConfig() string { return filepath.Join(b.work, "paths.toml") }

// emptyConfig and moreJobsConfig are the global files of a slope
// scenario's one-job and all-jobs hookrun runs.
func (b *bench) emptyConfig() string    { return filepath.Join(b.work, "empty.toml") }
func (b *bench) moreJobsConfig() string { return filepath.Join(b.work, "more-jobs.toml") }

// writeSlopeConfigs writes a slope scenario's files: the repository's
// with its first job and rule, the global one with the others and theirs,
// and an empty global one.
func (b *bench) writeSlopeConfigs(sc scenario) error {
	if err := b.writeConfig(hooksTOML(1, sc.per, sc.branches, `["/bin/true"]`)); err != nil {
		return err
	}
	more := jobsTOML(1, sc.jobs-1, sc.per, sc.branches, `["/bin/true"]`)
	if err := os.WriteFile(b.moreJobsConfig(), []byte(more), 0o600); err != nil {
		return err
	}
	return os.WriteFile(b.emptyConfig(), []byte("version = 1\n"), 0o600)
}

func (b *bench) writeConfig(toml string) error {
	return os.WriteFile(filepath.Join(b.repo, "hooks.toml"), []byte(toml), 0o600)
}

// waitIdle waits until the manager has no git-* unit loaded at all (running,
// finishing or not yet garbage-collected), so that every run starts against
// the same state and the bash hook's one-second names are free again.
func (b *bench) waitIdle(ctx context.Context) error {
	conn, err := dialManager(ctx, b.m)
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline := time.Now().Add(10 * time.Minute) // 10,000 units take minutes to end
	// Each poll lists every loaded unit: with 10,000 queued, polls every
	// 5 ms had the manager at 83% of a CPU for the 9 minutes those units
	// took to end (05:36-05:46 Dec 7), much of it answering them. Back off
	// to 200 ms.
	wait := 5 * time.Millisecond
	for {
		units, err := conn.ListUnitsByPatternsContext(ctx, nil, []string{"git-*"})
		if err != nil {
			return fmt.Errorf("list units: %w", err)
		}
		if len(units) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the manager still has %d git-* units after 10 minutes (first: %s %s)", len(units), units[0].Name, units[0].ActiveState)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// runCmd runs a setup command, returning its output in the error.
func runCmd(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = env
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// hookRun is one timed run of a hook.
type hookRun struct {
	wall    time.Duration
	rssKB   int64
	exit    int
	stdout  string
	stderr  string
	started int // units the hook reported started
	failed  int // units the hook reported not started
}

// runHook runs the hook at path (args appended) as git would: stdin the ref
// lines, cwd the bare repository, GIT_DIR=. The wall time spans fork to
// reaping. rssKB is wait4's ru_maxrss, which for a child of this process
// is at least this process's own RSS (see runScenario); the report uses
// GNU time instead.
func (b *bench) runHook(ctx context.Context, path string, args []string, stdin []byte, prefix ...string) (hookRun, error) {
	argv := append(append(append([]string(nil), prefix...), path), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = b.repo
	cmd.Env = b.env
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	t0 := time.Now()
	err := cmd.Run()
	r := hookRun{wall: time.Since(t0), stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return r, err
	}
	if cmd.ProcessState != nil {
		r.exit = cmd.ProcessState.ExitCode()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.rssKB = ru.Maxrss
		}
	}
	r.started, r.failed = countStarts(r.stderr)
	return r, nil
}

// countStarts counts the units a hook's output says were started or not:
// hookrun's "started"/"not started" lines, systemd-run's "Running as unit"
// and "Failed to start" lines.
func countStarts(out string) (started, failed int) {
	for _, line := range strings.Split(out, "\n") {
		// A push of many units prints a summary: "hookrun: started N of M units (...)".
		var n, m int
		if _, err := fmt.Sscanf(line, "hookrun: started %d of %d units", &n, &m); err == nil {
			started += n
			failed += m - n
			continue
		}
		switch {
		case strings.HasPrefix(line, "hookrun: started "), strings.HasPrefix(line, "Running as unit: "):
			started++
		case strings.Contains(line, ": not started: "), strings.HasPrefix(line, "Failed to start transient"):
			failed++
		}
	}
	return started, failed
}

// writer helpers for the report.
func (b *bench) printf(format string, args ...any) { fmt.Fprintf(&b.report, format, args...) }
