// Package hookinput reads what the post-receive and pre-receive hooks start
// from: the ref updates git sends on standard input, and the layered config
// of the repository, checked as a hook must (files only their owner could
// write, a strict decode, a bounded number of refs). Each problem is told
// to the person pushing, with what it means for the push.
package hookinput

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/match"
)

// ErrReported is in the chain of an error whose problem Read has told the
// pusher already.
var ErrReported = errors.New("failed; the problems are reported above")

// Input is what a hook starts from.
type Input struct {
	RepoPath string
	Updates  []match.RefUpdate
	Config   *config.Config
	Source   config.Source // where Config came from
}

// Options are what Read needs.
type Options struct {
	RepoPath string
	Stdin    io.Reader
	Log      io.Writer // the pusher's: git prints it as "remote:" lines
	Source   config.Source
	// Hook names the hook ("post-receive"); Consequence ends each message:
	// what a problem means for the push ("nothing was started").
	Hook, Consequence string
	// Ignore, when set and true for the config, makes an invalid or unsafe
	// config no problem of this hook's: Read returns (nil, nil) and says
	// nothing (the other hook reports it).
	Ignore func(config.Source) bool
}

// Read parses the hook's standard input and loads the config, telling
// problems to the pusher. On an error about the config, the input it
// returns still holds the updates.
func Read(o Options) (*Input, error) {
	in := &Input{RepoPath: o.RepoPath, Source: o.Source}
	errorf := func(format string, args ...any) { fmt.Fprintf(o.Log, "hookrun: error: "+format+"\n", args...) }
	hintf := func(format string, args ...any) { fmt.Fprintf(o.Log, "hookrun: hint: "+format+"\n", args...) }
	var err error
	in.Updates, err = match.ParseRefLines(o.Stdin)
	malformed := func() error {
		for _, line := range strings.Split(err.Error(), "\n") {
			errorf("malformed hook input: %s", line)
		}
		hintf("%s expects git's \"<old-sha> <new-sha> <refname>\" lines; %s", o.Hook, o.Consequence)
		return ErrReported
	}
	// Too many refs matters only where policies must look at them, or
	// jobs be planned for them: a repository without policies is never
	// refused for size, nor told anything for a push that starts nothing.
	tooMany := err != nil && errors.Is(err, match.ErrTooManyRefs)
	if err != nil && !tooMany {
		return nil, malformed()
	}
	src := o.Source
	ignored := func() bool { return o.Ignore != nil && o.Ignore(src) }
	var quiet func() bool
	if o.Ignore != nil {
		quiet = ignored
	}
	if err := CheckSafety(src, o.Log, o.Consequence, quiet); err != nil {
		return in, err
	}
	c, diags, err := src.Load()
	if err != nil && ignored() {
		return nil, nil
	}
	if err != nil {
		return in, fmt.Errorf("cannot read config: %v; %s", err, o.Consequence)
	}
	if diags.HasErrors() {
		if ignored() {
			return nil, nil
		}
		for _, d := range diags {
			if d.Severity == config.Error {
				fmt.Fprintf(o.Log, "hookrun: %s\n", d)
			}
		}
		hintf("fix the config (check it with: hookrun validate %s); %s", src.Repo, o.Consequence)
		return in, ErrReported
	}
	if tooMany {
		_, _ = io.Copy(io.Discard, o.Stdin)
		switch {
		case o.Ignore != nil && len(c.Policies) > 0:
			return nil, malformed()
		case o.Ignore != nil:
			return nil, nil
		case len(c.Rules) == 0:
			in.Updates, in.Config = nil, c // no rule, no job: nothing to say
			return in, nil
		}
		return in, fmt.Errorf("the push updated more than %d refs, more than hookrun plans units for at once; %s (push the refs in smaller pushes, or start the jobs with 'hookrun run')", match.MaxRefs, o.Consequence)
	}
	in.Config = c
	return in, nil
}

// CheckSafety refuses config files that someone other than the hook's
// user (or root) could have written: they decide what runs. It tells log
// why, ending with consequence: what the refusal means. When quiet is set
// and returns true, an unsafe file is ignored silently instead.
func CheckSafety(src config.Source, log io.Writer, consequence string, quiet func() bool) error {
	accepted, err := src.Check()
	for _, err := range accepted {
		fmt.Fprintf(log, "hookrun: warning: %v; accepted because of --insecure-config/HOOKRUN_INSECURE_CONFIG=1\n", err)
	}
	if err == nil {
		return nil
	}
	if quiet != nil && quiet() {
		return nil
	}
	fmt.Fprintf(log, "hookrun: error: %v\n", err)
	fmt.Fprintf(log, "hookrun: hint: fix it (chmod go-w; chown) or, knowingly, pass --insecure-config or set HOOKRUN_INSECURE_CONFIG=1; %s\n", consequence)
	return ErrReported
}
