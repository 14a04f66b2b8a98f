package ntfy

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/peertest"
)

// countingTransport counts the requests that leave the client, so a test
// against the real server can tell one attempt from several.
type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// TestRealNtfyFieldsArriveAsSent: what Publish sends — an emoji title,
// priority, tags, click — is what ntfy stores, read back through its poll
// API.
func TestRealNtfyFieldsArriveAsSent(t *testing.T) {
	s := peertest.NewNtfy(t, peertest.NtfyOptions{})
	m := notify.Message{
		Topic: "fields", Title: "✅ Git site Success: wëb 🚀", Message: "succeeded in 3s\nmain at 1a2b3c4",
		Priority: 5, Tags: []string{"hookrun", "success", "white_check_mark"}, Click: "https://git.example.com/web/commit/1a2b3c4?x=1&y=2",
	}
	c := &Client{Server: s.URL, Token: s.Token}
	if err := c.Publish(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	ms, err := s.WaitFor("fields", 1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := ms[0]
	if len(ms) != 1 || got.Title != m.Title || got.Message != m.Message || got.Priority != m.Priority ||
		!slices.Equal(got.Tags, m.Tags) || got.Click != m.Click {
		t.Errorf("stored %+v\nsent   %+v", ms, m)
	}
}

// TestRealNtfyAuthFailures: a wrong token (401), no token (403) and a valid
// token whose user may not write the topic (403) are each one request, with
// a hint true for that case; the same token granted the topic delivers.
func TestRealNtfyAuthFailures(t *testing.T) {
	s := peertest.NewNtfy(t, peertest.NtfyOptions{})
	bob, err := s.AddUser("bob", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Grant("bob", "bobs", "read-write"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token, topic string
		want, notWant      string // in the error
	}{
		{"wrong token", "tk_wrongwrongwrongwrongwrongwr", "closed",
			"ntfy answered 401 Unauthorized: unauthorized (code 40101); the access token was refused (wrong, expired or deleted): check token_file or HOOKRUN_NTFY_TOKEN", ""},
		{"no token", "", "closed",
			"ntfy answered 403 Forbidden: forbidden (code 40301); this topic needs an access token with write permission: set token_file or HOOKRUN_NTFY_TOKEN", ""},
		{"valid token without access", bob, "closed",
			"ntfy answered 403 Forbidden: forbidden (code 40301); the access token is valid but may not publish to this topic: give its user write access (ntfy access USER TOPIC rw)",
			"set token_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &countingTransport{}
			c := &Client{Server: s.URL, Token: tc.token, HTTP: &http.Client{Transport: tr}, Backoff: []time.Duration{10 * time.Millisecond}}
			err := c.Publish(context.Background(), realMessage(tc.topic, tc.name))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tc.want)
			}
			if tc.notWant != "" && strings.Contains(err.Error(), tc.notWant) {
				t.Errorf("error %q says %q, which is not true here", err, tc.notWant)
			}
			// A token's 403 is sent again forbiddenRetries times (ntfy's
			// visitor race can answer it to a valid token); every other
			// auth failure is final.
			want := int32(1)
			if tc.token != "" && strings.Contains(tc.want, "403") {
				want += forbiddenRetries
			}
			if n := tr.n.Load(); n != want {
				t.Errorf("%d requests, want exactly %d", n, want)
			}
			assertNoToken(t, "error", err.Error())
			if tc.token != "" && strings.Contains(err.Error(), tc.token) {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
	c := &Client{Server: s.URL, Token: bob}
	if err := c.Publish(context.Background(), realMessage("bobs", "granted")); err != nil {
		t.Fatalf("bob's token on the topic he was granted: %v", err)
	}
	if ms, err := s.WaitFor("closed", 0, time.Second); err != nil || len(ms) != 0 {
		t.Errorf("topic closed holds %+v (%v), want nothing", ms, err)
	}
}

// TestRealNtfyConcurrentTokenPublishes: units ending together on one host
// publish at the same moment with the same valid token. ntfy v2.13 can
// answer one of them 403 (its per-IP visitor loses the user between
// requests, binwiederhier/ntfy#1051); every message must still arrive, and
// exactly once.
func TestRealNtfyConcurrentTokenPublishes(t *testing.T) {
	s := peertest.NewNtfy(t, peertest.NtfyOptions{})
	const rounds, perRound = 10, 8
	for r := range rounds {
		errs := make(chan error, perRound)
		for i := range perRound {
			go func() {
				c := &Client{Server: s.URL, Token: s.Token}
				errs <- c.Publish(context.Background(), realMessage("together", fmt.Sprintf("r%02d-%d", r, i)))
			}()
		}
		for range perRound {
			if err := <-errs; err != nil {
				t.Errorf("round %d: %v", r, err)
			}
		}
	}
	ms, err := s.WaitFor("together", rounds*perRound, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, m := range ms {
		seen[m.Title]++
	}
	if len(ms) != rounds*perRound || len(seen) != rounds*perRound {
		t.Errorf("%d messages, %d distinct, want %d each", len(ms), len(seen), rounds*perRound)
	}
}
