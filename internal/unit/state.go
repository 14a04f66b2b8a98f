// Package unit owns the life of hookrun's units, from the push that saves
// one to the record of how it ended: numbering queued units, stopping the
// ones a newer push replaces or supersedes, saving plans, starting them (with
// the `auto` fallback from systemd to the exec runner), the queue a waiting
// unit sits in, and the outcome and notification delivery of every unit.
//
// Each unit has one state file, $GIT_DIR/hookrun/state/UNIT.json, beside its
// plan (units/UNIT.json): a log of whole JSON records, one per line, the
// last of which is the unit's state. It is created whole (a temporary file,
// renamed), and each change appends a record, under a lock, synced (see
// Store.appendState), by the functions of this package: the hook
// (queued, started), `hookrun exec` (running, the job's exit), `hookrun
// notify` (ended: outcome, then delivery), and a newer push or an operator
// (a cancel request). `status` and `logs` read it through Store. No other
// file says anything about a unit.
//
// Locks are open-file-description (OFD) byte-range locks on the unit's plan
// file, which is written once and never renamed:
//
//   - byte 0, the owner lock: held by the hook from saving the plan until
//     the unit is handed over, then by `hookrun exec` for as long as it
//     runs. A unit whose owner lock is free and whose state says it was
//     never handed over was abandoned (the hook was killed): it is never
//     waited on. One whose exec has gone no longer blocks its queue, even
//     while its notification is still being delivered.
//   - byte 1, the state lock: held while the state file is read and its
//     new record appended (or the file replaced).
//
// A hook holds its repository's launch lock (flock on
// $GIT_DIR/hookrun/launch.lock) while it numbers, cancels and saves units
// that wait for or supersede others (queue, replace, coalesce), so that
// concurrent pushes of one repository are ordered: each sees the units of
// the pushes before it, and their numbers follow the same order.
package unit

import (
	"encoding/json"
	"time"

	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
)

// Version of the state file format.
const Version = 1

// Phase is where a unit is in its life. Phases only move forward.
type Phase string

// Phases, in order.
const (
	// Queued: the plan is saved; the hook has not handed the unit over yet.
	Queued Phase = "queued"
	// Started: the manager accepted the unit (or the exec runner's
	// supervisor process exists); `hookrun exec` has not taken it over.
	Started Phase = "started"
	// Running: `hookrun exec` took it over: it waits for its turn
	// (JobStart is zero) or runs the job.
	Running Phase = "running"
	// Ended: the outcome is recorded. Delivery may still be pending.
	Ended Phase = "ended"
)

func (p Phase) order() int {
	switch p {
	case Queued:
		return 1
	case Started:
		return 2
	case Running:
		return 3
	case Ended:
		return 4
	}
	return 0
}

// State is everything hookrun knows about one unit. Times are zero until
// the event happened.
type State struct {
	Version     int              `json:"version"`
	Unit        string           `json:"unit"`
	Repo        string           `json:"repo"`
	Job         string           `json:"job"`
	Concurrency plan.Concurrency `json:"concurrency"`
	Seq         uint64           `json:"seq,omitempty"`
	// Runner is the runner that started the unit: systemd or exec (never
	// auto: the fallback is resolved at start).
	Runner  plan.Runner  `json:"runner"`
	Manager plan.Manager `json:"manager,omitempty"`
	Phase   Phase        `json:"phase"`

	Saved    time.Time `json:"saved"`                 // the hook saved the plan
	Started  time.Time `json:"started,omitzero"`      // handed over
	Running  time.Time `json:"running,omitzero"`      // hookrun exec took over
	JobStart time.Time `json:"job_start,omitzero"`    // the job's first step began
	Ended    time.Time `json:"ended,omitzero"`        // the outcome was recorded
	PID      int       `json:"pid,omitempty"`         // the process of hookrun exec
	StartErr string    `json:"start_error,omitempty"` // why the hand-over failed

	Cancel   *Cancel   `json:"cancel,omitempty"`
	Exit     *Exit     `json:"exit,omitempty"`
	Outcome  *Outcome  `json:"outcome,omitempty"`
	Delivery *Delivery `json:"delivery,omitempty"`
	// CorrectedFrom is the outcome the host's own record replaced (a
	// remote unit first recorded as "lost contact": Correct).
	CorrectedFrom *Outcome `json:"corrected_from,omitempty"`
}

// Cancel is a request to stop a unit on purpose: a newer push replaced or
// superseded it, or an operator stopped it. The unit ends cancelled unless
// its job had already ended on its own.
type Cancel struct {
	Reason string    `json:"reason"` // e.g. "replaced by a newer push (3f9a1c2)"
	At     time.Time `json:"at"`
}

// Exit is how the job ended, as `hookrun exec` saw it.
type Exit struct {
	At time.Time `json:"at"`
	// Code is the job's exit status when it exited; 0 with Signal empty
	// and Error empty is success.
	Code int `json:"code,omitempty"`
	// Signal is the name of the signal that killed the job ("TERM",
	// "SEGV"), and CoreDump whether it dumped core.
	Signal   string `json:"signal,omitempty"`
	CoreDump bool   `json:"core_dump,omitempty"`
	// TimedOut: hookrun exec stopped the job at its timeout.
	TimedOut bool `json:"timed_out,omitempty"`
	// Stopped: hookrun exec itself was told to stop (SIGTERM, SIGINT or
	// SIGHUP: `systemctl stop`, a manager shutdown, or Stop) and stopped
	// the job.
	Stopped bool `json:"stopped,omitempty"`
	// NotRun: the job never began (cancelled first, or stopped in the queue).
	NotRun bool `json:"not_run,omitempty"`
	// Step is the failing step of a sequence, and Detail the program's own
	// word on why it failed (gitmal's last line), when known.
	Step   string `json:"step,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Error says why the job failed inside hookrun or could not be run
	// (a missing program, working directory or plan), for a person.
	Error string `json:"error,omitempty"`
	// Remote is the outcome on the job's host (host = "NAME"), as the
	// local watcher learned it.
	Remote *Outcome `json:"remote,omitempty"`
}

// Success reports whether the job ran and ended on its own with status 0.
func (e *Exit) Success() bool {
	if e != nil && e.Remote != nil {
		return e.Remote.Kind == outcome.Success
	}
	return e != nil && !e.NotRun && !e.Stopped && !e.TimedOut && e.Code == 0 && e.Signal == "" && e.Error == ""
}

// Outcome is the recorded end of a unit.
type Outcome struct {
	Kind     outcome.Kind  `json:"kind"`
	Reason   string        `json:"reason,omitempty"`
	Duration time.Duration `json:"duration"`
}

// Notify turns the record back into the notify package's Outcome.
func (o Outcome) Notify() notify.Outcome {
	return notify.Outcome{Kind: o.Kind, Reason: o.Reason, Duration: o.Duration}
}

// Delivery is what became of a unit's notification.
type Delivery struct {
	// Status is where it is: outcome.Pending while being sent,
	// outcome.Skipped with no server or not wanted for this outcome.
	Status outcome.State `json:"status"`
	// Digest: it went in the push's digest of this many units.
	Digest   int       `json:"digest,omitempty"`
	At       time.Time `json:"at"`
	Attempts int       `json:"attempts,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// DeliveryOf is the state's record of d, what became of a notification,
// at time at.
func DeliveryOf(d outcome.Delivery, at time.Time) Delivery {
	return Delivery{Status: d.State, Digest: d.Digest, At: at, Error: d.Error}
}

// Outcome is d as the delivery of the output ntfy.
func (d Delivery) Outcome() outcome.Delivery {
	return outcome.Delivery{Output: outcome.Ntfy, State: d.Status, Digest: d.Digest, Error: d.Error}
}

// UnmarshalJSON reads a delivery of either form: state files written
// before deliveries were typed name "not-delivered" "failed" and
// "maybe-delivered" "maybe".
func (d *Delivery) UnmarshalJSON(b []byte) error {
	type plain Delivery // without this method
	var v struct {
		plain
		Status string `json:"status"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = Delivery(v.plain)
	switch v.Status {
	case "failed":
		d.Status = outcome.NotDelivered
	case "maybe":
		d.Status = outcome.MaybeDelivered
	default:
		st, err := outcome.ParseState(v.Status)
		if err != nil {
			return err
		}
		d.Status = st
	}
	return nil
}

// Live reports whether the unit may still run its job or is running it:
// not ended, and its job has not exited.
func (s *State) Live() bool { return s.Phase != Ended && s.Exit == nil }
