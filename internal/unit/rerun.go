package unit

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"slices"
	"strings"
	"time"

	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/runner"
)

// ErrPlanGone is Rerun's error for a unit whose plan has been pruned (only
// the latest KeepEnded ended units keep theirs).
var ErrPlanGone = errors.New("the plan is gone")

// Rerun is the plan of a new unit that runs ended unit name of repo again,
// as it ran: the same argv, refs, object names, environment, limits,
// concurrency and notifications, under a new name (HOOKRUN_UNIT too) made
// at now, in no push's digest. A unit that has not ended is not rerun.
func Rerun(repo, name string, now time.Time) (*plan.Unit, error) {
	if st, err := Open(repo).Load(name); err == nil && st.Phase != Ended {
		return nil, fmt.Errorf("%s has not ended (%s): rerun runs finished units; follow it with 'hookrun logs -f %s'", name, st.Phase, name)
	}
	u, err := plan.Load(layout.Plan(repo, name))
	if errors.Is(err, iofs.ErrNotExist) {
		return nil, ErrPlanGone
	}
	if err != nil {
		return nil, err
	}
	u.Created, u.Seq, u.Notify.Digest = now, 0, ""
	u.Name = runner.UnitName(u.Job, u.Repo, now)
	u.Env = slices.Clone(u.Env)
	for i, e := range u.Env {
		if strings.HasPrefix(e, "HOOKRUN_UNIT=") {
			u.Env[i] = "HOOKRUN_UNIT=" + u.Name
		}
	}
	return u, nil
}
