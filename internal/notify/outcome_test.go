package notify

import (
	"math"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/outcome"
)

func TestFromService(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name                 string
		result, code, status string
		timeout              time.Duration
		memoryMax            uint64
		kind                 outcome.Kind
		reason               string
	}{
		{"success", "success", "exited", "0", 0, 0, outcome.Success, ""},
		{"exit code", "exit-code", "exited", "7", 0, 0, outcome.Failure, "exit status 7"},
		{"exit code without status", "exit-code", "", "", 0, 0, outcome.Failure, "exited with a failure status"},
		{"systemd exec failure", "exit-code", "exited", "203", 0, 0, outcome.Failure,
			"exit status 203 (systemd: could not execute the program)"},
		// Observed: RuntimeMaxSec=1 on sleep 10.
		{"timeout", "timeout", "killed", "TERM", 30 * time.Minute, 0, outcome.Failure, "timed out after 30m 0s"},
		{"timeout short", "timeout", "killed", "TERM", time.Second, 0, outcome.Failure, "timed out after 1s"},
		{"timeout unknown limit", "timeout", "killed", "KILL", 0, 0, outcome.Failure, "timed out"},
		{"oom kill", "oom-kill", "killed", "KILL", 0, 20 * mb, outcome.Failure, "killed: out of memory"},
		// Observed on the cgroup v1/v2 hybrid hosts: MemoryMax=20M, 200 MB allocated.
		{"kill with memory limit", "signal", "killed", "KILL", 0, 20 * mb, outcome.Failure,
			"killed by signal KILL (the memory limit MemoryMax=20M may have been reached)"},
		{"kill without memory limit", "signal", "killed", "KILL", 0, 0, outcome.Failure, "killed by signal KILL"},
		{"kill with infinite memory limit", "signal", "killed", "KILL", 0, math.MaxUint64, outcome.Failure, "killed by signal KILL"},
		{"term with memory limit", "signal", "killed", "TERM", 0, 20 * mb, outcome.Failure, "killed by signal TERM"},
		{"sig prefix", "signal", "killed", "SIGINT", 0, 0, outcome.Failure, "killed by signal INT"},
		{"numeric signal", "signal", "killed", "9", 0, 0, outcome.Failure, "killed by signal KILL"},
		{"signal without name", "signal", "", "", 0, 0, outcome.Failure, "killed by a signal"},
		{"core dump", "core-dump", "dumped", "SEGV", 0, 0, outcome.Failure, "killed by signal SEGV (core dumped)"},
		{"start limit", "start-limit-hit", "", "", 0, 0, outcome.Failure,
			"not started: the start rate limit was hit (systemd result start-limit-hit)"},
		{"resources", "resources", "", "", 0, 0, outcome.Failure,
			"systemd could not set up the job's resources (systemd result resources)"},
		{"protocol", "protocol", "", "", 0, 0, outcome.Failure,
			"the service broke systemd's start-up protocol (systemd result protocol)"},
		{"watchdog", "watchdog", "killed", "ABRT", 0, 0, outcome.Failure, "the watchdog timed out (systemd result watchdog)"},
		{"exec condition", "exec-condition", "exited", "1", 0, 0, outcome.Failure,
			"not run: ExecCondition= failed (systemd result exec-condition)"},
		{"unknown result", "something-new", "", "", 0, 0, outcome.Failure, "systemd result something-new"},
		{"unknown result with newline", "bad\nvalue", "", "", 0, 0, outcome.Failure, "systemd result bad value"},
		{"no result", "", "", "", 0, 0, outcome.Failure, "ended without a result from systemd (SERVICE_RESULT is not set)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromService(tt.result, tt.code, tt.status, tt.timeout, tt.memoryMax)
			want := Outcome{Kind: tt.kind, Reason: tt.reason}
			if got != want {
				t.Errorf("FromService(%q, %q, %q, %v, %d) = %+v, want %+v",
					tt.result, tt.code, tt.status, tt.timeout, tt.memoryMax, got, want)
			}
		})
	}
}

func TestCancelledOutcome(t *testing.T) {
	if got := CancelledOutcome(""); got.Kind != outcome.Cancelled || got.Reason != "replaced by a newer push" {
		t.Errorf("CancelledOutcome(\"\") = %+v", got)
	}
	if got := CancelledOutcome("stopped by admin"); got.Kind != outcome.Cancelled || got.Reason != "stopped by admin" {
		t.Errorf("CancelledOutcome(...) = %+v", got)
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{-5 * time.Second, "0s"},
		{400 * time.Millisecond, "0s"},
		{500 * time.Millisecond, "1s"},
		{42 * time.Second, "42s"},
		{42*time.Second + 499*time.Millisecond, "42s"},
		{59 * time.Second, "59s"},
		{59*time.Second + 600*time.Millisecond, "1m 0s"}, // rounds up to a minute
		{60 * time.Second, "1m 0s"},
		{83 * time.Second, "1m 23s"},
		{120 * time.Second, "2m 0s"},
		{59*time.Minute + 59*time.Second, "59m 59s"},
		{time.Hour, "1h 0m 0s"},
		{time.Hour + 5*time.Second, "1h 0m 5s"},
		{3723 * time.Second, "1h 2m 3s"},
		{50 * time.Hour, "50h 0m 0s"},
	}
	for _, tt := range tests {
		if got := FormatDuration(tt.d); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		b    uint64
		want string
	}{
		{0, "0"},
		{1000, "1000"},
		{1024, "1K"},
		{1536, "1.5K"},
		{20 << 20, "20M"},
		{512 << 20, "512M"},
		{1 << 30, "1G"},
		{3 << 29, "1.5G"},
		{1<<30 - 1, "1.0G"},
		{500_000_000, "476.8M"},
		{2 << 40, "2T"},
		{math.MaxUint64 - 1, "16.0E"},
		{math.MaxUint64, "infinity"},
	}
	for _, tt := range tests {
		if got := FormatSize(tt.b); got != tt.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tt.b, got, tt.want)
		}
	}
}
