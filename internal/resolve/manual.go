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
// p.Updates is ignored; p.Changes is asked for u's files when a rule with
// paths starts job.
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
	unit, err := buildUnit(c, p, &selection{job: job, refs: []plan.Ref{ref}, rules: []string{"hookrun run"}})
	if err != nil {
		return nil, err
	}
	// A job a rule with paths starts reads the files the push changed, as
	// after a push: the same question, for u.
	if pathsStart(c, job) && p.Changes != nil {
		got, err := p.Changes.Files([]match.RefUpdate{u})
		if err != nil {
			return nil, err
		}
		unit.ChangedFiles = joinFiles([]int{0}, map[int][]string{0: got[0]})
	}
	return unit, nil
}

// pathsStart reports whether a rule with paths starts job.
func pathsStart(c *config.Config, job string) bool {
	for _, r := range c.Rules {
		if r.Selector.Paths != nil && slices.Contains(r.Jobs, job) {
			return true
		}
	}
	return false
}
