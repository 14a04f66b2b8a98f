package ntfy

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hookrun/hookrun/internal/httppost"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/ntfyconf"
	"github.com/hookrun/hookrun/internal/outcome"
)

// Defaults for Client. With them a publish that never succeeds gives up after
// at most DefaultRetryBudget, well inside the 2 minutes systemd gives a
// unit's ExecStopPost= (TimeoutStopSec).
var (
	// DefaultBackoff is the wait before each retry when ntfy says nothing
	// about when to come back; its last entry repeats until the budget is
	// spent. ntfy sends no Retry-After, and its default rate limit gives
	// one request back every 5 s, so the waits settle at 5 s.
	DefaultBackoff = []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second}
	// DefaultAttemptTimeout bounds one request.
	DefaultAttemptTimeout = 10 * time.Second
	// DefaultRetryBudget bounds one Publish call, retries and waits
	// included ([notify] retry_budget).
	DefaultRetryBudget = 45 * time.Second
)

// A 403 to a request that carried a token is sent again up to
// forbiddenRetries times, forbiddenWait apart (plus jitter): ntfy (v2.13 up
// to at least v2.26.3, binwiederhier/ntfy#1051) keeps one visitor per client
// IP for users without a tier and sets its user to nil at the start of every
// request, so a valid token's publish that overlaps another request from the
// same host can be refused with 403 40301. Concurrent units on one server do
// that (notify_real.txtar's two-unit push, about 1 run in 30 here). ntfy checks access before it reads the
// message, so a 403 was never delivered and sending it again cannot
// duplicate it; a 403 that persists is the real answer.
const (
	forbiddenRetries = 3
	forbiddenWait    = 150 * time.Millisecond
)

// maxResponseBytes bounds what Publish reads back from the server.
const maxResponseBytes = 64 << 10

// ErrMaybeDelivered is in the chain of a Publish error when ntfy may have
// received and delivered the message although Publish could not confirm it:
// the request was sent and then timed out or lost its connection, or ntfy
// answered 5xx. Publish never retries such a request (see Publish).
var ErrMaybeDelivered = errors.New("ntfy may have delivered it; not sent again, so as not to duplicate it")

// Client publishes messages to one ntfy server. The zero value of every field
// but Server is usable.
type Client struct {
	// Server is ntfy's base URL, e.g. "https://ntfy.example.com"; a path
	// prefix ("https://example.com/ntfy") is kept. See ntfyconf.CheckServerURL.
	Server string
	// Token, when set, is sent as "Authorization: Bearer <Token>" and
	// nowhere else: errors and log lines never contain it.
	Token string
	// HTTP is the client used for requests; nil means a new one. Redirects
	// are never followed (a POST redirected with 301/302 becomes a GET and
	// the message would be lost silently).
	HTTP *http.Client
	// Backoff lists the waits before each retry that ntfy gave no
	// Retry-After for; the last one repeats until RetryBudget is spent.
	// nil means DefaultBackoff, an empty non-nil slice means no retries.
	Backoff []time.Duration
	// AttemptTimeout bounds one request (0: DefaultAttemptTimeout) and
	// RetryBudget the whole Publish call, retries and waits included
	// (0: DefaultRetryBudget).
	AttemptTimeout time.Duration
	RetryBudget    time.Duration
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
	// RetryAfterWait is the wait the server asked for with Retry-After; 0
	// when it sent none (ntfy v2.13 never does).
	RetryAfterWait time.Duration
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

// Temporary reports whether the same request may succeed later and sending
// it again cannot deliver the message twice: true only for ntfy's
// request-rate limit (429 with code 42901, or with no code), which ntfy
// checks before it reads the message. A 429 for a daily quota (42908
// messages, 42909 failed logins, ...) is not worth retrying within a minute;
// 5xx answers may follow a delivery (Unwrap says ErrMaybeDelivered).
func (e *Error) Temporary() bool {
	return e.Status == http.StatusTooManyRequests && (e.Code == 0 || e.Code == 42901)
}

// RetryLater is Temporary, for outcome.Policy.
func (e *Error) RetryLater() bool { return e.Temporary() }

// RetryAfter is the wait ntfy asked for (outcome.Policy).
func (e *Error) RetryAfter() time.Duration { return e.RetryAfterWait }

// Unwrap puts ErrMaybeDelivered in the chain of a 5xx answer: ntfy v2.13
// hands a message to its subscribers before it writes it to its cache, and
// answers 500 when that write fails (server.go handlePublishInternal); a
// proxy's 502 or 504 may hide a delivery the same way.
func (e *Error) Unwrap() []error {
	if e.Status >= 500 {
		return []error{ErrMaybeDelivered, outcome.ErrMaybeDelivered}
	}
	return nil
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
// root URL), at most once: ntfy v2.13 has no idempotent publish (message ids
// are made by the server; there is no client-chosen id or sequence id), so a
// request is sent again only when ntfy cannot have accepted it:
//
//   - it was never completely sent (no connection, refused, DNS, TLS, or
//     a write error), or
//   - ntfy refused it with its request-rate limit (429), which it checks
//     before reading the message. Publish waits as long as a Retry-After
//     header says, else on the Backoff schedule.
//   - ntfy refused a request that carried a token with 403: up to
//     forbiddenRetries more times, shortly after (see forbiddenRetries).
//
// Everything else is final: a request that was sent and then timed out or
// lost its connection, and any 5xx answer, may have been delivered (the
// error wraps ErrMaybeDelivered); other answers will not change. Nothing is
// sent after a 2xx answer. No retry starts once RetryBudget is spent (or
// when a Retry-After asks for longer than what is left of it); the attempt
// running then may take its AttemptTimeout, so a call ends within
// RetryBudget + AttemptTimeout. The
// returned error never contains the token.
//
// Publish does not decide a job's result: callers record its error and go on.
func (c *Client) Publish(ctx context.Context, m notify.Message) error {
	return c.redact(c.publish(ctx, m))
}

func (c *Client) publish(ctx context.Context, m notify.Message) error {
	if err := ntfyconf.CheckServerURL(c.Server); err != nil {
		return err
	}
	if err := ntfyconf.CheckTopic(m.Topic); err != nil {
		return err
	}
	if m.Priority < 0 || m.Priority > 5 {
		return fmt.Errorf("priority %d is out of range: ntfy takes 1 (min) to 5 (max)", m.Priority)
	}
	if c.Token != "" {
		if err := ntfyconf.CheckToken(c.Token); err != nil {
			return err
		}
	}
	body, err := json.Marshal(publishRequest(m))
	if err != nil {
		return fmt.Errorf("encode ntfy message: %w", err)
	}
	endpoint := strings.TrimRight(c.Server, "/") + "/"
	budget := c.RetryBudget
	if budget <= 0 {
		budget = DefaultRetryBudget
	}
	backoff := c.Backoff
	if backoff == nil {
		backoff = DefaultBackoff
	}
	// The delivery rules every output follows (outcome.Policy); ntfy's
	// own extra is the 403 of a valid token, sent again shortly within
	// one attempt (see forbiddenRetries).
	p := outcome.Policy{Backoff: backoff, AttemptTimeout: c.AttemptTimeout, Budget: budget, LogName: "notify", Receiver: "ntfy"}
	if c.Log != nil {
		p.Log = redactingWriter{c}
	}
	client := c.httpClient()
	sent := 0 // requests, counted as the log lines count attempts
	return p.Send(ctx, "publish to ntfy at "+c.Server, func(ctx context.Context) error {
		for forbidden := 0; ; forbidden++ {
			sent++
			err := c.attempt(ctx, client, endpoint, body)
			var apiErr *Error
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden || c.Token == "" || forbidden >= forbiddenRetries || len(backoff) == 0 {
				return err
			}
			wait := forbiddenWait + time.Duration(rand.Int64N(int64(forbiddenWait)))
			if d, ok := ctx.Deadline(); ok && wait > time.Until(d) {
				return err
			}
			c.logf("hookrun: notify: attempt %d failed: %v; retrying in %s (ntfy can refuse a valid token while another request from this host is authenticated)\n", sent, c.redact(err), wait.Round(time.Millisecond))
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return err
			case <-t.C:
			}
		}
	})
}

// redactingWriter writes to c's Log with c's token cut out.
type redactingWriter struct{ c *Client }

func (w redactingWriter) Write(b []byte) (int, error) {
	s := string(b)
	if w.c.Token != "" {
		s = strings.ReplaceAll(s, w.c.Token, "[token]")
	}
	_, err := io.WriteString(w.c.Log, s)
	return len(b), err
}

// attempt sends one request and classifies the answer.
func (c *Client) attempt(ctx context.Context, client *http.Client, endpoint string, body []byte) error {
	// sent turns true once the whole request has been handed to the
	// connection: from then on ntfy may have it, whatever happens next.
	var sent atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				sent.Store(true)
			}
		},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	// No Idempotency-Key header: ntfy ignores it, and Go's transport would
	// take it as leave to resend the POST on a broken keep-alive connection.
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "hookrun")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := client.Do(req)
	if err != nil {
		if sent.Load() {
			return &sentError{err}
		}
		ue := unsent(err)
		if !ue.permanent {
			return outcome.Unsent(err) // may get through if sent again
		}
		return ue
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
			e.Text = "redirected to " + notify.Excerpt(loc, 200)
		}
		return e
	default:
		if c.Token != "" {
			// A server or proxy may echo the Authorization header. Redact
			// before anything cuts the text, so no part of it shows.
			data = bytes.ReplaceAll(data, []byte(c.Token), []byte("[token]"))
		}
		e := apiError(resp.StatusCode, data, c.Token != "")
		e.RetryAfterWait = httppost.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return e
	}
}

// apiError builds an Error from ntfy's error body, or an excerpt of any other
// body. tokenSent says whether the request carried a token, which decides
// what a 401 or 403 asks the user to do.
func apiError(status int, data []byte, tokenSent bool) *Error {
	e := &Error{Status: status}
	var body struct {
		Code  int    `json:"code"`
		HTTP  int    `json:"http"`
		Error string `json:"error"`
	}
	if json.Unmarshal(data, &body) == nil && (body.Code != 0 || body.Error != "") {
		e.Code, e.Text = body.Code, notify.Excerpt(body.Error, 300)
	} else if len(data) > 0 && !bytes.Contains(bytes.ToLower(data[:min(len(data), 512)]), []byte("<html")) {
		e.Text = notify.Excerpt(string(data), 200)
	}
	switch {
	case status == http.StatusUnauthorized && tokenSent:
		e.Hint = "the access token was refused (wrong, expired or deleted): check token_file or " + notify.TokenEnv
	case status == http.StatusUnauthorized:
		e.Hint = "the server wants an access token: set token_file or " + notify.TokenEnv
	case status == http.StatusForbidden && tokenSent:
		// ntfy checked the token (a wrong one is 401): its user lacks
		// write access to the topic. Setting token_file would not help.
		e.Hint = "the access token is valid but may not publish to this topic: give its user write access (ntfy access USER TOPIC rw) or use a token that has it"
	case status == http.StatusForbidden:
		e.Hint = "this topic needs an access token with write permission: set token_file or " + notify.TokenEnv
	case status == http.StatusNotFound, status == http.StatusMethodNotAllowed:
		e.Hint = "check that the server URL is ntfy's base URL"
	case status == http.StatusRequestEntityTooLarge:
		e.Hint = "the message is too large for this server"
	case status == http.StatusTooManyRequests:
		if e.Code != 0 && e.Code != 42901 {
			e.Hint = "a quota, not the request rate: retrying within a minute cannot help"
		}
	case status >= 500:
		e.Hint = "not sent again: ntfy may have delivered it before failing"
	}
	return e
}

// unsentError is a request that never completely left this machine (no
// connection, refused, DNS, TLS, or a write error): ntfy cannot have
// accepted it, so it is retried.
// A permanent one (a TLS handshake that failed: the server does not speak
// TLS, or its certificate is not trusted) fails the same way every time,
// so it is not.
type unsentError struct {
	err       error
	permanent bool
	hint      string
}

func (e *unsentError) Error() string {
	if e.hint != "" {
		return "not sent: " + e.err.Error() + "; " + e.hint
	}
	return "not sent: " + e.err.Error()
}
func (e *unsentError) Unwrap() error { return e.err }

// unsent classifies an error of a request that never left this machine.
func unsent(err error) *unsentError {
	var (
		header  tls.RecordHeaderError
		verify  *tls.CertificateVerificationError
		alert   tls.AlertError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
	)
	switch {
	// net/http replaces the tls.RecordHeaderError of an HTTP answer with
	// its own message, wrapping nothing.
	case errors.As(err, &header), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return &unsentError{err: err, permanent: true, hint: "the server does not speak TLS: use an http:// server URL, or ntfy's TLS port"}
	case errors.As(err, &verify), errors.As(err, &unknown), errors.As(err, &host), errors.As(err, &invalid):
		return &unsentError{err: err, permanent: true, hint: "the server's TLS certificate is not trusted here: fix the certificate or the server URL"}
	case errors.As(err, &alert):
		return &unsentError{err: err, permanent: true, hint: "the TLS handshake was refused: check the server URL"}
	}
	return &unsentError{err: err}
}

// sentError is a request that was sent but got no answer (timed out, reset,
// closed): ntfy may have delivered it, so it is not retried.
type sentError struct{ err error }

func (e *sentError) Error() string {
	return "sent, but no answer: " + e.err.Error() + "; " + ErrMaybeDelivered.Error()
}
func (e *sentError) Unwrap() []error {
	return []error{e.err, ErrMaybeDelivered, outcome.ErrMaybeDelivered}
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
		tok := strings.TrimSpace(getenv(notify.TokenEnv))
		if tok == "" {
			return "", nil
		}
		if err := ntfyconf.CheckToken(tok); err != nil {
			return "", fmt.Errorf("%s: %w", notify.TokenEnv, err)
		}
		return tok, nil
	}
	tok, err := outcome.ReadSecret(tokenFile, "ntfy token")
	if err != nil {
		return "", err
	}
	if tok == "" {
		return "", fmt.Errorf("ntfy token file %s is empty: put the access token (tk_...) in it, or remove token_file", tokenFile)
	}
	if err := ntfyconf.CheckToken(tok); err != nil {
		return "", fmt.Errorf("ntfy token file %s: %w", tokenFile, err)
	}
	return tok, nil
}
