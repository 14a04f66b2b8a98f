package push

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/plan"
)

// HandOffCommand is the hidden hookrun command that takes over what a
// HandOff hands it (Receive).
const HandOffCommand = "push-failed"

// HandOff is the Failures of a program that does not link the reporting
// (hookrun-hook): it runs `hookrun push-failed` (Self) with what failed
// as a JSON document on its standard input, and waits for it. That
// process records and notifies it as hookrun's own post-receive would;
// its output goes to Log, the pusher's. Failing pushes are rare, so only
// they pay for the second program's start.
type HandOff struct {
	Self string
	Log  io.Writer
}

// Handed is what a HandOff sends: the push that started nothing
// (StartedNothing: Source is set), or the units of a push and why some did
// not start (NotStarted). Names are encoded as plans encode them
// (plan.EncodeString), so that refnames that are not UTF-8 arrive whole.
type Handed struct {
	RepoPath string            `json:"repo"`
	Updates  []match.RefUpdate `json:"updates,omitempty"`
	Source   *config.Source    `json:"source,omitempty"` // where the push's config came from
	Units    []json.RawMessage `json:"units,omitempty"`  // plan.Unit.Marshal
	Errors   []string          `json:"errors,omitempty"` // "" for a unit that started
}

func (h HandOff) StartedNothing(repoPath string, ups []match.RefUpdate, src config.Source) {
	h.send(startedNothing(repoPath, ups, src), "the failed push is not recorded or notified")
}

func startedNothing(repoPath string, ups []match.RefUpdate, src config.Source) Handed {
	src.Global, src.Repo = plan.EncodeString(src.Global), plan.EncodeString(src.Repo)
	d := Handed{RepoPath: plan.EncodeString(repoPath), Source: &src}
	for _, u := range ups {
		d.Updates = append(d.Updates, match.RefUpdate{Old: u.Old, New: u.New, Name: plan.EncodeString(u.Name)})
	}
	return d
}

func (h HandOff) NotStarted(units []*plan.Unit, errs []error) {
	h.send(notStarted(units, errs, h.Log), "the units that did not start are neither recorded nor notified: the lines above are all there is of them")
}

// notStarted is the document for NotStarted; a unit that cannot be
// encoded is told on log and left out.
func notStarted(units []*plan.Unit, errs []error, log io.Writer) Handed {
	var d Handed
	for i, u := range units {
		b, err := u.Marshal()
		if err != nil {
			fmt.Fprintf(log, "hookrun: error: job %s: %v; its failure to start is not recorded\n", u.Job, err)
			continue
		}
		d.RepoPath = plan.EncodeString(u.RepoPath)
		d.Units = append(d.Units, b)
		e := ""
		if errs[i] != nil {
			e = errs[i].Error()
		}
		d.Errors = append(d.Errors, e)
	}
	return d
}

// send runs hookrun with d; lost says what is lost when that fails.
func (h HandOff) send(d Handed, lost string) {
	b, err := json.Marshal(d)
	if err == nil {
		cmd := exec.Command(h.Self, HandOffCommand)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(b), h.Log, h.Log
		err = cmd.Run()
	}
	if err != nil {
		fmt.Fprintf(h.Log, "hookrun: error: handing the push's failures to %s %s: %v; %s\n", h.Self, HandOffCommand, err, lost)
		fmt.Fprintf(h.Log, "hookrun: hint: hookrun-hook runs the hookrun beside it; check that it is there (hookrun validate lists the hooks' problems)\n")
	}
}

// Receive reads what a HandOff sent from r and gives it to f: what
// `hookrun push-failed` does.
func Receive(r io.Reader, f Failures) error {
	var d Handed
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return fmt.Errorf("reading what the hook handed over: %w", err)
	}
	repoPath := plan.DecodeString(d.RepoPath)
	if d.Source != nil {
		src := *d.Source
		src.Global, src.Repo = plan.DecodeString(src.Global), plan.DecodeString(src.Repo)
		ups := make([]match.RefUpdate, 0, len(d.Updates))
		for _, u := range d.Updates {
			ups = append(ups, match.RefUpdate{Old: u.Old, New: u.New, Name: plan.DecodeString(u.Name)})
		}
		f.StartedNothing(repoPath, ups, src)
		return nil
	}
	if len(d.Units) != len(d.Errors) {
		return fmt.Errorf("reading what the hook handed over: %d units and %d errors", len(d.Units), len(d.Errors))
	}
	units := make([]*plan.Unit, len(d.Units))
	errs := make([]error, len(d.Units))
	for i, b := range d.Units {
		u, err := plan.Unmarshal(b)
		if err != nil {
			return fmt.Errorf("reading what the hook handed over: unit %d: %w", i, err)
		}
		units[i] = u
		if d.Errors[i] != "" {
			errs[i] = errors.New(d.Errors[i])
		}
	}
	f.NotStarted(units, errs)
	return nil
}
