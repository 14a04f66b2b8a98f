package main

// Jobs on other hosts (host = "NAME"): internal/unit's Launcher starts them
// there through internal/remote (a.launcher wires the two); this file
// reports those that did not start, and is the exec side: the local watcher
// unit that follows one of them and reports its outcome.

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/remote"
	"github.com/hookrun/hookrun/internal/unit"
)

// remoteNotStarted records and reports each unit that could not start on
// its host as its watcher would have: history, notification (or its place
// in the push's digest). A host being down is news the operator wants, and
// the pusher already has the one line saying so: what finish says goes to
// the unit's log only.
func (a *app) remoteNotStarted(units []*plan.Unit, errs []error) {
	for i, u := range units {
		if errs[i] == nil || u.Host == nil {
			continue
		}
		o := notify.Outcome{Kind: notify.Failure, Reason: "not started on host " + u.Host.Name + ": " + errs[i].Error()}
		quiet := *a
		quiet.stderr = io.Discard
		lf, err := openLog(u)
		if err == nil {
			quiet.stderr = lf
		}
		fin, err := unit.Unstarted(u, o, a.now())
		if err != nil {
			quiet.warnf("cannot record the outcome: %v", err)
		}
		quiet.report(fin)
		a.letters = quiet.letters // posted, for the push to hand over (flushLetters)
		if lf != nil {
			lf.Close()
		}
	}
}

// watchRemote is `hookrun exec` for a unit that runs on a host: it follows
// the unit there to its end, copies the host's log of it into the local
// log, and returns the outcome there, which exec records for the watcher's
// ExecStopPost (`hookrun notify`) to notify from here. Stopped (replace,
// systemctl stop), it stops the unit on the host too and returns ctx's
// error.
func (a *app) watchRemote(ctx context.Context, u *plan.Unit, log io.Writer) (*unit.Outcome, error) {
	h := remote.HostOf(u.Host)
	h.RuntimeDir = u.Host.RuntimeDir
	site := &remote.Site{Host: h, Mirror: u.Host.Mirror, RuntimeDir: u.Host.RuntimeDir}
	fmt.Fprintf(log, "hookrun: %s runs on host %s (%s); following it from here\n", u.Name, h.Name, h.SSH)
	w := &remote.Watcher{Site: site, Unit: u.Name, LostContact: u.Host.LostContact, Log: log}
	rec, err := w.Follow(ctx)
	if ctx.Err() != nil {
		stopOnHost(u, log) // stopped here: stop it there as well
		return nil, ctx.Err()
	}
	if err != nil {
		rec.Result, rec.Reason = string(notify.Failure), err.Error()
		if errors.Is(err, remote.ErrLostContact) {
			rec.Reason = "lost contact with " + h.Name
			fmt.Fprintf(log, "hookrun: %v\n", err)
		}
	} else if out, lerr := h.Output(ctx, "cat", "--", site.LogPath(u.Name)); lerr == nil {
		fmt.Fprintf(log, "hookrun: output on host %s:\n", h.Name)
		// Without the host's outcome line: this watcher's own end says it.
		_, _ = log.Write(remote.WithoutOutcomeLine(out, u.Name, u.Job))
	}
	o := &unit.Outcome{Kind: notify.Kind(rec.Result), Reason: rec.Reason, Duration: rec.Duration}
	if o.Kind == "" {
		o.Kind, o.Reason = notify.Failure, "the host reported no outcome"
	}
	return o, nil
}

// stopOnHost stops u's unit on its host, within a bound, and says so in
// log: its watcher here was stopped, or cancelled before it followed it.
func stopOnHost(u *plan.Unit, log io.Writer) {
	h := remote.HostOf(u.Host)
	ctx, cancel := context.WithTimeout(context.Background(), 2*remote.ConnectTimeout)
	defer cancel()
	if err := remote.StopUnit(ctx, h, u.Name); err != nil {
		fmt.Fprintf(log, "hookrun: could not stop %s on host %s: %v\n", u.Name, h.Name, err)
		return
	}
	fmt.Fprintf(log, "hookrun: stopped %s on host %s\n", u.Name, h.Name)
}

// remoteLogSoFar prints, for a unit that is running on another host, the
// output it has written there so far, fetched over ssh. (Once the unit has
// ended its watcher has copied that output into the local log.) Failures
// are one line on stderr. It reports whether the unit runs on a host.
func (a *app) remoteLogSoFar(repo, name string) bool {
	u, err := plan.Load(layout.Plan(repo, name))
	if err != nil || u.Host == nil || u.Host.Mirror == "" {
		return false
	}
	if st, err := unit.Open(repo).Load(name); err == nil && (st.Phase == unit.Ended || st.Exit != nil) {
		// Its watcher has copied the host's log here at its end: printing
		// the host's copy too would show every line twice.
		return false
	}
	h := remote.HostOf(u.Host)
	site := &remote.Site{Host: h, Mirror: u.Host.Mirror}
	ctx, cancel := context.WithTimeout(context.Background(), 2*remote.ConnectTimeout)
	defer cancel()
	out, err := h.Output(ctx, "cat", "--", site.LogPath(name))
	if err != nil {
		a.warnf("cannot fetch the output so far from host %s: %v", h.Name, err)
		return true
	}
	fmt.Fprintf(a.stdout, "hookrun: output so far on host %s:\n", h.Name)
	_, _ = a.stdout.Write(out)
	return true
}
