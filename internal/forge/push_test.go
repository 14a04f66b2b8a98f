package forge

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/peertest"
)

// TestGiteaPushHookEnv pushes over HTTP through a real Gitea, whose own
// post-receive runs the scripts in the repository's post-receive.d/ (where
// `hookrun install` puts hookrun) with its GITEA_* variables. A script
// there records its environment and stdin; RepoFromEnv reads the
// repository from that environment and the status lands on the pushed
// commit. (hookrun itself reads the environment once the forge output is
// wired into the hook; this checks what Gitea hands a hook.)
func TestGiteaPushHookEnv(t *testing.T) {
	g := peertest.NewGitea(t)
	if _, err := g.CreateRepo("pushed"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	envFile, stdinFile := filepath.Join(dir, "env"), filepath.Join(dir, "stdin")
	hookDir := filepath.Join(g.Dir, "repos", peertest.GiteaUser, "pushed.git", "hooks", "post-receive.d")
	if err := os.MkdirAll(hookDir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nenv > '" + envFile + "'\ncat > '" + stdinFile + "'\n"
	if err := os.WriteFile(filepath.Join(hookDir, "record"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}

	git := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "git", append([]string{"-c", "user.name=Ana", "-c", "user.email=ana@example.com", "-c", "init.defaultBranch=main"}, args...)...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0"}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	remote := strings.Replace(g.URL, "http://", "http://"+peertest.GiteaUser+":"+peertest.GiteaPassword+"@", 1) + "/" + peertest.GiteaUser + "/pushed.git"
	git("clone", "-q", remote, "work")
	os.WriteFile(filepath.Join(dir, "work", "new.txt"), []byte("hello\n"), 0o644)
	git("-C", "work", "add", "new.txt")
	git("-C", "work", "commit", "-q", "-m", "add new.txt")
	sha := git("-C", "work", "rev-parse", "HEAD")
	git("-C", "work", "push", "-q", "origin", "main")

	// The hook ran before the push returned.
	env := map[string]string{}
	data, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatalf("the post-receive.d script did not run: %v", err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	owner, name, ok := RepoFromEnv(func(k string) string { return env[k] })
	if !ok || owner != peertest.GiteaUser || name != "pushed" {
		t.Fatalf("RepoFromEnv = %q, %q, %v; GITEA_* of the hook: %v", owner, name, ok, giteaVars(env))
	}
	if env["GITEA_PUSHER_NAME"] != peertest.GiteaUser {
		t.Errorf("GITEA_PUSHER_NAME = %q", env["GITEA_PUSHER_NAME"])
	}
	stdin, _ := os.ReadFile(stdinFile)
	if f := strings.Fields(string(stdin)); len(f) != 3 || f[1] != sha || f[2] != "refs/heads/main" {
		t.Fatalf("post-receive stdin %q, want OLD %s refs/heads/main", stdin, sha)
	}

	tf := filepath.Join(dir, "token")
	os.WriteFile(tf, []byte(g.Token), 0o600)
	tok, err := LoadToken(tf)
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{URL: g.URL, Token: tok, Owner: owner, Repo: name}
	r := outcome.Record{Kind: outcome.Success, Duration: 3 * time.Second, Repo: "pushed", Job: "build", Unit: "u", Ref: "refs/heads/main", New: sha, Pusher: env["GITEA_PUSHER_NAME"]}
	if err := c.Deliver(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	var combined struct {
		State    string `json:"state"`
		Statuses []struct {
			Context string `json:"context"`
			Status  string `json:"status"`
		} `json:"statuses"`
	}
	if err := g.API("GET", "/api/v1/repos/"+owner+"/"+name+"/commits/"+sha+"/status", nil, &combined); err != nil {
		t.Fatal(err)
	}
	if combined.State != "success" || len(combined.Statuses) != 1 || combined.Statuses[0].Context != "hookrun/build" {
		t.Errorf("the pushed commit's status: %+v", combined)
	}
}

func giteaVars(env map[string]string) []string {
	var vs []string
	for k, v := range env {
		if strings.HasPrefix(k, "GITEA_") {
			vs = append(vs, k+"="+v)
		}
	}
	return vs
}
