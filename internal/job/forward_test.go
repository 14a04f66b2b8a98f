package job

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/sshtest"
	"github.com/hookrun/hookrun/internal/waittest"
)

// sshServer is a real sshd on 127.0.0.1 accepting one throwaway key.
type sshServer struct {
	host string   // user@127.0.0.1
	opts []string // ssh options reaching it with the throwaway key
}

// startSSHD starts a real sshd (sshtest) that lets the current user in;
// the key's directory name needs quoting in GIT_SSH_COMMAND.
func startSSHD(t *testing.T) *sshServer {
	t.Helper()
	srv := sshtest.Start(t)
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Authorize(me.Username); err != nil {
		t.Fatal(err)
	}
	return &sshServer{host: srv.Dest(me.Username), opts: srv.Options()}
}

// forwardUnit is a unit with one forward-build step from src to path.
func forwardUnit(src *sourceRepo, srv *sshServer, path, rev string, command ...string) *plan.Unit {
	return &plan.Unit{
		Version: plan.Version, Name: "git-build-repo.service", Job: "build", Type: plan.TypeForwardBuild,
		Repo: "repo", RepoPath: src.bare, Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"},
		Steps: []plan.Step{{
			Name: "build", Type: plan.TypeForwardBuild, Host: srv.host, Path: path, Rev: rev,
			Command: command, SSHOptions: srv.opts,
		}},
	}
}

func TestForwardBuild(t *testing.T) {
	srv := startSSHD(t)
	t.Setenv("GIT_DIR", ".") // as in a hook: must not reach git push
	src := newSourceRepo(t)
	first := src.commit(t, "first", map[string]string{"file.txt": "first\n"})
	second := src.commit(t, "second", map[string]string{"file.txt": "second\n"})

	tmp := t.TempDir()
	marker := filepath.Join(tmp, "pwned")
	// The remote path itself is hostile, and does not exist yet.
	remote := filepath.Join(tmp, "builds", "it's $(touch "+marker+") `x` ; dir")
	show := []string{"sh", "-c", `printf '%s %s\n' "$(git rev-parse HEAD)" "$(cat file.txt)"`}

	build := func(t *testing.T, rev string, command ...string) (string, error) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		err := Run(context.Background(), forwardUnit(src, srv, remote, rev, command...), &stdout, &stderr)
		if err != nil {
			t.Logf("stderr:\n%s", stderr.String())
		}
		return stdout.String(), err
	}

	t.Run("exact revision", func(t *testing.T) {
		// The source's main is already at second; building first must
		// build first, not what a git pull would find.
		out, err := build(t, first, show...)
		if err != nil {
			t.Fatal(err)
		}
		if want := first + " first\n"; out != want {
			t.Errorf("remote built %q, want %q", out, want)
		}
		out, err = build(t, "main", show...)
		if err != nil {
			t.Fatal(err)
		}
		if want := second + " second\n"; out != want {
			t.Errorf("remote built %q, want %q", out, want)
		}
		third := src.commit(t, "third", map[string]string{"file.txt": "third\n"})
		out, err = build(t, second, show...) // an older push, built after a newer one
		if err != nil {
			t.Fatal(err)
		}
		if want := second + " second\n"; out != want {
			t.Errorf("remote built %q, want %q", out, want)
		}
		if got := git(t, remote, "rev-parse", BuildRef); got != second {
			t.Errorf("remote %s = %s, want %s", BuildRef, got, second)
		}
		if third == second {
			t.Fatal("no new commit")
		}
	})

	t.Run("hostile arguments", func(t *testing.T) {
		args := hostile(marker)
		out, err := build(t, first, append([]string{"printf", `%s\0`}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Split(out, "\x00")
		if got = got[:len(got)-1]; !slices.Equal(got, args) {
			t.Errorf("the remote command got\n%q\nwant\n%q", got, args)
		}
	})

	t.Run("exit status", func(t *testing.T) {
		_, err := build(t, first, "sh", "-c", "exit 7")
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != 7 || ee.Step != "build" {
			t.Fatalf("Run = %v, want *ExitError{Step: build, Code: 7}", err)
		}
	})

	t.Run("unknown revision", func(t *testing.T) {
		_, err := build(t, "no-such-branch", "true")
		if err == nil || !strings.Contains(err.Error(), "revision no-such-branch is not a commit in "+src.bare) {
			t.Fatalf("Run = %v, want an unknown revision error", err)
		}
	})

	t.Run("unreachable host", func(t *testing.T) {
		u := forwardUnit(src, srv, remote, first, "true")
		u.Steps[0].SSHOptions = append(slices.Clone(srv.opts), "-o", "ConnectTimeout=5")
		u.Steps[0].SSHOptions[3] = "1" // -p 1: nothing listens there
		err := Run(context.Background(), u, &bytes.Buffer{}, &bytes.Buffer{})
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != 255 || !strings.Contains(err.Error(), "preparing "+srv.host+":") {
			t.Fatalf("Run = %v, want ssh's status 255 while preparing", err)
		}
	})

	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a hostile value was run by a shell")
	}
}

func TestForwardBuildRejects(t *testing.T) {
	src := newSourceRepo(t)
	rev := src.commit(t, "first", map[string]string{"f": "x"})
	tmp := t.TempDir()
	marker := filepath.Join(tmp, "pwned")
	srv := &sshServer{host: "user@example.invalid"}
	for _, tc := range []struct {
		name string
		edit func(s *plan.Step)
		msg  string
	}{
		{"option host", func(s *plan.Step) { s.Host = "-oProxyCommand=touch " + marker }, "starts with '-'"},
		{"spaced host", func(s *plan.Step) { s.Host = "a b" }, "white space"},
		{"host with colon", func(s *plan.Step) { s.Host = "host:22" }, "contains '/' or ':'"},
		{"no host", func(s *plan.Step) { s.Host = "" }, "no host"},
		{"no path", func(s *plan.Step) { s.Path = "" }, "no remote path"},
		{"option path", func(s *plan.Step) { s.Path = "--upload-pack=touch " + marker }, "starts with '-'"},
		{"option rev", func(s *plan.Step) { s.Rev = "--output=" + marker }, "is not a revision"},
		{"no rev", func(s *plan.Step) { s.Rev = "" }, "no revision"},
		{"NUL", func(s *plan.Step) { s.Command = []string{"a\x00b"} }, "NUL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := forwardUnit(src, srv, "/srv/build", rev, "true")
			tc.edit(&u.Steps[0])
			err := Run(context.Background(), u, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Run = %v, want an error saying %q", err, tc.msg)
			}
		})
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a rejected value was acted on")
	}

	t.Run("no ssh", func(t *testing.T) {
		gitPath, err := exec.LookPath("git")
		if err != nil {
			t.Skip("no git")
		}
		bin := t.TempDir()
		if err := os.Symlink(gitPath, filepath.Join(bin, "git")); err != nil {
			t.Fatal(err)
		}
		u := forwardUnit(src, srv, "/srv/build", rev, "true")
		u.Env = []string{"PATH=" + bin}
		err = Run(context.Background(), u, &bytes.Buffer{}, &bytes.Buffer{})
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != ExitNotFound ||
			!strings.Contains(err.Error(), "ssh: command not found in PATH: install an OpenSSH client") {
			t.Fatalf("Run = %v, want ssh not found with a hint", err)
		}
	})
}

// TestForwardBuildsNeverOverlap: two builds into the same host:path started
// together run one after the other (they used to check out over each
// other), and each builds its own commit. Real sshd, real git.
func TestForwardBuildsNeverOverlap(t *testing.T) {
	srv := startSSHD(t)
	src := newSourceRepo(t)
	first := src.commit(t, "first", map[string]string{"file.txt": "first\n"})
	second := src.commit(t, "second", map[string]string{"file.txt": "second\n"})
	tmp := t.TempDir()
	remote := filepath.Join(tmp, "build")
	log := filepath.Join(tmp, "log")
	release := filepath.Join(tmp, "release")
	// Each build notes its start and end, with the commit its tree has
	// at both: an overlap shows as two starts in a row or a tree that
	// changed under a build. A build runs until the test releases it,
	// once the other one has said it waits: however fast or slow the
	// machine, the second build finds the first still building.
	cmd := []string{"sh", "-c", `echo "start $(git rev-parse HEAD)" >> "$1"; while [ ! -e "$2" ]; do sleep 0.05; done; echo "end $(git rev-parse HEAD) $(cat file.txt)" >> "$1"`, "sh", log, release}
	rt := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	outs := []*syncBuffer{{}, {}}
	for i, rev := range []string{first, second} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := forwardUnit(src, srv, remote, rev, cmd...)
			u.Name = fmt.Sprintf("git-build-repo-%d.service", i)
			u.Env = append(u.Env, "XDG_RUNTIME_DIR="+rt)
			errs[i] = Run(context.Background(), u, io.Discard, outs[i])
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	waitLine := "hookrun: forward-build: waiting for git-build-repo-"
	said := func() bool {
		return strings.Contains(outs[0].String(), waitLine) || strings.Contains(outs[1].String(), waitLine)
	}
	// However the wait ends, the builds are let go before sshd stops.
	t.Cleanup(func() { os.WriteFile(release, nil, 0o644); <-finished })
	waittest.Until(t, 60*time.Second, "one build to say it waits for the other", func() (bool, string) {
		select {
		case <-finished:
			return true, "" // both ended without a wait: reported below
		default:
		}
		return said(), fmt.Sprintf("outputs %q and %q", outs[0].String(), outs[1].String())
	})
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	<-finished
	for i, err := range errs {
		if err != nil {
			t.Fatalf("build %d: %v\n%s", i, err, outs[i].String())
		}
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 4 {
		t.Fatalf("log:\n%s\nwant two start/end pairs", data)
	}
	for i := 0; i < 4; i += 2 {
		s, e := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if s[0] != "start" || e[0] != "end" || s[1] != e[1] {
			t.Errorf("builds overlapped or the tree changed under one:\n%s", data)
		}
		want := map[string]string{first: "first", second: "second"}[s[1]]
		if want == "" || e[2] != want {
			t.Errorf("a build saw %q for commit %s:\n%s", e[2], s[1], data)
		}
	}
	waited := outs[0].String() + outs[1].String()
	if !strings.Contains(waited, waitLine) || !strings.Contains(waited, ", which builds in "+srv.host+":"+remote) {
		t.Errorf("neither build said it waited:\n%s", waited)
	}
}
