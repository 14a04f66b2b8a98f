package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/hosttest"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/remote"
	"github.com/hookrun/hookrun/internal/systemdtest"
)

// remoteBench is a git server (a bare repository whose post-receive is a
// built hookrun, a private user manager) and a second host, reached through
// a ControlMaster.
type remoteBench struct {
	host   *hosttest.Host
	clone  string
	env    []string
	cmOpts []string
}

func newRemoteBench(b *testing.B, config string) *remoteBench {
	b.Helper()
	h := hosttest.Start(b)
	m := systemdtest.Start(b)
	dir, err := os.MkdirTemp("", "hookrun-remote-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(dir, "hookrun")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	// A warm ControlMaster, as docs/remote-hosts.md recommends.
	cm := []string{"-o", "ControlMaster=auto", "-o", "ControlPath=" + filepath.Join(dir, "cm-%C"), "-o", "ControlPersist=120"}
	opts := append(slices.Clone(h.Options()), cm...)
	var q []string
	for _, o := range opts {
		q = append(q, strconv.Quote(o))
	}
	global := filepath.Join(dir, "global.toml")
	if err := os.WriteFile(global, []byte(fmt.Sprintf("version = 1\n[hosts.builder]\nssh = %q\nssh_options = [%s]\nruntime_dir = %q\nhookrun = %q\n",
		h.Dest, strings.Join(q, ", "), h.RuntimeDir, bin)), 0o644); err != nil {
		b.Fatal(err)
	}
	rb := &remoteBench{host: h, clone: filepath.Join(dir, "clone"), cmOpts: opts}
	rb.env = append(os.Environ(), "HOOKRUN_CONFIG="+global, "XDG_RUNTIME_DIR="+m.RuntimeDir, "DBUS_SESSION_BUS_ADDRESS=",
		"HOME="+dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@x", "GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@x")
	repo := filepath.Join(dir, "web.git")
	rb.run(b, dir, "git", "init", "-q", "--bare", "-b", "main", repo)
	rb.run(b, dir, bin, "install", repo)
	if err := os.WriteFile(filepath.Join(repo, "hooks.toml"), []byte(config), 0o600); err != nil {
		b.Fatal(err)
	}
	rb.run(b, dir, "git", "clone", "-q", repo, rb.clone)
	rb.run(b, rb.clone, "git", "commit", "-q", "--allow-empty", "-m", "0")
	// Warm the master (and the mirror) with a push of each kind.
	rb.run(b, dir, "ssh", append(append(slices.Clone(opts), "--", h.Dest), "true")...)
	return rb
}

func (rb *remoteBench) run(b *testing.B, dir, name string, args ...string) string {
	b.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, rb.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errb.String())
	}
	return out.String() + errb.String()
}

// push commits and pushes to branch and returns how long `git push` took
// (the hook included: git waits for post-receive).
func (rb *remoteBench) push(b *testing.B, branch string) time.Duration {
	b.Helper()
	rb.run(b, rb.clone, "git", "commit", "-q", "--allow-empty", "-m", branch)
	start := time.Now()
	out := rb.run(b, rb.clone, "git", "push", "-q", "origin", "HEAD:"+branch)
	d := time.Since(start)
	if !strings.Contains(out, "hookrun: started") || strings.Contains(out, "error") {
		b.Fatalf("push to %s:\n%s", branch, out)
	}
	return d
}

// BenchmarkPushRemoteUnit compares a push starting one unit on the second
// host (through a warm ControlMaster) with the same push starting one local
// unit, alternating, and reports the median of the paired ratios.
// docs/PERFORMANCE.md has a run; the target is remote/local <= 3.
func BenchmarkPushRemoteUnit(b *testing.B) {
	rb := newRemoteBench(b, `version = 1
[jobs.here]
type = "command"
command = ["true"]
[jobs.there]
type = "command"
host = "builder"
command = ["true"]
[[rules]]
branches = ["local"]
jobs = ["here"]
[[rules]]
branches = ["remote"]
jobs = ["there"]
`)
	rb.push(b, "local")
	rb.push(b, "remote")
	var locals, remotes []time.Duration
	var ratios []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var l, r time.Duration
		if i%2 == 0 {
			l, r = rb.push(b, "local"), rb.push(b, "remote")
		} else {
			r, l = rb.push(b, "remote"), rb.push(b, "local")
		}
		locals, remotes = append(locals, l), append(remotes, r)
		ratios = append(ratios, float64(r)/float64(l))
	}
	b.StopTimer()
	slices.Sort(locals)
	slices.Sort(remotes)
	slices.Sort(ratios)
	b.ReportMetric(float64(locals[len(locals)/2])/1e6, "local-ms")
	b.ReportMetric(float64(remotes[len(remotes)/2])/1e6, "remote-ms")
	b.ReportMetric(ratios[len(ratios)/2], "remote/local")
}

// BenchmarkStartRemote100 starts 100 units of one push on the second host
// through remote.Start, as a push does, and reports how many bridges
// (ssh connections to the host's manager) that took: one.
func BenchmarkStartRemote100(b *testing.B) {
	rb := newRemoteBench(b, "version = 1\n")
	h := rb.host
	repo := filepath.Join(filepath.Dir(rb.clone), "web.git")
	head := strings.TrimSpace(rb.run(b, rb.clone, "git", "rev-parse", "HEAD"))
	rb.run(b, rb.clone, "git", "push", "-q", "origin", "HEAD:main")
	ph := &plan.Host{Name: "builder", SSH: h.Dest, SSHOptions: rb.cmOpts, RuntimeDir: h.RuntimeDir, Hookrun: "/bin/true"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		units := make([]*plan.Unit, 100)
		for k := range units {
			hc := *ph
			units[k] = &plan.Unit{Version: plan.Version, Name: fmt.Sprintf("git-many-web-%d-%03d.service", i, k), Job: "many", Type: "command",
				Repo: "web", RepoPath: repo, Created: time.Now(), Runner: "systemd", Manager: "user", Concurrency: "parallel",
				Refs:  []plan.Ref{{Ref: "refs/heads/main", Old: strings.Repeat("0", 40), New: head, Event: "create"}},
				Steps: []plan.Step{{Name: "many", Type: "command", Argv: []string{"true"}}}, Host: &hc}
		}
		before := remote.BridgesOpened()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		errs := remote.Start(ctx, units, time.Now())
		cancel()
		for k, err := range errs {
			if err != nil {
				b.Fatalf("unit %d: %v", k, err)
			}
		}
		if n := remote.BridgesOpened() - before; n != 1 {
			b.Fatalf("100 units opened %d bridges, want 1", n)
		}
		b.ReportMetric(1, "bridges/push")
	}
}
