package peertest

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFind(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "gitmal")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	t.Chdir(dir) // no checkout, so no ../shared/peers
	t.Setenv("PATH", dir)
	t.Setenv(GitmalEnv, "")
	if p, err := FindGitmal(); err != nil || p != exe {
		t.Errorf("FindGitmal from PATH = %q, %v; want %q", p, err, exe)
	}
	t.Setenv(NtfyEnv, "")
	if _, err := FindNtfy(); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), NtfyEnv) {
		t.Errorf("FindNtfy with none = %v, want ErrNotFound naming %s", err, NtfyEnv)
	}
	t.Setenv(GitmalEnv, plain)
	if _, err := FindGitmal(); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "not an executable") {
		t.Errorf("FindGitmal(non-executable) = %v, want ErrNotFound", err)
	}
	t.Setenv(GitmalEnv, filepath.Join(dir, "nope"))
	if _, err := FindGitmal(); !errors.Is(err, ErrNotFound) {
		t.Errorf("FindGitmal(missing file) = %v, want ErrNotFound (the variable wins over PATH)", err)
	}
}

// Peers are found where `make demo` finds them: ../shared/peers beside the
// checkout, from any package directory, before PATH.
func TestFindBesideCheckout(t *testing.T) {
	root := t.TempDir()
	checkout, peers := filepath.Join(root, "hr"), filepath.Join(root, "shared", "peers")
	for _, d := range []string{filepath.Join(checkout, "internal", "x"), peers} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(checkout, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(peers, "ntfy")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	onPath := t.TempDir()
	if err := os.WriteFile(filepath.Join(onPath, "ntfy"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", onPath)
	t.Setenv(NtfyEnv, "")
	t.Setenv(GitmalEnv, "")
	t.Chdir(filepath.Join(checkout, "internal", "x"))
	if p, err := FindNtfy(); err != nil || p != exe {
		t.Errorf("FindNtfy = %q, %v; want %q (beside the checkout, before PATH)", p, err, exe)
	}
	if _, err := FindGitmal(); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "../shared/peers") {
		t.Errorf("FindGitmal with none = %v, want ErrNotFound naming ../shared/peers", err)
	}
}

// TestMissingPeer runs this test binary again without peers: the test
// skips with one line, or fails under HOOKRUN_REQUIRE_PEERS=1.
func TestMissingPeer(t *testing.T) {
	if os.Getenv("PEERTEST_CHILD") == "1" {
		Gitmal(t)
		t.Fatal("Gitmal returned without a gitmal")
	}
	for _, tc := range []struct {
		require string
		want    string
	}{
		{"", "--- SKIP: TestMissingPeer"},
		{"1", "--- FAIL: TestMissingPeer"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingPeer$", "-test.v")
		cmd.Env = []string{"PEERTEST_CHILD=1", "PATH=" + t.TempDir(), RequireEnv + "=" + tc.require}
		cmd.Dir = t.TempDir() // outside the checkout: no ../shared/peers
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), tc.want) || !strings.Contains(string(out), GitmalEnv+" is not set, and there is no gitmal in ../shared/peers") {
			t.Errorf("%s=%q: want %q with the reason, got:\n%s", RequireEnv, tc.require, tc.want, out)
		}
	}
}

func publish(t *testing.T, s *Ntfy, token, topic, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/"+topic, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestNtfy(t *testing.T) {
	s := NewNtfy(t, NtfyOptions{})
	if !strings.HasPrefix(s.Token, "tk_") || s.PID == 0 {
		t.Fatalf("server %+v: want a tk_ token and a PID", s)
	}
	if got := publish(t, s, s.Token, "t1", "hello 🚀"); got != 200 {
		t.Fatalf("publish with the admin token: %d", got)
	}
	ms, err := s.WaitFor("t1", 1, 20*time.Second)
	if err != nil || len(ms) != 1 || ms[0].Message != "hello 🚀" {
		t.Fatalf("WaitFor = %+v, %v", ms, err)
	}

	// deny-all: no token 403, a wrong one 401, a user without access 403.
	bob, err := s.AddUser("bob", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		token string
		want  int
	}{{"", 403}, {"tk_wrongwrongwrongwrongwrongwr", 401}, {bob, 403}} {
		if got := publish(t, s, tc.token, "t1", "x"); got != tc.want {
			t.Errorf("publish with token %q: %d, want %d", tc.token, got, tc.want)
		}
	}
	if err := s.Grant("bob", "t2", "read-write"); err != nil {
		t.Fatal(err)
	}
	if got := publish(t, s, bob, "t2", "granted"); got != 200 {
		t.Errorf("publish after Grant: %d", got)
	}

	// Paused, it accepts but never answers; resumed, it answers again.
	if err := s.Pause(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/v1/health", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("a paused server answered %s", resp.Status)
	}
	cancel()
	if err := s.Resume(); err != nil {
		t.Fatal(err)
	}
	if ms, err := s.WaitFor("t1", 1, 20*time.Second); err != nil || len(ms) != 1 {
		t.Errorf("after Resume: %+v, %v", ms, err)
	}

	// Stop ends the process and removes its directory, also when paused.
	s.Pause()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(s.PID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("ntfy pid %d still exists after Stop (kill 0: %v)", s.PID, err)
	}
	if _, err := os.Stat(s.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s remains after Stop", s.Dir)
	}
}

func TestNtfyRateLimit(t *testing.T) {
	s := NewNtfy(t, NtfyOptions{RequestBurst: 2, RequestReplenish: time.Hour})
	var got []int
	for range 4 {
		got = append(got, publish(t, s, s.Token, "t", "m"))
	}
	if got[0] != 200 || got[3] != 429 {
		t.Errorf("statuses %v: want the first accepted and the last 429 with a burst of 2", got)
	}
	// The reader is exempt: polling works however often it runs.
	for range 5 {
		if _, err := s.Poll("t"); err != nil {
			t.Fatal(err)
		}
	}
}
