// Package outcome is the one vocabulary for how a unit ended and the one
// seam through which an ended unit reaches people: the typed Kind, the
// Record of a run that every output needs, the Output interface that ntfy,
// the status site, forge commit statuses and webhooks implement, and the
// delivery rules they all follow (Policy, Send).
//
// It is a leaf: it imports nothing internal, so unit, history, digest,
// notify, status and every output can share it.
package outcome

import (
	"fmt"
	"strings"
	"time"
)

// Kind is how a unit ended. The zero value is no outcome at all (Unknown):
// parsing never returns it without an error, and Records carry a real one.
type Kind uint8

// The outcomes. Their order is fixed: it is how badges, pages and tests
// enumerate them (Kinds).
const (
	Unknown    Kind = iota
	Success         // the job's unit ended cleanly
	Failure         // non-zero exit, timeout, kill, or a systemd failure
	Cancelled       // stopped on purpose, e.g. a newer push replaced it
	Lost            // the host running it stopped answering ("lost contact with HOST")
	NotStarted      // the unit could not be started at all
)

var kindNames = [...]string{
	Unknown:    "unknown",
	Success:    "success",
	Failure:    "failure",
	Cancelled:  "cancelled",
	Lost:       "lost",
	NotStarted: "not-started",
}

// Kinds lists every real outcome (not Unknown), in order.
func Kinds() []Kind { return []Kind{Success, Failure, Cancelled, Lost, NotStarted} }

// String returns the outcome's name: "success", "failure", "cancelled",
// "lost", "not-started" ("unknown" for the zero value, "kind(N)" for a
// value that is none of them).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool { return k > Unknown && int(k) < len(kindNames) }

// Passing reports whether k counts as passing on a badge or a forge
// status: only Success does. Cancelled is neither passing nor failing
// (Failing reports false for it too).
func (k Kind) Passing() bool { return k == Success }

// Failing reports whether k is a failure a person should look at:
// Failure, Lost and NotStarted.
func (k Kind) Failing() bool { return k == Failure || k == Lost || k == NotStarted }

// Parse reads an outcome name as String writes it. It also takes
// "not_started" and "not started" (config and people), case-insensitively,
// and, for the history's older records, "cancel"/"canceled".
func Parse(s string) (Kind, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.NewReplacer("_", "-", " ", "-").Replace(t)
	switch t {
	case "canceled", "cancel":
		return Cancelled, nil
	}
	for _, k := range Kinds() {
		if kindNames[k] == t {
			return k, nil
		}
	}
	return Unknown, fmt.Errorf("unknown outcome %q: want one of success, failure, cancelled, lost, not-started", s)
}

// MarshalText writes the name; an invalid Kind is an error, so no record
// is ever written with an outcome nobody can read back.
func (k Kind) MarshalText() ([]byte, error) {
	if !k.Valid() {
		return nil, fmt.Errorf("cannot encode outcome %s: not one of success, failure, cancelled, lost, not-started", k)
	}
	return []byte(k.String()), nil
}

// UnmarshalText reads a name with Parse.
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// Record is one run as every output sees it: how it ended and the facts
// of the push and the unit it belongs to. Its JSON form is the webhook's
// body and the site's index entries; field names are stable.
type Record struct {
	Kind Kind `json:"outcome"`
	// Reason says why a run failed, was cancelled, lost or not started,
	// for a person ("exit status 7", "timed out after 30m 0s"); empty on
	// success.
	Reason string `json:"reason,omitempty"`
	// Started is when the unit started (or was due to start, for
	// NotStarted); Duration how long it ran.
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`

	Repo   string `json:"repository"` // the repository's name, e.g. "site" (see plan)
	Job    string `json:"job"`
	Unit   string `json:"unit"` // systemd unit name, unique per run
	Ref    string `json:"ref"`  // full ref name, e.g. refs/heads/main
	Old    string `json:"old,omitempty"`
	New    string `json:"new,omitempty"`
	Commit string `json:"commit,omitempty"` // the commit the job ran on (usually New)
	Pusher string `json:"pusher,omitempty"`
	Host   string `json:"host,omitempty"` // the [hosts.NAME] it ran on; empty: here
	// URL is the run's page on the status site; empty without [site].
	URL string `json:"url,omitempty"`
	// Log is the tail of the job's output, for outputs configured to
	// show it (site logs = true, [notify] log_lines); never sent by
	// webhooks.
	Log string `json:"-"`
}

// Branch returns the ref's short name: "main" for refs/heads/main,
// "v1.0" for refs/tags/v1.0, the ref itself otherwise.
func (r Record) Branch() string {
	for _, p := range []string{"refs/heads/", "refs/tags/"} {
		if s, ok := strings.CutPrefix(r.Ref, p); ok {
			return s
		}
	}
	return r.Ref
}

// Sha returns the commit the run is about: Commit, else New.
func (r Record) Sha() string {
	if r.Commit != "" {
		return r.Commit
	}
	return r.New
}

// Check returns what makes r unusable by an output, or nil: a record
// needs a valid Kind, a repository, a job and a unit.
func (r Record) Check() error {
	var miss []string
	if !r.Kind.Valid() {
		miss = append(miss, "an outcome")
	}
	for _, f := range []struct{ v, name string }{{r.Repo, "a repository"}, {r.Job, "a job"}, {r.Unit, "a unit"}} {
		if f.v == "" {
			miss = append(miss, f.name)
		}
	}
	if len(miss) > 0 {
		return fmt.Errorf("outcome record of unit %q lacks %s", r.Unit, strings.Join(miss, ", "))
	}
	return nil
}

// Summary is a one-line description for a person: "success in 1m 2s",
// "failure after 3s: exit status 7", "not-started: no such host".
func (r Record) Summary() string {
	d := FormatDuration(r.Duration)
	switch {
	case r.Kind == Success:
		return "success in " + d
	case r.Kind == NotStarted || r.Kind == Lost:
		if r.Reason == "" {
			return r.Kind.String()
		}
		return r.Kind.String() + ": " + r.Reason
	case r.Reason == "":
		return r.Kind.String() + " after " + d
	default:
		return r.Kind.String() + " after " + d + ": " + r.Reason
	}
}

// FormatDuration renders a duration for people, rounded to whole seconds:
// "42s", "1m 23s", "1h 2m 3s"; lower parts are always shown ("2m 0s"); negative
// durations are "0s". notify.FormatDuration is this.
func FormatDuration(d time.Duration) string {
	d = d.Round(time.Second)
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	h, m := s/3600, s/60%60
	s %= 60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh %dm %ds", h, m, s)
	case m > 0:
		return fmt.Sprintf("%dm %ds", m, s)
	default:
		return fmt.Sprintf("%ds", s)
	}
}

// Tail returns the last n lines of s (all of it when it has fewer), for
// [notify] log_lines and similar: a final line break does not count as a
// line of its own. n <= 0 returns "".
func Tail(s string, n int) string {
	if n <= 0 {
		return ""
	}
	s = strings.TrimRight(s, "\n")
	i := len(s)
	for range n {
		j := strings.LastIndexByte(s[:i], '\n')
		if j < 0 {
			return s
		}
		i = j
	}
	return s[i+1:]
}
