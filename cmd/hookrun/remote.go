package main

// Jobs on other hosts (host = "NAME"): internal/unit's Launcher starts them
// there through internal/remote (a.launcher wires the two), and
// internal/report follows and reports them; this file shows the output of
// one still running there.

import (
	"context"
	"fmt"

	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/remote"
	"github.com/hookrun/hookrun/internal/unit"
)

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
