// Package push is what git's post-receive hook does on every push: read
// the pushed refs and the config, plan a unit for each job the rules
// match, start them (internal/unit) and tell the pusher, waiting for none.
//
// What fails on the way (a config that stops the push, a unit that did
// not start) goes to a Failures. cmd/hookrun records and notifies it in
// process (internal/report); hookrun-hook, the small program git runs on
// every push, hands it to hookrun (HandOff), so that the program on the
// push's path links neither the outputs nor an HTTP client and starts
// quicker (docs/PERFORMANCE.md). The import test in cmd/hookrun keeps
// this package's imports that way.
package push

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/hookinput"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/pushcert"
	"github.com/hookrun/hookrun/internal/remote"
	"github.com/hookrun/hookrun/internal/repoindex"
	"github.com/hookrun/hookrun/internal/resolve"
	"github.com/hookrun/hookrun/internal/runner"
	"github.com/hookrun/hookrun/internal/unit"
)

// Failures records and notifies what a push could not do. Each method is
// called at most once per push, and owns the reporting of what it is
// given: the push itself only prints.
type Failures interface {
	// StartedNothing: the config (src) stopped the push to repoPath. ups
	// is nil when the input was malformed (nothing is known of the push).
	StartedNothing(repoPath string, ups []match.RefUpdate, src config.Source)
	// NotStarted: units[i] did not start, for errs[i] (nil: it started).
	NotStarted(units []*plan.Unit, errs []error)
}

// Options are what Run needs.
type Options struct {
	Stdin  io.Reader           // git's "<old> <new> <refname>" lines
	Log    io.Writer           // the pusher's: git prints it as "remote:" lines
	Getenv func(string) string // the hook's environment
	Now    func() time.Time
	// Self is the hookrun binary the units run (`hookrun exec`).
	Self string
	// Source is where the config of the repository at repoPath comes
	// from (config.Locate, with the command's flags if any).
	Source   func(repoPath string) config.Source
	Failures Failures
}

// Run is one post-receive: it returns nil when every matched unit started
// (or nothing matched), else an error with hookinput.ErrReported in its
// chain when the problem was told on Log already.
func Run(o Options) error {
	if o.Getenv("HOOKRUN_ACTIVE") == "1" {
		fmt.Fprintf(o.Log, "hookrun: push made by a hookrun job (HOOKRUN_ACTIVE=1): starting nothing, to avoid a loop\n")
		return nil
	}
	cwd, _ := os.Getwd()
	repoPath := gitx.RepoPath(o.Getenv, cwd)
	src := o.Source(repoPath)
	in, err := hookinput.Read(hookinput.Options{RepoPath: repoPath, Stdin: o.Stdin, Log: o.Log,
		Source: src, Hook: "post-receive", Consequence: "nothing was started"})
	if err != nil {
		var ups []match.RefUpdate
		if in != nil {
			ups = in.Updates
		}
		o.Failures.StartedNothing(repoPath, ups, src)
		return err
	}
	c := in.Config
	if c.Global == nil && c.Repo == nil {
		return nil // hookrun installed, nothing configured yet
	}
	p, err := resolve.Resolve(c, resolve.Push{
		RepoPath: repoPath, Repo: gitx.RepoName(repoPath), Updates: in.Updates,
		Cert:   pushcert.OfPush(repoPath, c.SignedRules(), nil, nil, o.Getenv, o.Now()),
		Pusher: match.PusherFromEnv(o.Getenv), Now: o.Now(),
		Ancestry: gitx.Ancestry{GitDir: repoPath}, Changes: gitx.Changes{GitDir: repoPath},
		Peel:     func(obj string) (string, error) { return gitx.RevParse(repoPath, obj) },
		UnitName: runner.UnitName, Getenv: o.Getenv,
	})
	if err != nil {
		return fmt.Errorf("%v; nothing was started", err)
	}
	if len(p.Units) == 0 {
		return nil
	}
	ctx := context.Background() // no deadline for the push: see unit.CallTimeout
	l := NewLauncher(o.Self, o.Getenv, o.Log, o.Now)
	defer l.Close()
	l.Dial(ctx, p.Units) // the manager takes milliseconds to answer: meanwhile, the index and digests
	Index(repoPath, o.Getenv, o.Log)
	// Units of this push that notify the same topic, when many, report
	// into one digest, held while this hook lives.
	release, err := assignDigests(repoPath, p.Units, o.Now())
	if err != nil {
		fmt.Fprintf(o.Log, "hookrun: warning: %v; those units notify one by one\n", err)
	}
	defer release()
	errs := l.Launch(ctx, p.Units)
	if slices.ContainsFunc(errs, func(err error) bool { return err != nil }) {
		o.Failures.NotStarted(p.Units, errs)
	}
	failed := Starts(o.Log, repoPath, p.Units, errs)
	switch {
	case failed == 0:
		return nil
	case failed == len(p.Units):
		fmt.Fprintf(o.Log, "hookrun: hint: none of the %d jobs started\n", failed)
	default:
		fmt.Fprintf(o.Log, "hookrun: hint: %d of %d jobs did not start; the others run\n", failed, len(p.Units))
	}
	return fmt.Errorf("%w: %d of %d units not started", hookinput.ErrReported, failed, len(p.Units))
}

// NewLauncher starts units the way a push does (internal/unit): self is
// the hookrun binary they run.
func NewLauncher(self string, getenv func(string) string, log io.Writer, now func() time.Time) *unit.Launcher {
	return &unit.Launcher{
		Self: self, Getenv: getenv, Log: log, Now: now,
		UnitName: func(u *plan.Unit) string { return runner.UnitName(u.Job, u.Repo, u.Created) },
		Remote:   remote.Start,
	}
}

// Index adds repoPath to the server-wide index that status and logs
// search when no repository is named; log gets a warning when it cannot.
func Index(repoPath string, getenv func(string) string, log io.Writer) {
	if err := repoindex.Touch(repoindex.Path(getenv), repoPath); err != nil {
		fmt.Fprintf(log, "hookrun: warning: cannot update the index of repositories: %v\n", err)
	}
}
