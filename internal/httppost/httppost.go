// Package httppost sends one HTTP POST of an outcome's delivery and
// classifies what happened for outcome.Policy: sent or not, answered or
// not, asked to wait or not. The outputs that speak HTTP (webhook, forge)
// post through it; it is kept out of outcome so that the packages a push
// links never link net/http.
package httppost

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hookrun/hookrun/internal/outcome"
)

// maxResponseBytes bounds what Post reads back from a receiver.
const maxResponseBytes = 64 << 10

// Client returns a client that never follows redirects (a POST
// redirected with 301/302 becomes a GET and the delivery would be lost
// silently) and times out after timeout (0: outcome.DefaultAttemptTimeout). base,
// when not nil, is copied, never changed.
func Client(base *http.Client, timeout time.Duration) *http.Client {
	var hc http.Client
	if base != nil {
		hc = *base
	}
	if hc.Timeout == 0 {
		hc.Timeout = timeout
		if timeout <= 0 {
			hc.Timeout = outcome.DefaultAttemptTimeout
		}
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc
}

// Error is an answer other than 2xx.
type Error struct {
	Status int
	Text   string // an excerpt of the body, one line; never a secret the caller redacted
	After  time.Duration
}

func (e *Error) Error() string {
	s := fmt.Sprintf("answered %d %s", e.Status, http.StatusText(e.Status))
	if e.Text != "" {
		s += ": " + e.Text
	}
	if e.Status >= 500 {
		s += "; " + outcome.ErrMaybeDelivered.Error()
	}
	return s
}

// RetryLater is true for 429 Too Many Requests: a rate limit is checked
// before the request is read.
func (e *Error) RetryLater() bool { return e.Status == http.StatusTooManyRequests }

// RetryAfter is the wait the receiver asked for (0: none).
func (e *Error) RetryAfter() time.Duration { return e.After }

// Unwrap puts outcome.ErrMaybeDelivered in the chain of a 5xx answer: the
// receiver (or a proxy before it) may have acted on the request first.
func (e *Error) Unwrap() error {
	if e.Status >= 500 {
		return outcome.ErrMaybeDelivered
	}
	return nil
}

// Post sends one POST of body to url with the headers given and classifies
// what happens for Policy.Send: nil and the answer's body (at most 64 KiB)
// on 2xx; an Unsent error when the request never completely left; a
// SentNoAnswer error when it did and then failed; an *Error for any
// other answer. redact, when not empty, is cut out of every error text
// (a token a server might echo back).
func Post(ctx context.Context, client *http.Client, url string, header http.Header, body []byte, redact string) ([]byte, error) {
	var sent atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				sent.Store(true)
			}
		},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "hookrun")
	}
	resp, err := client.Do(req)
	if err != nil {
		err = redacted(err, redact)
		if sent.Load() {
			return nil, outcome.SentNoAnswer(err)
		}
		return nil, outcome.Unsent(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return data, nil
	}
	if redact != "" {
		data = bytes.ReplaceAll(data, []byte(redact), []byte("[redacted]"))
	}
	e := &Error{Status: resp.StatusCode, After: ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		e.Text = "redirects are not followed: set the final URL"
		if loc := resp.Header.Get("Location"); loc != "" {
			e.Text = "redirected to " + oneLine(loc, 200) + "; redirects are not followed: set the final URL"
		}
	} else if len(data) > 0 && !bytes.Contains(bytes.ToLower(data[:min(len(data), 512)]), []byte("<html")) {
		e.Text = oneLine(string(data), 200)
	}
	return nil, e
}

// redacted replaces secret in err's text, keeping the chain.
func redacted(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), secret, "[redacted]"), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date
// (RFC 9110 10.2.3). It returns 0 when there is none or it cannot be read.
func ParseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if n, err := strconv.ParseUint(h, 10, 32); err == nil {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// oneLine shortens s to n bytes (at a rune boundary) on one line.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n] + "..."
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
