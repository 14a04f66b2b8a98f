package main

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/hookrun/hookrun/internal/job"
)

// Exit statuses. exitCode alone decides which one an error gets.
const (
	exitOK      = 0
	exitFailure = 1 // the command failed, or the config is invalid
	exitUsage   = 2 // bad flags or arguments, unreadable files
)

// usageError is a mistake in how a command was called (exit 2). It prints as
// its message, then a hint: its own, else the command's usage line.
type usageError struct {
	msg  string // may be empty when the usage was printed instead
	hint string
}

func (e *usageError) Error() string { return e.msg }

// usagef reports a usage error: a bad flag value, a missing argument.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// fileError is a file the command was asked to read that cannot be read
// (exit 2): "cannot read PATH: REASON".
type fileError struct {
	path string
	err  error
}

func (e *fileError) Error() string { return fmt.Sprintf("cannot read %s: %v", e.path, e.err) }
func (e *fileError) Unwrap() error { return e.err }

// unreadable turns an error from opening or reading a file into a
// fileError, by the *fs.PathError inside it; other errors pass unchanged.
func unreadable(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fileError{path: pe.Path, err: pe.Err}
	}
	return err
}

// errReported is a failure the command has already described on stderr
// (diagnostics, one line per repository): exit 1, printing nothing more.
var errReported = errors.New("failed; the problems are reported above")

// jobStatus ends a command with a job's own exit status, its outcome
// already printed (logs -f).
type jobStatus struct{ code int }

func (e *jobStatus) Error() string { return fmt.Sprintf("the job ended with exit status %d", e.code) }

// exitCode is the one place that turns a command's error into an exit
// status. A job's own status (*job.ExitError, from exec) passes through.
func exitCode(err error) int {
	var ue *usageError
	var fe *fileError
	var je *job.ExitError
	var js *jobStatus
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &js):
		return js.code
	case errors.As(err, &je) && je.Code > 0 && je.Code < 256:
		return je.Code
	case errors.As(err, &ue), errors.As(err, &fe):
		return exitUsage
	}
	return exitFailure
}

// exit prints err once, the way its type asks, and returns its exit status.
// c is the command that ran, for the usage hint; nil before one was chosen.
func (a *app) exit(c *command, err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, errReported), errors.As(err, new(*jobStatus)):
	case errors.As(err, &ue):
		if ue.msg != "" {
			a.errorf("%s", ue.msg)
		}
		switch {
		case ue.hint != "":
			a.hintf("%s", ue.hint)
		case c != nil:
			a.hintf("usage: hookrun %s %s (see 'hookrun %s --help')", c.name, c.usage, c.name)
		}
	default:
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() { // errors.Join: one line each
				a.errorf("%v", e)
			}
			break
		}
		a.errorf("%v", err)
	}
	return exitCode(err)
}
