package forge

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/peertest"
)

type giteaStatus struct {
	State       string `json:"status"`
	TargetURL   string `json:"target_url"`
	Description string `json:"description"`
	Context     string `json:"context"`
}

// TestRealGitea posts pending and then each outcome to a commit of a real
// Gitea and reads them back through its API.
func TestRealGitea(t *testing.T) {
	g := peertest.NewGitea(t)
	sha, err := g.CreateRepo("demo")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tf := filepath.Join(dir, "token")
	os.WriteFile(tf, []byte(g.Token+"\n"), 0o600)
	tok, err := LoadToken(tf)
	if err != nil {
		t.Fatal(err)
	}
	owner, name, ok := RepoFromEnv(func(k string) string {
		return map[string]string{OwnerEnv: peertest.GiteaUser, NameEnv: "demo"}[k]
	})
	if !ok {
		t.Fatal("RepoFromEnv: not ok")
	}
	c := &Client{URL: g.URL, Token: tok, Owner: owner, Repo: name, Policy: outcome.Policy{Budget: 20 * time.Second}}
	ctx := context.Background()
	base := outcome.Record{Repo: "demo", Unit: "hookrun-demo-x.service", Ref: "refs/heads/main", New: sha, URL: "https://hookrun.example.com/demo/runs/x.html"}

	jobs := map[string]outcome.Kind{"build": outcome.Success, "test": outcome.Failure, "deploy": outcome.Cancelled, "remote": outcome.Lost}
	read := func() map[string]giteaStatus {
		// The combined status: the newest status per context.
		var combined struct {
			Statuses []giteaStatus `json:"statuses"`
		}
		if err := g.API("GET", "/api/v1/repos/"+owner+"/demo/commits/"+sha+"/status", nil, &combined); err != nil {
			t.Fatal(err)
		}
		latest := map[string]giteaStatus{}
		for _, s := range combined.Statuses {
			latest[s.Context] = s
		}
		if len(latest) != len(jobs) {
			t.Errorf("%d contexts on the commit, want %d: %+v", len(latest), len(jobs), combined.Statuses)
		}
		return latest
	}

	for job := range jobs {
		r := base
		r.Job = job
		if err := c.Started(ctx, r); err != nil {
			t.Fatalf("Started %s: %v", job, err)
		}
	}
	for job, s := range read() {
		if s.State != "pending" || s.Description != "running" {
			t.Errorf("%s after start: %+v", job, s)
		}
	}
	for job, k := range jobs {
		r := base
		r.Job, r.Kind, r.Duration = job, k, 83*time.Second
		if k != outcome.Success {
			r.Reason = "exit status 2"
		}
		if err := c.Deliver(ctx, r); err != nil {
			t.Fatalf("Deliver %s: %v", job, err)
		}
	}
	got := read()
	want := map[string]giteaStatus{
		"hookrun/build":  {"success", base.URL, "success in 1m 23s", "hookrun/build"},
		"hookrun/test":   {"failure", base.URL, "failure after 1m 23s: exit status 2", "hookrun/test"},
		"hookrun/deploy": {"warning", base.URL, "cancelled after 1m 23s: exit status 2", "hookrun/deploy"},
		"hookrun/remote": {"error", base.URL, "lost: exit status 2", "hookrun/remote"},
	}
	for ctxName, w := range want {
		if got[ctxName] != w {
			t.Errorf("%s: %+v, want %+v", ctxName, got[ctxName], w)
		}
	}

	// A wrong token is refused with a hint, never shown.
	bad := *c
	bad.Token = "0123456789abcdef0123456789abcdef01234567"
	r := base
	r.Job, r.Kind = "build", outcome.Success
	err = bad.Deliver(ctx, r)
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "check token_file") || strings.Contains(err.Error(), bad.Token) {
		t.Errorf("wrong token: %v", err)
	}
	// An unknown repository says what to check.
	bad = *c
	bad.Repo = "nope"
	if err := bad.Deliver(ctx, r); err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "check url and repo") {
		t.Errorf("unknown repo: %v", err)
	}
}

func TestPostChecks(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Errorf("request sent: %s", r.URL) }))
	defer srv.Close()
	r := outcome.Record{Kind: outcome.Success, Job: "b", Unit: "u", Ref: "refs/heads/x", New: strings.Repeat("0", 40)}
	c := &Client{URL: srv.URL, Owner: "a", Repo: "b"}
	if err := c.Deliver(context.Background(), r); !errors.Is(err, outcome.ErrSkipped) || !strings.Contains(err.Error(), "no commit") {
		t.Errorf("deleted ref: %v", err)
	}
	r.New = "abc"
	if err := c.Deliver(context.Background(), r); err == nil || !strings.Contains(err.Error(), "not a full commit id") {
		t.Errorf("short sha: %v", err)
	}
	c.Owner = ""
	r.New = strings.Repeat("a", 40)
	if err := c.Deliver(context.Background(), r); err == nil || !strings.Contains(err.Error(), "set repo = \"owner/name\"") {
		t.Errorf("no repo: %v", err)
	}
	if _, _, err := ParseRepo("ana"); err == nil {
		t.Error("ParseRepo(ana) accepted")
	}
	if o, n, err := ParseRepo("ana/site"); err != nil || o != "ana" || n != "site" {
		t.Errorf("ParseRepo = %q %q %v", o, n, err)
	}
	if err := CheckURL("https://tok@git.example.com"); err == nil {
		t.Error("credentials in url accepted")
	}
	long := outcome.Record{Kind: outcome.Failure, Job: "j", Reason: strings.Repeat("é", 200)}
	if d := StatusOf(long).Description; len(d) > maxDescription || !strings.HasSuffix(d, "...") {
		t.Errorf("description %d bytes: %q", len(d), d)
	}
}
