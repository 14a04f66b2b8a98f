package httppost

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/outcome"
)

// fast is a policy for tests: short waits, a short budget.
var fast = outcome.Policy{Backoff: []time.Duration{time.Millisecond}, Budget: 2 * time.Second, AttemptTimeout: time.Second}

func TestSendRules(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     []int // answers in turn; the last repeats
		idempotent bool
		wantCalls  int32
		wantErr    string
		maybe      bool
	}{
		{"ok", []int{200}, false, 1, "", false},
		{"rate limit then ok", []int{429, 429, 204}, false, 3, "", false},
		{"5xx is never sent again", []int{502, 200}, false, 1, "answered 502", true},
		{"5xx again when idempotent", []int{500, 201}, true, 2, "", false},
		{"4xx is final", []int{400, 200}, false, 1, "answered 400 Bad Request: bad", false},
		{"redirect is final", []int{302, 200}, false, 1, "redirects are not followed", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				st := tc.status[min(int(n), len(tc.status))-1]
				if st == 302 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(st)
				w.Write([]byte("bad"))
			}))
			defer srv.Close()
			p := fast
			p.Idempotent = tc.idempotent
			client := Client(nil, 0)
			err := p.Send(context.Background(), "test to "+srv.URL, func(ctx context.Context) error {
				_, err := Post(ctx, client, srv.URL, nil, []byte("{}"), "")
				return err
			})
			if calls.Load() != tc.wantCalls {
				t.Errorf("%d requests, want %d", calls.Load(), tc.wantCalls)
			}
			if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
			if errors.Is(err, outcome.ErrMaybeDelivered) != tc.maybe {
				t.Errorf("errors.Is(%v, outcome.ErrMaybeDelivered) = %v, want %v", err, !tc.maybe, tc.maybe)
			}
		})
	}
}

func TestSendUnsentIsRetriedWithinBudget(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close() // nothing listens: every attempt is refused, never sent
	var n int
	p := outcome.Policy{Backoff: []time.Duration{20 * time.Millisecond}, Budget: 300 * time.Millisecond}
	start := time.Now()
	err = p.Send(context.Background(), "webhook", func(ctx context.Context) error {
		n++
		_, err := Post(ctx, Client(nil, time.Second), url, nil, nil, "")
		return err
	})
	if n < 2 || err == nil || !strings.Contains(err.Error(), "gave up after") || !outcome.IsUnsent(err) {
		t.Errorf("%d attempts, err %v; want several and a budget error", n, err)
	}
	if el := time.Since(start); el > 300*time.Millisecond+time.Second {
		t.Errorf("took %s, more than budget + attempt timeout", el)
	}
}

func TestSendNoAnswerIsMaybeDelivered(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		<-release
	}))
	defer srv.Close()
	defer close(release)
	p := outcome.Policy{Backoff: []time.Duration{time.Millisecond}, Budget: time.Second, AttemptTimeout: 100 * time.Millisecond}
	err := p.Send(context.Background(), "webhook", func(ctx context.Context) error {
		_, err := Post(ctx, Client(nil, 0), srv.URL, nil, []byte("x"), "")
		return err
	})
	if !errors.Is(err, outcome.ErrMaybeDelivered) || calls.Load() != 1 {
		t.Errorf("err %v after %d requests; want maybe delivered after 1", err, calls.Load())
	}
}

func TestPostRetryAfterAndRedaction(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(429)
		w.Write([]byte("slow down, " + r.Header.Get("Authorization")))
	}))
	defer srv.Close()
	h := http.Header{"Authorization": {"token s3cret"}}
	err := fast.Send(context.Background(), "forge", func(ctx context.Context) error {
		_, err := Post(ctx, Client(nil, 0), srv.URL, h, nil, "s3cret")
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "asks to wait 2m0s") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("err = %v", err)
	}
}
