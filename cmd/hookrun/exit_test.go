package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hookrun/hookrun/internal/job"
)

func TestExitCode(t *testing.T) {
	_, openErr := os.Open("/no/such/file")
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, exitOK},
		{"plain", errors.New("boom"), exitFailure},
		{"reported", errReported, exitFailure},
		{"usage", usagef("bad"), exitUsage},
		{"wrapped usage", fmt.Errorf("x: %w", usagef("bad")), exitUsage},
		{"unreadable", unreadable(openErr), exitUsage},
		{"path error not marked unreadable", openErr, exitFailure},
		{"job", &job.ExitError{Code: 7, Err: errors.New("exit status 7")}, 7},
		{"wrapped job", fmt.Errorf("step: %w", &job.ExitError{Code: 3}), 3},
		{"logs -f: the job's status", &jobStatus{code: 3}, 3},
		{"job without a status", &job.ExitError{Code: 0, Err: errors.New("not started")}, exitFailure},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("%s: exitCode(%v) = %d, want %d", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestUnreadableMessage(t *testing.T) {
	_, err := os.Open("/no/such/file")
	if got, want := unreadable(err).Error(), "cannot read /no/such/file: no such file or directory"; got != want {
		t.Errorf("unreadable: %q, want %q", got, want)
	}
	if e := errors.New("other"); unreadable(e) != e {
		t.Errorf("unreadable changed an error without a path")
	}
}

func TestExitPrintsOnce(t *testing.T) {
	var stderr bytes.Buffer
	a := &app{stderr: &stderr}
	c := &command{name: "plan", usage: "[--repo DIR]"}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errReported, ""},
		{&jobStatus{code: 2}, ""},
		{errors.New("boom"), "hookrun: error: boom\n"},
		{usagef("bad flag"), "hookrun: error: bad flag\nhookrun: hint: usage: hookrun plan [--repo DIR] (see 'hookrun plan --help')\n"},
		{&usageError{msg: "x", hint: "try y"}, "hookrun: error: x\nhookrun: hint: try y\n"},
	} {
		stderr.Reset()
		a.exit(c, tc.err)
		if got := stderr.String(); got != tc.want {
			t.Errorf("exit(%v) printed %q, want %q", tc.err, got, tc.want)
		}
		if strings.Count(stderr.String(), "error:") > 1 {
			t.Errorf("exit(%v) printed the error twice", tc.err)
		}
	}
}
