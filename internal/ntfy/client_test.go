package ntfy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/httppost"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/outcome"
)

const testToken = "tk_s3cr3tT0kenV4lue0123456789"

// fastBackoff keeps retry tests quick.
var fastBackoff = []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, 8 * time.Millisecond}

// syncBuffer is a log writer safe for the race detector.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testMessage() notify.Message {
	return notify.Build(notify.Details{
		Job: "site", Repo: "myrepo", Refs: []string{"refs/heads/main"}, Short: "1a2b3c4",
		Unit: "git-site-myrepo-x.service", Topic: "git-builds", Click: "https://git.example.com/myrepo/",
	}, notify.Outcome{Kind: outcome.Failure, Reason: "exit status 7", Duration: 83 * time.Second})
}

func newTestClient(f *fakeNtfy, log *syncBuffer) *Client {
	c := &Client{Server: f.URL, Token: f.token, Backoff: fastBackoff}
	if log != nil {
		c.Log = log
	}
	return c
}

func assertNoToken(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, testToken) {
		t.Errorf("%s contains the token: %q", what, s)
	}
}

func TestPublishDelivers(t *testing.T) {
	f := newFakeNtfy(t)
	f.token = testToken
	m := testMessage()
	if err := newTestClient(f, nil).Publish(context.Background(), m); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	requests, stored := f.counts()
	if requests != 1 || len(stored) != 1 {
		t.Fatalf("%d requests, %d stored; want 1 and 1", requests, len(stored))
	}
	got := stored[0]
	want := storedMessage{
		ID: got.ID, Time: got.Time, Expires: got.Expires, Event: "message",
		Topic: "git-builds", Title: "❌ Git site Failed: myrepo", Message: m.Message,
		Priority: 4, Tags: []string{"hookrun", "failure"}, Click: "https://git.example.com/myrepo/",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stored %+v\nwant   %+v", got, want)
	}
}

func TestPublishServerWithPathPrefix(t *testing.T) {
	f := newFakeNtfy(t)
	var path string
	f.override = func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		w.Write([]byte(`{"id":"x","event":"message"}`))
	}
	c := newTestClient(f, nil)
	c.Server = f.URL + "/ntfy/"
	if err := c.Publish(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
	if path != "/ntfy/" {
		t.Errorf("posted to %q, want /ntfy/", path)
	}
}

func TestPublishRetriesRateLimit(t *testing.T) {
	f := newFakeNtfy(t)
	f.token = testToken
	f.fail = []int{429, 429, 429}
	var log syncBuffer
	if err := newTestClient(f, &log).Publish(context.Background(), testMessage()); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	requests, stored := f.counts()
	if requests != 4 || len(stored) != 1 {
		t.Errorf("%d requests, %d stored; want 4 and exactly 1", requests, len(stored))
	}
	if n := strings.Count(log.String(), "\n"); n != 3 {
		t.Errorf("%d log lines, want one per retry (3):\n%s", n, log.String())
	}
	want := "hookrun: notify: attempt 1 failed: ntfy answered 429 Too Many Requests: injected failure (code 42901); retrying in "
	if !strings.HasPrefix(log.String(), want) {
		t.Errorf("log = %q\nwant it to start with %q", log.String(), want)
	}
	assertNoToken(t, "log", log.String())
}

// TestPublishNeverResendsWhatMayHaveArrived: a 5xx may follow a delivery
// (ntfy publishes to subscribers before it writes its cache), so it is sent
// once and the error says the message may have been delivered.
func TestPublishNeverResendsWhatMayHaveArrived(t *testing.T) {
	for _, status := range []int{500, 502, 503, 504} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			f := newFakeNtfy(t)
			f.fail = []int{status, status}
			err := newTestClient(f, nil).Publish(context.Background(), testMessage())
			if requests, _ := f.counts(); requests != 1 {
				t.Errorf("%d requests, want 1", requests)
			}
			if !errors.Is(err, ErrMaybeDelivered) {
				t.Errorf("error = %v, want ErrMaybeDelivered in its chain", err)
			}
			var apiErr *Error
			if !errors.As(err, &apiErr) || apiErr.Status != status {
				t.Errorf("errors.As(*Error) = %+v", apiErr)
			}
			if err != nil && !strings.HasSuffix(err.Error(), "; not sent again: ntfy may have delivered it before failing") {
				t.Errorf("error = %v", err)
			}
		})
	}
}

func TestPublishGivesUpWithinBudget(t *testing.T) {
	f := newFakeNtfy(t)
	f.fail = make([]int, 1000)
	for i := range f.fail {
		f.fail[i] = 429
	}
	c := newTestClient(f, nil)
	c.Backoff = []time.Duration{10 * time.Millisecond}
	// Room for many attempts however slow each one is on a loaded
	// machine (one that took most of a 300 ms budget left no retry).
	c.RetryBudget = 2 * time.Second
	start := time.Now()
	err := c.Publish(context.Background(), testMessage())
	if elapsed := time.Since(start); elapsed > c.RetryBudget+5*time.Second {
		t.Errorf("took %v, want about the %v budget", elapsed, c.RetryBudget)
	}
	if err == nil {
		t.Fatal("Publish succeeded, want an error")
	}
	requests, stored := f.counts()
	if requests < 2 || len(stored) != 0 {
		t.Errorf("%d requests, %d stored; want retries (the last wait repeats) and nothing stored", requests, len(stored))
	}
	want := "no success within the retry budget of 2s: ntfy answered 429 Too Many Requests: injected failure (code 42901)"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error =\n%s\nwant it to contain\n%s", err, want)
	}
	if errors.Is(err, ErrMaybeDelivered) {
		t.Errorf("a refused request is not maybe-delivered: %v", err)
	}
}

func TestPublishHonoursRetryAfter(t *testing.T) {
	f := newFakeNtfy(t)
	f.fail = []int{429}
	f.retryAfter = "1"
	var log syncBuffer
	c := newTestClient(f, &log)
	c.Backoff = []time.Duration{time.Millisecond}
	start := time.Now()
	if err := c.Publish(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < time.Second {
		t.Errorf("retried after %v, before the 1s that Retry-After asked for", elapsed)
	}
	if !strings.Contains(log.String(), "retrying in 1s") {
		t.Errorf("log = %q", log.String())
	}
	if requests, stored := f.counts(); requests != 2 || len(stored) != 1 {
		t.Errorf("%d requests, %d stored; want 2 and 1", requests, len(stored))
	}
}

func TestPublishRetryAfterBeyondBudget(t *testing.T) {
	f := newFakeNtfy(t)
	f.fail = []int{429}
	f.retryAfter = "120"
	c := newTestClient(f, nil)
	c.RetryBudget = 5 * time.Second
	start := time.Now()
	err := c.Publish(context.Background(), testMessage())
	if time.Since(start) > 3*time.Second {
		t.Errorf("waited although the Retry-After was beyond the budget")
	}
	want := "gave up after 1 attempt: ntfy asks to wait 2m0s, more than the 5s left of the retry budget (5s)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v, want it to contain %q", err, want)
	}
}

func TestPublishNoRetryOnQuota(t *testing.T) {
	f := newFakeNtfy(t)
	f.override = func(w http.ResponseWriter, r *http.Request) {
		ntfyError(w, 429, 42908, "limit reached: daily message quota reached")
	}
	err := newTestClient(f, nil).Publish(context.Background(), testMessage())
	if requests, _ := f.counts(); requests != 1 {
		t.Errorf("%d requests, want 1", requests)
	}
	want := "(code 42908); a quota, not the request rate: retrying within a minute cannot help"
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("error = %v, want it to end in %q", err, want)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"5", 5 * time.Second},
		{" 30 ", 30 * time.Second},
		{"0", 0},
		{"-1", 0},
		{"soon", 0},
		{"Tue, 01 Dec 2026 08:00:10 GMT", 10 * time.Second},
		{"Tue, 01 Dec 2026 07:59:00 GMT", 0},
		{"99999999999", 0},
	}
	for _, tt := range tests {
		if got := httppost.ParseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestPublishNoRetryOn4xx(t *testing.T) {
	tests := []struct {
		name     string
		token    string // the client's
		override http.HandlerFunc
		want     string
	}{
		{
			name: "400 from the server",
			override: func(w http.ResponseWriter, r *http.Request) {
				ntfyError(w, 400, 40024, "invalid request: request body must be JSON")
			},
			want: "ntfy answered 400 Bad Request: invalid request: request body must be JSON (code 40024)",
		},
		{
			name:  "wrong token",
			token: "tk_wrong0000000000000000000000",
			want: "ntfy answered 401 Unauthorized: unauthorized (code 40101); " +
				"the access token was refused (wrong, expired or deleted): check token_file or HOOKRUN_NTFY_TOKEN",
		},
		{
			name: "valid token without access to the topic",
			override: func(w http.ResponseWriter, r *http.Request) {
				ntfyError(w, 403, 40301, "forbidden")
			},
			want: "ntfy answered 403 Forbidden: forbidden (code 40301); " +
				"the access token is valid but may not publish to this topic: give its user write access (ntfy access USER TOPIC rw) or use a token that has it",
		},
		{
			name: "no token",
			want: "ntfy answered 403 Forbidden: forbidden (code 40301); " +
				"this topic needs an access token with write permission: set token_file or HOOKRUN_NTFY_TOKEN",
		},
		{
			name: "413",
			override: func(w http.ResponseWriter, r *http.Request) {
				ntfyError(w, 413, 41303, "JSON body too large")
			},
			want: "ntfy answered 413 Request Entity Too Large: JSON body too large (code 41303); the message is too large for this server",
		},
		{
			name: "redirect is not followed",
			override: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "https://ntfy.example.com/", http.StatusMovedPermanently)
			},
			want: "ntfy answered 301 Moved Permanently: redirected to https://ntfy.example.com/; " +
				"set the server to ntfy's final base URL (redirects are not followed)",
		},
		{
			name: "200 that is not ntfy",
			override: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.Write([]byte("<html><body>welcome</body></html>"))
			},
			want: "ntfy answered 200 OK: the answer is not an ntfy message; check that the server URL is ntfy's base URL",
		},
		{
			name: "404 html page",
			override: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(404)
				w.Write([]byte("<!DOCTYPE html><html><body>not here</body></html>"))
			},
			want: "ntfy answered 404 Not Found; check that the server URL is ntfy's base URL",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeNtfy(t)
			f.token = testToken
			f.override = tt.override
			c := newTestClient(f, nil)
			c.Token = tt.token
			if tt.override != nil {
				c.Token = testToken
			}
			err := c.Publish(context.Background(), testMessage())
			if err == nil {
				t.Fatal("Publish succeeded, want an error")
			}
			// A token's 403 is sent again a few times (forbiddenRetries:
			// ntfy's visitor race), every other answer exactly once.
			want := 1
			if strings.Contains(tt.name, "valid token without access") {
				want += forbiddenRetries
			}
			if requests, _ := f.counts(); requests != want {
				t.Errorf("%d requests, want %d", requests, want)
			}
			wantErr := "publish to ntfy at " + f.URL + ": " + tt.want
			if err.Error() != wantErr {
				t.Errorf("error =\n%s\nwant\n%s", err, wantErr)
			}
			assertNoToken(t, "error", err.Error())
		})
	}
}

// refusingAddr returns a 127.0.0.1 address that refuses connections for as
// long as the test runs: a socket bound to it that never listens, so no
// other process can take the port and answer (a port that was merely free
// a moment ago can be).
func refusingAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}

func TestPublishConnectionRefused(t *testing.T) {
	addr := refusingAddr(t)
	// The budget must hold several refused attempts (10-20 ms apart) even
	// when each one is slow on a loaded machine: with 200 ms, one attempt
	// that took most of it left a single retry (race run, load 20, 1 in
	// 300). Any budget shows the behaviour; 2 s leaves room for dozens.
	const budget = 2 * time.Second
	var log syncBuffer
	c := &Client{Server: "http://" + addr, Token: testToken, Backoff: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}, RetryBudget: budget, Log: &log}
	start := time.Now()
	err := c.Publish(context.Background(), testMessage())
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("Publish succeeded, want an error")
	}
	// The last attempt may be cut short by the budget itself on a busy
	// machine, so "connection refused" is looked for in the retries' log.
	if !strings.Contains(err.Error(), "no success within the retry budget of 2s: not sent: ") {
		t.Errorf("error = %v", err)
	}
	if !strings.Contains(log.String(), "connection refused") {
		t.Errorf("log = %q, want the refused connections", log.String())
	}
	if errors.Is(err, ErrMaybeDelivered) {
		t.Errorf("a refused connection is not maybe-delivered: %v", err)
	}
	if elapsed < budget-50*time.Millisecond || elapsed > budget+5*time.Second {
		t.Errorf("took %v; want the %v budget and not much more", elapsed, budget)
	}
	if n := strings.Count(log.String(), "\n"); n < 2 {
		t.Errorf("%d log lines, want one per retry:\n%s", n, log.String())
	}
	assertNoToken(t, "error", err.Error())
	assertNoToken(t, "log", log.String())
}

// TestPublishSentOnceWhenServerHangs: a request that was sent and got no
// answer may have been delivered, so it is not sent again (a slow ntfy used
// to get up to 4 copies).
func TestPublishSentOnceWhenServerHangs(t *testing.T) {
	f := newFakeNtfy(t)
	done := make(chan struct{})
	t.Cleanup(func() { close(done) }) // runs before the server closes
	f.override = func(w http.ResponseWriter, r *http.Request) {
		// Never answer. Read the body first: only then does the server
		// notice the client hanging up and cancel r.Context().
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}
	c := newTestClient(f, nil)
	c.Backoff = []time.Duration{10 * time.Millisecond}
	// Long enough for the request to be written on a loaded machine: one
	// not written when the attempt times out is "not sent" and is retried,
	// which is right, but is not what this test is about.
	c.AttemptTimeout = time.Second
	c.RetryBudget = 2 * time.Second
	start := time.Now()
	err := c.Publish(context.Background(), testMessage())
	if elapsed := time.Since(start); elapsed > c.AttemptTimeout+5*time.Second {
		t.Errorf("took %v, want about the %v attempt timeout", elapsed, c.AttemptTimeout)
	}
	if !errors.Is(err, ErrMaybeDelivered) || !strings.Contains(err.Error(), "sent, but no answer: ") {
		t.Errorf("error = %v, want a sent-but-unanswered error wrapping ErrMaybeDelivered", err)
	}
	if requests, _ := f.counts(); requests != 1 {
		t.Errorf("%d requests, want exactly 1", requests)
	}
}

func TestPublishCallerCancels(t *testing.T) {
	f := newFakeNtfy(t)
	f.fail = []int{429, 429, 429}
	c := newTestClient(f, nil)
	c.Backoff = []time.Duration{10 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	err := c.Publish(ctx, testMessage())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled in the chain", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("Publish did not stop when its context was cancelled")
	}
}

func TestPublishRedactsEchoedToken(t *testing.T) {
	f := newFakeNtfy(t)
	f.override = func(w http.ResponseWriter, r *http.Request) {
		// A broken proxy that echoes the request headers in its error.
		ntfyError(w, 502, 0, "bad gateway; request had Authorization: "+r.Header.Get("Authorization")+strings.Repeat(".", 300))
	}
	var log syncBuffer
	c := newTestClient(f, &log)
	c.Token = testToken
	err := c.Publish(context.Background(), testMessage())
	if err == nil {
		t.Fatal("Publish succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "Authorization: Bearer [token]") {
		t.Errorf("error = %v, want the token replaced", err)
	}
	assertNoToken(t, "error", err.Error())
	assertNoToken(t, "log", log.String())
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Status != 502 {
		t.Fatalf("errors.As(*Error) lost through redaction: %v", apiErr)
	}
	assertNoToken(t, "the *Error in the chain", apiErr.Error())
}

func TestPublishRefusesBadInput(t *testing.T) {
	f := newFakeNtfy(t)
	tests := []struct {
		name   string
		client Client
		msg    notify.Message
		want   string
	}{
		{"bad topic", Client{Server: f.URL}, notify.Message{Topic: "git builds"}, `ntfy topic "git builds" is not valid`},
		{"no topic", Client{Server: f.URL}, notify.Message{}, "ntfy topic is empty"},
		{"bad priority", Client{Server: f.URL}, notify.Message{Topic: "t", Priority: 7}, "priority 7 is out of range"},
		{"bad server", Client{Server: "ntfy.example.com"}, notify.Message{Topic: "t"}, "does not start with http:// or https://"},
		{"token with newline", Client{Server: f.URL, Token: testToken + "\nX-Evil: 1"}, notify.Message{Topic: "t"}, "the token contains spaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.client.Publish(context.Background(), tt.msg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
			if err != nil {
				assertNoToken(t, "error", err.Error())
			}
		})
	}
	if requests, _ := f.counts(); requests != 0 {
		t.Errorf("%d requests sent for invalid input, want 0", requests)
	}
}

func TestPublishLeavesCallerClientAlone(t *testing.T) {
	f := newFakeNtfy(t)
	hc := &http.Client{}
	c := newTestClient(f, nil)
	c.HTTP = hc
	if err := c.Publish(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
	if hc.CheckRedirect != nil || hc.Timeout != 0 {
		t.Errorf("Publish changed the caller's http.Client")
	}
}

func TestDefaultScheduleIsBounded(t *testing.T) {
	if DefaultAttemptTimeout >= DefaultRetryBudget || DefaultRetryBudget > notify.MaxRetryBudget || notify.MaxRetryBudget+DefaultAttemptTimeout >= 2*time.Minute {
		t.Errorf("attempt %v, budget %v, max budget %v: want attempt < budget <= max, and max + one attempt inside ExecStopPost's 2 minutes",
			DefaultAttemptTimeout, DefaultRetryBudget, notify.MaxRetryBudget)
	}
	if last := DefaultBackoff[len(DefaultBackoff)-1]; last < 5*time.Second {
		t.Errorf("the repeating wait is %v: shorter than ntfy's default refill of one request per 5s", last)
	}
}

func TestLoadToken(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == notify.TokenEnv {
				return v
			}
			return ""
		}
	}
	good := write("good", "  "+testToken+"\n")
	empty := write("empty", " \n")
	spaced := write("spaced", testToken+" more")
	huge := write("huge", strings.Repeat("x", 5000))

	tests := []struct {
		name    string
		file    string
		env     string
		want    string
		wantErr string
	}{
		{"file, trimmed", good, "", testToken, ""},
		{"file wins over env", good, "tk_fromenv", testToken, ""},
		{"env", "", " tk_fromenv\n", "tk_fromenv", ""},
		{"nothing", "", "", "", ""},
		{"empty file", empty, "", "", "ntfy token file " + empty + " is empty"},
		{"missing file", filepath.Join(dir, "missing"), "", "", "read ntfy token: open " + filepath.Join(dir, "missing") + ": no such file or directory"},
		{"space inside", spaced, "", "", "ntfy token file " + spaced + ": the token contains spaces"},
		{"huge file", huge, "", "", "is larger than 4096 bytes"},
		{"env with space inside", "", testToken + " x", "", "HOOKRUN_NTFY_TOKEN: the token contains spaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadToken(tt.file, env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadToken error = %v, want it to contain %q", err, tt.wantErr)
				}
				assertNoToken(t, "error", err.Error())
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("LoadToken = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestPublishNoRetryOnTLSMismatch: an https:// URL of a plain-HTTP server
// (or a certificate this host does not trust) fails the same way every
// time: one attempt, and an error that says what to fix.
func TestPublishNoRetryOnTLSMismatch(t *testing.T) {
	f := newFakeNtfy(t) // plain HTTP
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(tlsSrv.Close)
	tests := []struct {
		name, server, want string
	}{
		{"https to an http server", "https://" + strings.TrimPrefix(f.URL, "http://"), "the server does not speak TLS"},
		{"untrusted certificate", tlsSrv.URL, "the server's TLS certificate is not trusted here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log syncBuffer
			c := &Client{Server: tt.server, Backoff: fastBackoff, RetryBudget: 5 * time.Second, Log: &log}
			start := time.Now()
			err := c.Publish(context.Background(), testMessage())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to say %q", err, tt.want)
			}
			if log.String() != "" {
				t.Errorf("retried:\n%s", log.String())
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v, want one attempt", d)
			}
			if errors.Is(err, ErrMaybeDelivered) {
				t.Errorf("never sent, yet maybe delivered: %v", err)
			}
		})
	}
}
