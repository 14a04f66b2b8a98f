package push

import (
	"time"

	"github.com/hookrun/hookrun/internal/digest"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/plan"
)

// assignDigests gives the units of one push to the repository at repoPath
// that notify the same topic, when many, one digest (digest.Assign), before
// any starts (a quick unit may end at once), and holds the digests while
// the caller lives: `hookrun reconcile` closes a digest whose hook died
// before saving every unit of it, never one still filling. release lets
// them go; it is never nil.
func assignDigests(repoPath string, units []*plan.Unit, now time.Time) (release func(), err error) {
	groups, err := digest.Assign(layout.Dir(repoPath), units, now)
	return digest.Hold(groups), err
}
