package job

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// flockWait takes an exclusive flock on f, polling every interval while
// another process holds it, until ctx ends (whose error it then returns).
// busy is called after each poll that found the lock taken, with the number
// of polls before it, so callers can say once whom they wait for. Polling
// rather than a blocking flock: a blocked flock(2) cannot be cancelled.
func flockWait(ctx context.Context, f *os.File, interval time.Duration, busy func(polls int)) error {
	for polls := 0; ; polls++ {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return err
		}
		busy(polls)
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
