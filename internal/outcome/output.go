package outcome

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Output is one place an ended unit's outcome goes: ntfy, the status site,
// a forge's commit status, a webhook. The end of a unit calls Deliver on
// every configured output, records each one's Delivery, and never lets
// an output's failure change the job's result.
type Output interface {
	// Name identifies the output in delivery records and messages:
	// "ntfy", "site", "forge", "webhook https://example.com/hook".
	// It never contains a secret.
	Name() string
	// Deliver hands r to the output, following the delivery rules (see
	// Send): at most once, retrying only what cannot have been
	// delivered, within the output's budget. It returns nil when r was
	// delivered; an error wrapping ErrMaybeDelivered when it may have
	// been; any other error when it was not. It must return by the
	// time ctx ends, and must not panic on any Record that passes
	// Record.Check.
	Deliver(ctx context.Context, r Record) error
}

// Starter is an Output that also wants to know when a unit starts (a
// forge's "pending" status). The start of a unit calls Started on every
// output that implements it, with r.Kind Unknown and r.Duration 0; its
// errors are recorded like Deliver's and never stop the unit.
type Starter interface {
	Output
	Started(ctx context.Context, r Record) error
}

// State is what became of one delivery.
type State uint8

// The delivery states. Their JSON and text form is the name.
const (
	Pending        State = iota // not attempted yet
	Delivered                   // the output confirmed it
	NotDelivered                // it failed, and the output cannot have it
	MaybeDelivered              // sent but unconfirmed: never sent again
	Skipped                     // the output's filter (e.g. on = [...]) left it out
)

var stateNames = [...]string{
	Pending:        "pending",
	Delivered:      "delivered",
	NotDelivered:   "not-delivered",
	MaybeDelivered: "maybe-delivered",
	Skipped:        "skipped",
}

// String returns the state's name ("state(N)" for an invalid value).
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ParseState reads a state name as String writes it.
func ParseState(s string) (State, error) {
	for i, n := range stateNames {
		if n == s {
			return State(i), nil
		}
	}
	return 0, fmt.Errorf("unknown delivery state %q: want one of %s", s, strings.Join(stateNames[:], ", "))
}

// MarshalText writes the name; an invalid State is an error.
func (s State) MarshalText() ([]byte, error) {
	if int(s) >= len(stateNames) {
		return nil, fmt.Errorf("cannot encode delivery state %s", s)
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a name with ParseState.
func (s *State) UnmarshalText(b []byte) error {
	v, err := ParseState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Delivery is the typed record of one output's delivery of one outcome,
// as `hookrun status` shows it.
// Ntfy names ntfy's delivery where it is recorded (a unit's state, its
// history record) and in notify's results: one notification a unit,
// whatever its topic.
const Ntfy = "ntfy"

type Delivery struct {
	Output string `json:"output"` // Output.Name
	State  State  `json:"state"`
	// Digest, when not 0, says the delivery was of the push's digest of
	// this many units rather than of the unit's own message (-1: of a
	// digest of a number not recorded, read from an old history file).
	Digest int    `json:"digest,omitempty"`
	Error  string `json:"error,omitempty"` // why it failed, for a person; never a secret
}

// Summary is what became of d in a few words, as the NOTIFY column of
// `hookrun status` shows it: "delivered", "delivered in the push's
// digest", "pending", "skipped", "not delivered" or "maybe delivered".
func (d Delivery) Summary() string {
	switch d.State {
	case Delivered:
		if d.Digest != 0 {
			return "delivered in the push's digest"
		}
		return "delivered"
	case NotDelivered:
		return "not delivered"
	case MaybeDelivered:
		return "maybe delivered"
	}
	return d.State.String()
}

// Failed reports whether d failed or may have failed.
func (d Delivery) Failed() bool { return d.State == NotDelivered || d.State == MaybeDelivered }

// Text is d for a person, with why it failed: Summary, followed for a
// failure by ": " and the error, and the digest it was of ("not
// delivered: ntfy answered 429 (the push's digest of 3 units)").
func (d Delivery) Text() string {
	if !d.Failed() {
		return d.Summary()
	}
	t := d.Summary() + ": " + d.Error
	if d.Digest > 0 {
		t += fmt.Sprintf(" (the push's digest of %d units)", d.Digest)
	}
	return t
}

// DeliveryOf classifies the error of Deliver or Started as a Delivery of
// output name.
func DeliveryOf(name string, err error) Delivery {
	switch {
	case err == nil:
		return Delivery{Output: name, State: Delivered}
	case errors.Is(err, ErrSkipped):
		return Delivery{Output: name, State: Skipped}
	case errors.Is(err, ErrMaybeDelivered):
		return Delivery{Output: name, State: MaybeDelivered, Error: err.Error()}
	default:
		return Delivery{Output: name, State: NotDelivered, Error: err.Error()}
	}
}

// ErrSkipped is returned by an output that leaves a record out on purpose
// (its `on` list does not name the outcome). It is not a failure.
var ErrSkipped = errors.New("not wanted by this output's filter")

// DeliverAll hands r to every output in turn and returns one Delivery per
// output, in order. A failing or panicking output does not stop the
// others, and nothing here decides the job's result.
func DeliverAll(ctx context.Context, outs []Output, r Record) []Delivery {
	ds := make([]Delivery, 0, len(outs))
	for _, o := range outs {
		ds = append(ds, DeliveryOf(o.Name(), safely(func() error { return o.Deliver(ctx, r) })))
	}
	return ds
}

// StartAll calls Started on every output that is a Starter and returns
// their Deliveries (outputs that are not Starters are left out).
func StartAll(ctx context.Context, outs []Output, r Record) []Delivery {
	var ds []Delivery
	for _, o := range outs {
		if s, ok := o.(Starter); ok {
			ds = append(ds, DeliveryOf(o.Name(), safely(func() error { return s.Started(ctx, r) })))
		}
	}
	return ds
}

// safely turns a panic of f into an error: one broken output must not
// take the end of a unit (and every other output) down with it.
func safely(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("output failed: internal error: %v", p)
		}
	}()
	return f()
}

// Wants reports whether an output whose `on` list is on takes k: an empty
// list takes every outcome.
func Wants(on []Kind, k Kind) bool {
	if len(on) == 0 {
		return true
	}
	for _, o := range on {
		if o == k {
			return true
		}
	}
	return false
}
