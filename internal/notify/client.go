package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// Defaults for Client. With them a publish that never succeeds gives up after
// at most DefaultTotalTimeout, well inside the 90 s systemd allows an
// ExecStopPost= command by default.
var (
	// DefaultBackoff is the wait before each retry. ntfy sends no
	// Retry-After; its default rate limit refills one request per 5 s, so
	// the later waits outlast a 429.
	DefaultBackoff = []time.Duration{
		500 * time.Millisecond, 1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
	}
	DefaultAttemptTimeout = 10 * time.Second
	DefaultTotalTimeout   = 45 * time.Second
)

// Limits on what Publish reads back from the server.
const (
	maxResponseBytes = 64 << 10
	maxTokenBytes    = 4 << 10
)

// TokenEnv is the environment variable LoadToken falls back to.
const TokenEnv = "HOOKRUN_NTFY_TOKEN"

// Client publishes messages to one ntfy server. The zero value of every field
// but Server is usable.
type Client struct {
	// Server is ntfy's base URL, e.g. "https://ntfy.example.com"; a path
	// prefix ("https://example.com/ntfy") is kept. See CheckServerURL.
	Server string
	// Token, when set, is sent as "Authorization: Bearer <Token>" and
	// nowhere else: errors and log lines never contain it.
	Token string
	// HTTP is the client used for requests; nil means a new one. Redirects
	// are never followed (a POST redirected with 301/302 becomes a GET and
	// the message would be lost silently).
	HTTP *http.Client
	// Backoff lists the waits before each retry: nil means DefaultBackoff,
	// an empty non-nil slice means no retries.
	Backoff []time.Duration
	// AttemptTimeout bounds one request (0: DefaultAttemptTimeout) and
	// TotalTimeout the whole Publish call, retries and waits included
	// (0: DefaultTotalTimeout).
	AttemptTimeout time.Duration
	TotalTimeout   time.Duration
	// Log, when set, gets one line per failed attempt that is retried.
	Log io.Writer
}

// Error is an answer from ntfy other than success, with ntfy's error
// details when its body had them ({"code":40007,"http":400,"error":"..."}).
type Error struct {
	Status int    // HTTP status
	Code   int    // ntfy's error code, e.g. 40007; 0 when the body had none
	Text   string // ntfy's error text, or a short excerpt of the body
	Hint   string // what to do about it, when known
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ntfy answered %d %s", e.Status, http.StatusText(e.Status))
	if e.Text != "" {
		fmt.Fprintf(&b, ": %s", e.Text)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, " (code %d)", e.Code)
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, "; %s", e.Hint)
	}
	return b.String()
}

// Temporary reports whether the request may succeed if sent again later:
// true for 429 and 5xx.
func (e *Error) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// publishRequest is ntfy's JSON publishing body (ntfy server/types.go
// publishMessage). Priority is a number; 0 is left out so ntfy uses its
// default.
type publishRequest struct {
	Topic    string   `json:"topic"`
	Title    string   `json:"title,omitempty"`
	Message  string   `json:"message,omitempty"`
	Priority int      `json:"priority,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Click    string   `json:"click,omitempty"`
}

// Publish sends m with ntfy's JSON publishing API (a POST to the server's
// root URL). Connection errors, timeouts, 429 and 5xx answers are retried on
// the Backoff schedule, within TotalTimeout; other answers are final. After a
// 2xx answer nothing is sent again, so a message is never delivered twice by
// a retry. The returned error never contains the token.
//
// Publish does not decide a job's result: callers log its error and go on.
func (c *Client) Publish(ctx context.Context, m Message) error {
	return c.redact(c.publish(ctx, m))
}

func (c *Client) publish(ctx context.Context, m Message) error {
	if err := CheckServerURL(c.Server); err != nil {
		return err
	}
	if err := CheckTopic(m.Topic); err != nil {
		return err
	}
	if m.Priority < 0 || m.Priority > 5 {
		return fmt.Errorf("priority %d is out of range: ntfy takes 1 (min) to 5 (max)", m.Priority)
	}
	if c.Token != "" {
		if err := checkToken(c.Token); err != nil {
			return err
		}
	}
	body, err := json.Marshal(publishRequest(m))
	if err != nil {
		return fmt.Errorf("encode ntfy message: %w", err)
	}
	endpoint := strings.TrimRight(c.Server, "/") + "/"

	total := c.TotalTimeout
	if total <= 0 {
		total = DefaultTotalTimeout
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, total)
	defer cancel()

	backoff := c.Backoff
	if backoff == nil {
		backoff = DefaultBackoff
	}
	// stopped explains why Publish ends without success while the
	// schedule still had retries left.
	stopped := func(attempt int, last error) error {
		if parent.Err() != nil {
			return fmt.Errorf("publish to ntfy at %s: %w after %s: %w", c.Server, parent.Err(), plural(attempt, "attempt"), last)
		}
		return fmt.Errorf("publish to ntfy at %s: gave up after %s, no success within %s: %w", c.Server, plural(attempt, "attempt"), total, last)
	}
	client := c.httpClient()
	attempts := len(backoff) + 1
	for attempt := 1; ; attempt++ {
		err := c.attempt(ctx, client, endpoint, body)
		if err == nil {
			return nil
		}
		var apiErr *Error
		retry := errors.As(err, &apiErr) && apiErr.Temporary() || isConnError(err)
		switch {
		case ctx.Err() != nil:
			return stopped(attempt, err)
		case !retry:
			return fmt.Errorf("publish to ntfy at %s: %w", c.Server, err)
		case attempt == attempts:
			return fmt.Errorf("publish to ntfy at %s: gave up after %s: %w", c.Server, plural(attempt, "attempt"), err)
		}
		wait := backoff[attempt-1]
		c.logf("hookrun: notify: attempt %d of %d failed: %v; retrying in %s\n", attempt, attempts, c.redact(err), wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return stopped(attempt, err)
		case <-t.C:
		}
	}
}

// plural renders "1 attempt", "2 attempts".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// attempt sends one request and classifies the answer.
func (c *Client) attempt(ctx context.Context, client *http.Client, endpoint string, body []byte) error {
	timeout := c.AttemptTimeout
	if timeout <= 0 {
		timeout = DefaultAttemptTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "hookrun")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return &connError{err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	// Drain a little more so the connection can be reused, never unbounded.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))

	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		// Delivered. Whatever happens reading the answer, do not send
		// again. Check it is ntfy's answer, not e.g. a web page at a
		// wrong URL.
		var ok struct {
			ID    string `json:"id"`
			Event string `json:"event"`
		}
		if err != nil || json.Unmarshal(data, &ok) != nil || ok.ID == "" {
			return &Error{
				Status: resp.StatusCode,
				Text:   "the answer is not an ntfy message",
				Hint:   "check that the server URL is ntfy's base URL",
			}
		}
		return nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		e := &Error{Status: resp.StatusCode, Hint: "set the server to ntfy's final base URL (redirects are not followed)"}
		if loc := resp.Header.Get("Location"); loc != "" {
			e.Text = "redirected to " + oneLine(truncate(loc, 200))
		}
		return e
	default:
		if c.Token != "" {
			// A server or proxy may echo the Authorization header. Redact
			// before anything cuts the text, so no part of it shows.
			data = bytes.ReplaceAll(data, []byte(c.Token), []byte("[token]"))
		}
		return apiError(resp.StatusCode, data)
	}
}

// apiError builds an Error from ntfy's error body, or an excerpt of any other
// body.
func apiError(status int, data []byte) *Error {
	e := &Error{Status: status}
	var body struct {
		Code  int    `json:"code"`
		HTTP  int    `json:"http"`
		Error string `json:"error"`
	}
	if json.Unmarshal(data, &body) == nil && (body.Code != 0 || body.Error != "") {
		e.Code, e.Text = body.Code, oneLine(truncate(body.Error, 300))
	} else if len(data) > 0 && !bytes.Contains(bytes.ToLower(data[:min(len(data), 512)]), []byte("<html")) {
		e.Text = oneLine(truncate(string(data), 200))
	}
	switch status {
	case http.StatusUnauthorized:
		e.Hint = "the access token was refused: check token_file or " + TokenEnv
	case http.StatusForbidden:
		e.Hint = "this topic needs an access token with write permission: set token_file or " + TokenEnv
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		e.Hint = "check that the server URL is ntfy's base URL"
	case http.StatusRequestEntityTooLarge:
		e.Hint = "the message is too large for this server"
	}
	return e
}

// connError marks a request that got no HTTP answer: refused, reset, DNS,
// TLS or timed out. Such requests are retried.
type connError struct{ err error }

func (e *connError) Error() string { return e.err.Error() }
func (e *connError) Unwrap() error { return e.err }

func isConnError(err error) bool {
	var ce *connError
	return errors.As(err, &ce)
}

// httpClient returns c.HTTP (or a new client) set up never to follow
// redirects. The caller's client is copied, not changed.
func (c *Client) httpClient() *http.Client {
	var hc http.Client
	if c.HTTP != nil {
		hc = *c.HTTP
	}
	if hc.Timeout == 0 {
		hc.Timeout = DefaultAttemptTimeout
		if c.AttemptTimeout > 0 {
			hc.Timeout = c.AttemptTimeout
		}
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc
}

func (c *Client) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format, args...)
	}
}

// redact removes the token from an error's text, whatever produced it (a
// server could echo the Authorization header back in its error body).
func (c *Client) redact(err error) error {
	if err == nil || c.Token == "" || !strings.Contains(err.Error(), c.Token) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), c.Token, "[token]"), err: err}
}

// redactedError keeps the chain for errors.Is/As but not the token in its text.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// LoadToken returns the ntfy access token: the content of tokenFile (trimmed)
// when it is set, else the value of HOOKRUN_NTFY_TOKEN from getenv (nil means
// os.Getenv). No token at all is not an error: it returns "". Errors name the
// file, never its content.
func LoadToken(tokenFile string, getenv func(string) string) (string, error) {
	if tokenFile == "" {
		if getenv == nil {
			getenv = os.Getenv
		}
		tok := strings.TrimSpace(getenv(TokenEnv))
		if tok == "" {
			return "", nil
		}
		if err := checkToken(tok); err != nil {
			return "", fmt.Errorf("%s: %w", TokenEnv, err)
		}
		return tok, nil
	}
	f, err := os.Open(tokenFile)
	if err != nil {
		return "", fmt.Errorf("read ntfy token: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTokenBytes+1))
	if err != nil {
		return "", fmt.Errorf("read ntfy token: %w", err)
	}
	if len(data) > maxTokenBytes {
		return "", fmt.Errorf("ntfy token file %s is larger than %d bytes: it should hold only the token", tokenFile, maxTokenBytes)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", fmt.Errorf("ntfy token file %s is empty: put the access token (tk_...) in it, or remove token_file", tokenFile)
	}
	if err := checkToken(tok); err != nil {
		return "", fmt.Errorf("ntfy token file %s: %w", tokenFile, err)
	}
	return tok, nil
}

// checkToken refuses tokens that cannot go into an HTTP header as they are.
// The message never shows the token.
func checkToken(tok string) error {
	for _, r := range tok {
		if r <= ' ' || r == 0x7f || r > 0x7e {
			return errors.New("the token contains spaces, line breaks or other characters a token cannot have: the file should hold only the token")
		}
	}
	return nil
}
