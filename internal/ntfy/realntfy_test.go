package ntfy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/peertest"
)

// Tests against the real ntfy server (../shared/peers/ntfy, found through
// HOOKRUN_TEST_NTFY): its rate limiter and a stopped server behave as ntfy
// does, which no imitation can promise.

func realMessage(topic, title string) notify.Message {
	return notify.Message{Topic: topic, Title: title, Message: "from hookrun's tests", Priority: notify.PriorityDefault, Tags: []string{"hookrun"}}
}

// TestRealNtfyRateLimitLosesNothing: with a burst of 1 and one request back
// per second, three notifications in a row each arrive exactly once: the
// 429s are retried (ntfy sends no Retry-After) within the budget.
func TestRealNtfyRateLimitLosesNothing(t *testing.T) {
	s := peertest.NewNtfy(t, peertest.NtfyOptions{RequestBurst: 1, RequestReplenish: time.Second})
	var log syncBuffer
	c := &Client{Server: s.URL, Token: s.Token, RetryBudget: 30 * time.Second, Backoff: []time.Duration{200 * time.Millisecond, 500 * time.Millisecond}, Log: &log}
	for i := range 3 {
		if err := c.Publish(context.Background(), realMessage("limited", fmt.Sprintf("n%d", i))); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	ms, err := s.WaitFor("limited", 3, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, m := range ms {
		titles = append(titles, m.Title)
	}
	if got := strings.Join(titles, ","); got != "n0,n1,n2" {
		t.Errorf("stored %q, want n0,n1,n2 each once", got)
	}
	if !strings.Contains(log.String(), "ntfy answered 429 Too Many Requests: limit reached: too many requests") {
		t.Errorf("no 429 was retried, so the test did not test the limit; log:\n%s", log.String())
	}
	assertNoToken(t, "log", log.String())
}

// TestRealNtfyStoppedServerGetsOneCopy: a server stopped with SIGSTOP takes
// the connection and the request and never answers. The request may be
// delivered when the server continues, so Publish sends it once, reports
// ErrMaybeDelivered, and after SIGCONT the topic holds at most one copy.
func TestRealNtfyStoppedServerGetsOneCopy(t *testing.T) {
	s := peertest.NewNtfy(t, peertest.NtfyOptions{})
	if err := s.Pause(); err != nil {
		t.Fatal(err)
	}
	c := &Client{Server: s.URL, Token: s.Token, AttemptTimeout: time.Second, RetryBudget: 10 * time.Second, Backoff: []time.Duration{10 * time.Millisecond}}
	start := time.Now()
	err := c.Publish(context.Background(), realMessage("stopped", "once"))
	elapsed := time.Since(start)
	if err := s.Resume(); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(err, ErrMaybeDelivered) || !strings.Contains(err.Error(), "sent, but no answer") {
		t.Fatalf("error = %v, want a sent-but-unanswered error wrapping ErrMaybeDelivered", err)
	}
	if elapsed > 8*time.Second {
		t.Errorf("Publish took %v: it retried (or waited) instead of giving up after the 1s attempt", elapsed)
	}
	// The one request the stopped server read may still be stored now
	// that it runs again; a resend would show as a second copy.
	ms, _ := s.WaitFor("stopped", 2, 5*time.Second)
	if len(ms) > 1 {
		t.Errorf("%d copies stored, want at most 1: %+v", len(ms), ms)
	}
	t.Logf("copies stored after SIGCONT: %d", len(ms))
}

// TestRealNtfyAnswersAreFinal: a 403 from the real server is sent once and
// says what to do.
func TestRealNtfyForbiddenIsFinal(t *testing.T) {
	s := peertest.NewNtfy(t, peertest.NtfyOptions{})
	c := &Client{Server: s.URL, Backoff: []time.Duration{10 * time.Millisecond}}
	err := c.Publish(context.Background(), realMessage("closed", "nope"))
	want := "ntfy answered 403 Forbidden: forbidden (code 40301); this topic needs an access token with write permission"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v, want it to contain %q", err, want)
	}
	if errors.Is(err, ErrMaybeDelivered) {
		t.Errorf("a 403 is not maybe-delivered: %v", err)
	}
}
