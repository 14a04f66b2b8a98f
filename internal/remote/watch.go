package remote

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/runner"
)

// DefaultLostContact is how long a watcher keeps trying to reach a host it
// lost before it gives the unit up as "lost contact with HOST".
const DefaultLostContact = 5 * time.Minute

// Watch timing: how often the remote unit's state is read, and the backoff
// between reconnection attempts (doubling from the first to the last).
const (
	pollEvery    = 500 * time.Millisecond
	firstBackoff = time.Second
	maxBackoff   = 30 * time.Second
)

// ErrLostContact is returned by Follow when the host could not be reached
// for longer than the bound.
var ErrLostContact = errors.New("lost contact")

// Watcher follows one unit on a host to its end.
type Watcher struct {
	Site *Site
	Unit string
	// LostContact bounds how long the host may stay unreachable
	// (DefaultLostContact when zero).
	LostContact time.Duration
	// Log receives one line per lost and regained contact.
	Log io.Writer

	bridge *Bridge
	sd     *runner.Systemd
}

// Follow waits until the unit has ended on the host and returns the outcome
// that the host's own `hookrun notify` recorded for it (its history in the
// mirror). While the host cannot be reached it retries with backoff; after
// LostContact without contact it returns an error wrapping ErrLostContact.
func (w *Watcher) Follow(ctx context.Context) (history.Record, error) {
	bound := w.LostContact
	if bound <= 0 {
		bound = DefaultLostContact
	}
	defer w.close()
	h := w.Site.Host
	lastContact := time.Now()
	backoff := firstBackoff
	lost := false
	noRecord := 0
	var lastErr error
	for {
		ended, err := w.ended(ctx)
		if err == nil && ended {
			rec, rerr := w.record(ctx)
			lastErr = rerr
			switch {
			case rerr == nil:
				return rec, nil
			case errors.Is(rerr, ErrUnreachable):
				err = rerr
			}
		}
		if err == nil && ended {
			// The host answers but has no outcome: its notify
			// never ran (the unit was removed by hand, or hookrun
			// is missing there). A few tries, then say so.
			if noRecord++; noRecord > 4 {
				return history.Record{Unit: w.Unit, Result: outcome.Failure,
					Reason: fmt.Sprintf("ended on %s without a recorded outcome (%v)", h.Name, lastErr)}, nil
			}
		}
		if err == nil {
			if lost {
				fmt.Fprintf(w.Log, "hookrun: contact with host %s regained\n", h.Name)
				lost = false
			}
			lastContact, backoff = time.Now(), firstBackoff
			if !ended {
				if err := sleep(ctx, pollEvery); err != nil {
					return history.Record{}, err
				}
				continue
			}
		} else {
			lastErr = err
			w.close()
			// ssh works, the host's manager does not (stopped, or the host
			// rebooting): what its hookrun recorded is in its history now,
			// not after LostContact.
			var ue *UnreachableError
			if errors.As(err, &ue) && ue.Reached {
				if rec, rerr := w.record(ctx); rerr == nil {
					return rec, nil
				}
			}
			if !lost {
				fmt.Fprintf(w.Log, "hookrun: lost contact with host %s: %v; retrying for up to %s\n", h.Name, err, bound)
				lost = true
			}
		}
		if time.Since(lastContact) >= bound {
			return history.Record{}, fmt.Errorf("%w with %s: no answer for %s (last: %v)", ErrLostContact, h.Name, bound.Round(time.Second), lastErr)
		}
		wait := min(backoff, time.Until(lastContact.Add(bound)))
		if err := sleep(ctx, max(wait, 10*time.Millisecond)); err != nil {
			return history.Record{}, err
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// ended reports whether the unit is no longer running on the host (it is
// inactive, failed, or already collected). An error means no contact.
func (w *Watcher) ended(ctx context.Context) (bool, error) {
	if w.sd == nil {
		dctx, cancel := context.WithTimeout(ctx, 2*ConnectTimeout)
		b, err := Dial(dctx, w.Site.Host)
		cancel()
		if err != nil {
			return false, err
		}
		sd, err := b.Systemd("hookrun")
		if err != nil {
			b.Close()
			return false, err
		}
		w.bridge, w.sd = b, sd
	}
	cctx, cancel := context.WithTimeout(ctx, 2*ConnectTimeout)
	defer cancel()
	props, err := w.sd.UnitProperties(cctx, w.Unit, "Unit")
	if err != nil {
		return false, w.bridge.CallError(err)
	}
	load, _ := props["LoadState"].(string)
	state, _ := props["ActiveState"].(string)
	return load == "not-found" || state == "inactive" || state == "failed", nil
}

// record reads the unit's outcome from the mirror's history on the host.
func (w *Watcher) record(ctx context.Context) (history.Record, error) {
	cctx, cancel := context.WithTimeout(ctx, 2*ConnectTimeout)
	defer cancel()
	out, err := w.Site.Host.Output(cctx, "cat", "--", w.Site.HistoryPath())
	if err != nil {
		return history.Record{}, err
	}
	rec, ok := FindRecord(out, w.Unit)
	if !ok {
		return history.Record{}, fmt.Errorf("host %s: %s ended but %s has no outcome for it", w.Site.Host.Name, w.Unit, w.Site.HistoryPath())
	}
	return rec, nil
}

// FindRecord returns the last record of unit in a history.jsonl file's bytes.
func FindRecord(b []byte, unit string) (history.Record, bool) {
	var found history.Record
	ok := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var r history.Record
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Unit == unit {
			found, ok = r, true
		}
	}
	return found, ok
}

func (w *Watcher) close() {
	if w.sd != nil {
		w.sd.Close() // closes the bridge's connection
		w.sd = nil
	}
	if w.bridge != nil {
		w.bridge.Close()
		w.bridge = nil
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
