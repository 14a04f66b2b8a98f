package waittest

import (
	"fmt"
	"testing"
	"time"
)

type fatal struct{ msg string }

func (f *fatal) Fatalf(format string, args ...any) { f.msg = fmt.Sprintf(format, args...) }

func TestUntilReturnsOnceTheConditionHolds(t *testing.T) {
	n := 0
	var f fatal
	start := time.Now()
	Until(&f, 10*time.Second, "the third look", func() (bool, string) {
		n++
		return n == 3, fmt.Sprint(n)
	})
	if f.msg != "" || n != 3 {
		t.Fatalf("Until failed (%q) or looked %d times, want 3", f.msg, n)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("three looks took %v", d)
	}
}

func TestUntilFailsSayingWhatAndLastSeen(t *testing.T) {
	var f fatal
	n := 0
	Until(&f, 200*time.Millisecond, "the sky to fall", func() (bool, string) {
		n++
		return false, fmt.Sprintf("look %d: still up", n)
	})
	want := fmt.Sprintf("waited 200ms for the sky to fall; it did not happen. Last seen: look %d: still up", n)
	if f.msg != want {
		t.Fatalf("got %q, want %q", f.msg, want)
	}
	if n < 2 {
		t.Errorf("looked %d times in 200ms", n)
	}
}

func TestUntilLooksOnceMoreAtTheDeadline(t *testing.T) {
	var f fatal
	deadline := time.Now().Add(100 * time.Millisecond)
	Until(&f, 100*time.Millisecond, "the deadline", func() (bool, string) {
		return time.Now().After(deadline), "before it"
	})
	if f.msg != "" {
		t.Fatalf("failed although the condition held at the deadline: %s", f.msg)
	}
}

func TestUntilWithTestingT(t *testing.T) {
	// A testing.TB is a Fataler; the condition holds at once.
	Until(t, time.Second, "nothing", func() (bool, string) { return true, "" })
}
