// Package runner starts the units of a push: one systemd transient unit per
// plan.Unit through the manager's D-Bus API (Systemd), or, where no manager is
// reachable, one detached `hookrun exec --supervise` process (Exec).
//
// Starting is fire-and-forget: a Starter returns as soon as the job has been
// handed over (the manager accepted the start job, or the process exists) and
// never waits for it to finish, so `git push` is not held up. The unit itself
// runs `hookrun exec PLAN` and, whatever the outcome, `hookrun notify PLAN`.
package runner

import (
	"context"
	"errors"

	"github.com/hookrun/hookrun/internal/plan"
)

// Starter starts units. Implementations: *Systemd and *Exec.
type Starter interface {
	// Start starts u, whose plan was saved at planPath (an absolute path;
	// the started job reads it with `hookrun exec planPath`). It returns
	// once the job has been handed over — for systemd, when the manager
	// has accepted the start job under u.Name; for exec, when the detached
	// process has been created — and never waits for the job to run or end.
	// ctx bounds only that hand-over.
	//
	// An error means nothing was started. When u.Name is already taken the
	// error wraps ErrUnitExists: the caller may pick a new name (and save
	// the plan under it) and call Start again. Start may be called any
	// number of times, for different units, before Close.
	Start(ctx context.Context, u *plan.Unit, planPath string) error

	// Stop asks the unit h to stop and returns without waiting for it to
	// end: for systemd the manager's stop job (its main process gets
	// SIGTERM, then SIGKILL after StopTimeout; ExecStopPost runs), for
	// exec SIGTERM to the supervisor process h.PID. A unit that is gone
	// gives an error wrapping ErrNoSuchUnit. Stopping a systemd unit whose
	// start job is still queued cancels that job: the unit never runs and
	// its ExecStopPost never runs either, so callers stop only units whose
	// `hookrun exec` has begun (internal/unit does).
	Stop(ctx context.Context, h Handle) error

	// Close releases the Starter's resources (the D-Bus connection). Units
	// already started are unaffected: they belong to the manager (or are
	// detached processes). Start must not be called after Close.
	Close() error
}

// Handle names a started unit: its name, and for the exec runner the
// process id of its `hookrun exec --supervise`.
type Handle struct {
	Name string
	PID  int
}

var (
	// ErrManagerUnreachable wraps every failure to connect to a systemd
	// manager, so runner = "auto" can fall back to the exec runner.
	ErrManagerUnreachable = errors.New("systemd manager unreachable")

	// ErrUnitExists means a unit of that name is already loaded; retry
	// with a new name.
	ErrUnitExists = errors.New("unit already exists")

	// ErrNoSuchUnit means the manager does not know the unit (it has
	// ended and been garbage-collected, or never existed).
	ErrNoSuchUnit = errors.New("no such unit")
)

var (
	_ Starter = (*Systemd)(nil)
	_ Starter = (*Exec)(nil)
)
