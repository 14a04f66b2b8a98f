package outcome

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// The delivery rules every output follows, in one place (they are ntfy's,
// from internal/ntfy's client, generalised):
//
//   - At most once. A request that may have reached the receiver (it was
//     completely sent and then got no answer, or the receiver answered
//     5xx) is never sent again: its error wraps ErrMaybeDelivered. Only
//     an Idempotent receiver, which keeps one state per key whatever the
//     number of equal requests (a forge's commit status per context), may
//     get it again.
//   - Retry only what cannot have been delivered: a request that never
//     completely left this machine (Unsent), or that the receiver refused
//     before reading it and asked to send again (RetryLater, e.g. a 429
//     rate limit), waiting as long as its Retry-After says, else on the
//     Backoff schedule with up to a quarter of jitter.
//   - A budget: no retry starts once Budget is spent (or when the wait
//     asked for is longer than what is left); the attempt running then
//     may take its AttemptTimeout, so Send returns within Budget +
//     AttemptTimeout. Delivery never decides the job's result.

// ErrMaybeDelivered is in the chain of an error when the receiver may have
// the request although the sender could not confirm it. Such a request is
// not sent again (unless the policy is Idempotent).
var ErrMaybeDelivered = errors.New("the receiver may have it; not sent again, so as not to duplicate it")

// Defaults of Policy, the same as ntfy's: a delivery that never succeeds
// gives up well inside the 2 minutes systemd gives a unit's ExecStopPost=.
var (
	DefaultBackoff        = []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second}
	DefaultAttemptTimeout = 10 * time.Second
	DefaultBudget         = 45 * time.Second
)

// MaxBudget is the largest budget an output's configuration may set.
const MaxBudget = 90 * time.Second

// Policy is how one output retries. The zero value uses the defaults.
type Policy struct {
	// Backoff lists the waits before each retry that the receiver gave
	// no Retry-After for; the last one repeats until Budget is spent.
	// nil means DefaultBackoff, an empty non-nil slice means no retries.
	Backoff []time.Duration
	// AttemptTimeout bounds one attempt (0: DefaultAttemptTimeout);
	// Budget bounds the whole Send, retries and waits included (0:
	// DefaultBudget).
	AttemptTimeout time.Duration
	Budget         time.Duration
	// Idempotent says the receiver keeps one state however often it
	// gets the same request, so a maybe-delivered attempt may be sent
	// again (it still counts against the budget).
	Idempotent bool
	// Log, when set, gets one line per failed attempt that is retried:
	// "hookrun: LogName: attempt N failed: ..." (LogName empty: Send's
	// what).
	Log     io.Writer
	LogName string
	// Receiver names the receiver in errors ("ntfy"; empty: "the
	// receiver").
	Receiver string
}

// RetryLater is implemented by errors of attempts the receiver refused
// before reading them and that may succeed later (a rate limit). It is not
// net.Error's Temporary: a timeout is Temporary there, and a request that
// timed out after it was sent may have been delivered.
type RetryLater interface{ RetryLater() bool }

// retryAfter is implemented by errors that carry the receiver's
// Retry-After.
type retryAfter interface{ RetryAfter() time.Duration }

// unsentError is an attempt that never completely left this machine.
type unsentError struct{ err error }

func (e *unsentError) Error() string { return "not sent: " + e.err.Error() }
func (e *unsentError) Unwrap() error { return e.err }

// Unsent marks err as the error of an attempt that never completely left
// this machine (no connection, refused, DNS, TLS, a write error): the
// receiver cannot have it, so Send retries it.
func Unsent(err error) error { return &unsentError{err} }

// IsUnsent reports whether err was marked with Unsent.
func IsUnsent(err error) bool {
	var ue *unsentError
	return errors.As(err, &ue)
}

// sentError is an attempt that was sent but got no answer.
type sentError struct{ err error }

func (e *sentError) Error() string {
	return "sent, but no answer: " + e.err.Error() + "; " + ErrMaybeDelivered.Error()
}
func (e *sentError) Unwrap() []error { return []error{e.err, ErrMaybeDelivered} }

// SentNoAnswer marks err as the error of an attempt that was completely
// sent and then timed out or lost its connection: it wraps
// ErrMaybeDelivered.
func SentNoAnswer(err error) error { return &sentError{err} }

// retryable reports whether p may send again after err.
func (p Policy) retryable(err error) bool {
	if IsUnsent(err) {
		return true
	}
	var t RetryLater
	if errors.As(err, &t) && t.RetryLater() {
		return true
	}
	return p.Idempotent && errors.Is(err, ErrMaybeDelivered)
}

// Send runs attempt until it succeeds or the rules above say stop. what
// names the delivery in errors and log lines ("webhook to
// https://example.com/hook"). Each attempt gets a context bounded by
// AttemptTimeout. The returned error keeps the last attempt's error in
// its chain (errors.Is(err, ErrMaybeDelivered) still works).
func (p Policy) Send(ctx context.Context, what string, attempt func(context.Context) error) error {
	budget := p.Budget
	if budget <= 0 {
		budget = DefaultBudget
	}
	timeout := p.AttemptTimeout
	if timeout <= 0 {
		timeout = DefaultAttemptTimeout
	}
	backoff := p.Backoff
	if backoff == nil {
		backoff = DefaultBackoff
	}
	deadline := time.Now().Add(budget)
	stopped := func(n int, last error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w after %s: %w", what, ctx.Err(), plural(n, "attempt"), last)
		}
		return fmt.Errorf("%s: gave up after %s, no success within the retry budget of %s: %w", what, plural(n, "attempt"), budget, last)
	}
	for n := 1; ; n++ {
		actx, cancel := context.WithTimeout(ctx, timeout)
		err := attempt(actx)
		cancel()
		if err == nil {
			return nil
		}
		switch {
		case !p.retryable(err):
			return fmt.Errorf("%s: %w", what, err)
		case ctx.Err() != nil:
			return stopped(n, err)
		case len(backoff) == 0:
			return fmt.Errorf("%s: no retries configured: %w", what, err)
		}
		wait := backoff[min(n, len(backoff))-1]
		wait += time.Duration(rand.Int64N(int64(wait)/4 + 1))
		left := time.Until(deadline)
		var ra retryAfter
		if errors.As(err, &ra) && ra.RetryAfter() > 0 {
			wait = ra.RetryAfter()
			if wait > left {
				receiver := p.Receiver
				if receiver == "" {
					receiver = "the receiver"
				}
				return fmt.Errorf("%s: gave up after %s: %s asks to wait %s, more than the %s left of the retry budget (%s): %w",
					what, plural(n, "attempt"), receiver, wait.Round(time.Second), max(0, left).Round(time.Second), budget, err)
			}
		}
		if wait > left {
			return stopped(n, err)
		}
		if p.Log != nil {
			name := p.LogName
			if name == "" {
				name = what
			}
			fmt.Fprintf(p.Log, "hookrun: %s: attempt %d failed: %v; retrying in %s\n", name, n, err, wait.Round(time.Millisecond))
		}
		if !sleepCtx(ctx, wait) {
			return stopped(n, err)
		}
	}
}

// sleepCtx waits d, or less when ctx ends first; it reports whether the
// whole wait passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
