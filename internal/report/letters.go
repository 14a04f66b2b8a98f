package report

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/ntfy"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/unit"
)

// PostLetter sends m to n's topic out of the caller's path: a letter in
// the repository's outbox, delivered by a `hookrun deliver` process of its
// own, so a push never waits on ntfy (a missed one is delivered by
// `hookrun reconcile`). Where no letter can be written, m is sent here
// and now, once, rather than not at all.
func (r *Reporter) PostLetter(n plan.Notify, m notify.Message, to unit.Addressee) {
	l := notify.Letter{Server: n.Server, Topic: n.Topic, TokenFile: n.TokenFile, RetryBudget: n.RetryBudget, Message: m, Posted: r.Now()}
	path, err := unit.Post(l, to)
	if err == nil && r.Held != nil {
		*r.Held = append(*r.Held, path)
		return
	}
	if err == nil {
		if err = notify.Spawn(r.Self, path); err == nil {
			return
		}
		os.Remove(path)
	}
	r.warnf("%v; sending it now", err)
	l.RetryBudget = time.Nanosecond // one attempt: the push is waiting
	d := ntfy.Send(context.Background(), l, r.Getenv, r.Log)
	if err := unit.RecordLetter(unit.Address(l, to), d, r.Now); err != nil {
		r.warnf("%v", err)
	}
	if d.State != outcome.Delivered {
		r.errorf("notification of the failed push %s", d.Text())
	}
}

// lettersPerDeliverer bounds the argument list of one `hookrun deliver`.
const lettersPerDeliverer = 200

// Flush hands the letters PostLetter held to `hookrun deliver` processes;
// one that cannot start leaves its letters to `hookrun reconcile`.
func (r *Reporter) Flush() {
	if r.Held == nil {
		return
	}
	for len(*r.Held) > 0 {
		n := min(len(*r.Held), lettersPerDeliverer)
		if err := notify.Spawn(r.Self, (*r.Held)[:n]...); err != nil {
			r.warnf("%v; hookrun reconcile sends them", err)
		}
		*r.Held = (*r.Held)[n:]
	}
}

// DeliverLetter sends one letter of an outbox and records what became of
// it (notify.Deliver sending with ntfy.Send, unit.RecordLetter). It reports false when the
// letter could not be read or its delivery recorded.
func (r *Reporter) DeliverLetter(path string) bool {
	send := func(ctx context.Context, l notify.Letter) outcome.Delivery { return ntfy.Send(ctx, l, r.Getenv, r.Log) }
	err := notify.Deliver(context.Background(), path, send, r.Log, func(l notify.Letter, d outcome.Delivery) error {
		if d.State != outcome.Delivered {
			r.errorf("notification to topic %s %s", l.Topic, d.Text())
		}
		return unit.RecordLetter(l, d, r.Now)
	})
	if err != nil && !errors.Is(err, notify.ErrBusy) {
		r.errorf("%v", err)
		return false
	}
	return true
}
