package sshtest_test

import (
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/hosttest"
	"github.com/hookrun/hookrun/internal/waittest"
)

// TestStopEndsEverySession: clients connecting while Stop runs all lose
// their connection — none is left with a session that outlived the listener
// (which once kept a watcher following a host that was meant to be gone).
func TestStopEndsEverySession(t *testing.T) {
	// As a test account (/bin/sh), not root: killing root's sessions
	// mid-login can leave its shell start-up's locks behind (a stale
	// ~/.pyenv/shims/.pyenv-shim once made every root ssh wait 60 s).
	h := hosttest.Start(t)
	s, dest := h.SSH, h.Dest
	run := func() *exec.Cmd {
		args := append(append(s.Options(), "-o", "BatchMode=yes", "--", dest), "exec sleep 300")
		return exec.Command("ssh", args...)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				cmd := run()
				if cmd.Start() != nil {
					return
				}
				cmd.Wait()
			}
		}()
	}
	// Stop once sessions run, while more are connecting.
	waittest.Until(t, 60*time.Second, "4 ssh sessions to start", func() (bool, string) {
		log := s.Log()
		return strings.Count(log, "Starting session") >= 4, "sshd's log:\n" + log
	})
	s.Stop()
	close(stop)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("ssh clients still connected 60 s after Stop: a session outlived sshd")
	}
}
