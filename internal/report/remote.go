package report

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/remote"
	"github.com/hookrun/hookrun/internal/unit"
)

// WatchRemote is `hookrun exec` for a unit that runs on a host: it follows
// the unit there to its end, copies the host's log of it into log, and
// returns the outcome there, which exec records for the watcher's
// ExecStopPost (`hookrun notify`) to report from here. Stopped (replace,
// systemctl stop), it stops the unit on the host too and returns ctx's
// error.
func WatchRemote(ctx context.Context, u *plan.Unit, log io.Writer) (*unit.Outcome, error) {
	h := remote.HostOf(u.Host)
	h.RuntimeDir = u.Host.RuntimeDir
	site := &remote.Site{Host: h, Mirror: u.Host.Mirror, RuntimeDir: u.Host.RuntimeDir}
	fmt.Fprintf(log, "hookrun: %s runs on host %s (%s); following it from here\n", u.Name, h.Name, h.SSH)
	w := &remote.Watcher{Site: site, Unit: u.Name, LostContact: u.Host.LostContact, Log: log}
	rec, err := w.Follow(ctx)
	if ctx.Err() != nil {
		StopOnHost(u, log) // stopped here: stop it there as well
		return nil, ctx.Err()
	}
	if err != nil {
		rec.Result, rec.Reason = outcome.Failure, err.Error()
		if errors.Is(err, remote.ErrLostContact) {
			rec.Reason = "lost contact with " + h.Name
			fmt.Fprintf(log, "hookrun: %v\n", err)
		}
	} else if out, lerr := h.Output(ctx, "cat", "--", site.LogPath(u.Name)); lerr == nil {
		fmt.Fprintf(log, "hookrun: output on host %s:\n", h.Name)
		// Without the host's outcome line: this watcher's own end says it.
		_, _ = log.Write(remote.WithoutOutcomeLine(out, u.Name, u.Job))
	}
	o := &unit.Outcome{Kind: rec.Result, Reason: rec.Reason, Duration: rec.Duration}
	if !o.Kind.Valid() {
		o.Kind, o.Reason = outcome.Failure, "the host reported no outcome"
	}
	return o, nil
}

// StopOnHost stops u's unit on its host, within a bound, and says so in
// log: its watcher here was stopped, or cancelled before it followed it.
func StopOnHost(u *plan.Unit, log io.Writer) {
	h := remote.HostOf(u.Host)
	ctx, cancel := context.WithTimeout(context.Background(), 2*remote.ConnectTimeout)
	defer cancel()
	if err := remote.StopUnit(ctx, h, u.Name); err != nil {
		fmt.Fprintf(log, "hookrun: could not stop %s on host %s: %v\n", u.Name, h.Name, err)
		return
	}
	fmt.Fprintf(log, "hookrun: stopped %s on host %s\n", u.Name, h.Name)
}
