package supervise

import (
	"errors"
	"fmt"
	"reflect"
	"syscall"
	"testing"

	"github.com/hookrun/hookrun/internal/job"
	"github.com/hookrun/hookrun/internal/unit"
)

func TestExitOf(t *testing.T) {
	for _, tc := range []struct {
		name              string
		err               error
		stopped, timedOut bool
		want              unit.Exit
	}{
		{"success", nil, false, false, unit.Exit{}},
		{"success despite a late stop", nil, true, false, unit.Exit{}},
		{"exit status", &job.ExitError{Step: "build", Code: 3, Detail: "boom"}, false, false, unit.Exit{Step: "build", Code: 3, Detail: "boom"}},
		{"signal", &job.ExitError{Step: "build", Signal: syscall.SIGKILL}, true, false, unit.Exit{Step: "build", Signal: "KILL", Stopped: true}},
		{"core dump", &job.ExitError{Step: "s", Signal: syscall.SIGSEGV, CoreDump: true}, false, false, unit.Exit{Step: "s", Signal: "SEGV", CoreDump: true}},
		{"timeout", &job.ExitError{Step: "s", Signal: syscall.SIGTERM}, false, true, unit.Exit{Step: "s", Signal: "TERM", TimedOut: true}},
		{"a stop wins over the timeout", &job.ExitError{Step: "s", Signal: syscall.SIGTERM}, true, true, unit.Exit{Step: "s", Signal: "TERM", Stopped: true}},
		{"not a step's exit", errors.New("no such program"), false, false, unit.Exit{Error: "no such program"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ExitOf(tc.err, tc.stopped, tc.timedOut); !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("ExitOf = %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func TestReported(t *testing.T) {
	ee := &job.ExitError{Step: "s", Code: 2}
	err := reported(ee)
	if !errors.Is(err, ErrReported) {
		t.Errorf("reported(%v) = %v: not ErrReported", ee, err)
	}
	var got *job.ExitError
	if !errors.As(err, &got) || got.Code != 2 {
		t.Errorf("reported(%v) = %v: the step's status is lost", ee, err)
	}
	if reported(nil) != nil {
		t.Error("reported(nil) != nil")
	}
	once := fmt.Errorf("%w: x", ErrReported)
	if reported(once) != once {
		t.Error("reported wraps an error that is reported already")
	}
}
