package resolve

import (
	"fmt"
	"maps"
	"slices"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/plan"
)

// EventManual is the event of a unit started by hand (hookrun run): no push
// happened, so no rule was asked.
const EventManual = "manual"

// Manual is the unit a push of u would start for job, built the same way
// (templates, limits, environment, notifications), but asked for by a
// person: no rule decides, and {event} and HOOKRUN_EVENT are "manual".
// p.Updates is ignored.
func Manual(c *config.Config, p Push, job string, u match.RefUpdate) (*plan.Unit, error) {
	j := c.Jobs[job]
	if j == nil {
		names := slices.Sorted(maps.Keys(c.Jobs))
		if len(names) == 0 {
			return nil, fmt.Errorf("no job %q: the config defines no jobs", job)
		}
		return nil, fmt.Errorf("no job %q; the config defines %v", job, names)
	}
	ref := refOf(u, EventManual, p.Peel)
	return buildUnit(c, p, &selection{job: job, refs: []plan.Ref{ref}, rules: []string{"hookrun run"}}), nil
}
