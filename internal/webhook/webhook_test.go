package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/outcome"
)

// verifySignature is the receiver's check exactly as GitHub's docs show it
// ("Validating webhook deliveries", Go example): HMAC-SHA256 of the raw
// body with the secret, hex, "sha256=" prefix, constant-time compare.
func verifySignature(secret, payload []byte, signatureHeader string) bool {
	if !strings.HasPrefix(signatureHeader, "sha256=") {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(payload)
	expected := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(expected), []byte(signatureHeader))
}

type received struct {
	header http.Header
	body   []byte
	valid  bool
}

func receiver(t *testing.T, secret []byte, status int) (*httptest.Server, func() []received) {
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{r.Header.Clone(), body, verifySignature(secret, body, r.Header.Get(SignatureHeader))})
		mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received { mu.Lock(); defer mu.Unlock(); return append([]received(nil), got...) }
}

func record(k outcome.Kind) outcome.Record {
	return outcome.Record{Kind: k, Reason: "exit status 1", Started: time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC), Duration: 62 * time.Second,
		Repo: "site", Job: "build", Unit: "hookrun-site-build-abc.service", Ref: "refs/heads/main", Old: "0000", New: "abcd", Pusher: "ana",
		URL: "https://git.example.com/hookrun/site/runs/x.html", Log: "do not send this"}
}

func TestDeliverSigned(t *testing.T) {
	secret := []byte("It's a Secret to Everybody")
	srv, got := receiver(t, secret, 204)
	w := &Webhook{URL: srv.URL + "/hook?token=q", Secret: secret, Policy: outcome.Policy{Budget: time.Second}}
	if err := w.Deliver(context.Background(), record(outcome.Failure)); err != nil {
		t.Fatal(err)
	}
	rs := got()
	if len(rs) != 1 || !rs[0].valid {
		t.Fatalf("received %d deliveries, first valid: %v", len(rs), len(rs) > 0 && rs[0].valid)
	}
	var p map[string]any
	if err := json.Unmarshal(rs[0].body, &p); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"event": "outcome", "repository": "site", "job": "build", "unit": "hookrun-site-build-abc.service",
		"ref": "refs/heads/main", "old": "0000", "new": "abcd", "pusher": "ana", "outcome": "failure", "reason": "exit status 1",
		"duration_seconds": 62.0, "duration_text": "1m 2s", "started": "2026-12-06T20:00:00Z", "url": "https://git.example.com/hookrun/site/runs/x.html"} {
		if p[k] != want {
			t.Errorf("%s = %v, want %v", k, p[k], want)
		}
	}
	if strings.Contains(string(rs[0].body), "do not send") {
		t.Error("the job's log reached the webhook")
	}
	if rs[0].header.Get(DeliveryHeader) != "hookrun-site-build-abc.service" || rs[0].header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", rs[0].header)
	}
	if strings.Contains(w.Name(), "token") {
		t.Errorf("Name %q shows the query", w.Name())
	}
	// A tampered body or a wrong secret fails the receiver's check.
	if verifySignature([]byte("other"), rs[0].body, rs[0].header.Get(SignatureHeader)) || Verify(secret, append(rs[0].body, ' '), rs[0].header.Get(SignatureHeader)) {
		t.Error("signature verifies with the wrong secret or body")
	}
}

func TestDeliverFilterAndFailure(t *testing.T) {
	srv, got := receiver(t, nil, 500)
	w := &Webhook{URL: srv.URL, On: []outcome.Kind{outcome.Failure}, Policy: outcome.Policy{Budget: time.Second, Backoff: []time.Duration{time.Millisecond}}}
	if err := w.Deliver(context.Background(), record(outcome.Success)); !errors.Is(err, outcome.ErrSkipped) {
		t.Errorf("success with on = [failure]: %v", err)
	}
	err := w.Deliver(context.Background(), record(outcome.Failure))
	if !errors.Is(err, outcome.ErrMaybeDelivered) || len(got()) != 1 {
		t.Errorf("500: err %v after %d requests; want maybe delivered after 1", err, len(got()))
	}
	if len(got()[0].header.Values(SignatureHeader)) != 0 {
		t.Error("signed without a secret")
	}
}

func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s")
	os.WriteFile(p, []byte("  abc\n"), 0o600)
	if s, err := LoadSecret(p); err != nil || string(s) != "abc" {
		t.Errorf("LoadSecret = %q, %v", s, err)
	}
	os.WriteFile(p, []byte("\n"), 0o600)
	if _, err := LoadSecret(p); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty: %v", err)
	}
	if _, err := LoadSecret(filepath.Join(dir, "none")); err == nil {
		t.Error("missing file: no error")
	}
	if err := CheckURL("ftp://x"); err == nil {
		t.Error("ftp accepted")
	}
}

// TestSignGitHubVector checks Sign against the example in GitHub's docs
// ("Validating webhook deliveries": secret "It's a Secret to Everybody",
// payload "Hello, World!"); docs/outputs.md's Python snippet gives the same.
func TestSignGitHubVector(t *testing.T) {
	const want = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	if got := Sign([]byte("It's a Secret to Everybody"), []byte("Hello, World!")); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}
