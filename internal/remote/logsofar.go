package remote

import (
	"context"
	"fmt"
	"io"

	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/unit"
)

// LogSoFar writes to w, for the unit name of the repository at repo when
// it is running on another host, the output it has written there so far,
// fetched over ssh (once the unit has ended, its watcher has copied that
// output into the local log, and LogSoFar writes nothing). onHost reports
// whether the unit runs on a host; err, that its output could not be
// fetched from there.
func LogSoFar(repo, name string, w io.Writer) (onHost bool, err error) {
	u, err := plan.Load(layout.Plan(repo, name))
	if err != nil || u.Host == nil || u.Host.Mirror == "" {
		return false, nil
	}
	if st, err := unit.Open(repo).Load(name); err == nil && (st.Phase == unit.Ended || st.Exit != nil) {
		// Its watcher has copied the host's log here at its end: printing
		// the host's copy too would show every line twice.
		return false, nil
	}
	h := HostOf(u.Host)
	site := &Site{Host: h, Mirror: u.Host.Mirror}
	ctx, cancel := context.WithTimeout(context.Background(), 2*ConnectTimeout)
	defer cancel()
	out, err := h.Output(ctx, "cat", "--", site.LogPath(name))
	if err != nil {
		return true, fmt.Errorf("cannot fetch the output so far from host %s: %v", h.Name, err)
	}
	fmt.Fprintf(w, "hookrun: output so far on host %s:\n", h.Name)
	_, _ = w.Write(out)
	return true, nil
}
