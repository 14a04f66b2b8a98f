// Package waittest is the one way a test waits for a condition: it looks
// until the condition holds or a deadline passes, and then fails the test,
// saying what it waited for and what it last saw. The scripts' wait
// commands (cmd/hookrun/wait_test.go) and the Go tests that poll use it;
// nothing sleeps to order events (docs/testing.md).
package waittest

import "time"

// Fataler is what Until fails: a testing.TB or a *testscript.TestScript.
type Fataler interface {
	Fatalf(format string, args ...any)
}

// The interval between two looks starts at FirstPoll and doubles up to
// MaxPoll: a condition that holds soon is seen soon, and a long wait costs
// few looks.
const (
	FirstPoll = 10 * time.Millisecond
	MaxPoll   = 500 * time.Millisecond
)

// Until calls look until it reports true, or fails t once timeout has
// passed with "waited TIMEOUT for WHAT; it did not happen. Last seen: LAST",
// LAST being what look returned the last time. look runs at least once,
// and once more after the deadline has passed, so a condition that holds at
// the deadline is not failed.
func Until(t Fataler, timeout time.Duration, what string, look func() (ok bool, last string)) {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	until(t, timeout, FirstPoll, MaxPoll, what, look)
}

// UntilEvery is Until looking every interval, without backing off: for a
// condition that holds only for a moment, which the next command must
// catch (a hook still starting units when it is killed).
func UntilEvery(t Fataler, timeout, every time.Duration, what string, look func() (ok bool, last string)) {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	until(t, timeout, every, every, what, look)
}

func until(t Fataler, timeout, first, most time.Duration, what string, look func() (ok bool, last string)) {
	deadline := time.Now().Add(timeout)
	poll := first
	for {
		past := time.Now().After(deadline)
		ok, last := look()
		if ok {
			return
		}
		if past {
			t.Fatalf("waited %v for %s; it did not happen. Last seen: %s", timeout, what, last)
			return
		}
		time.Sleep(min(poll, time.Until(deadline)+time.Millisecond))
		poll = min(2*poll, most)
	}
}
