package notify

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hookrun/hookrun/internal/outcome"
)

// Outcome is how one run of a job ended.
type Outcome struct {
	Kind outcome.Kind
	// Reason says why a job failed or was cancelled, for a person:
	// "exit status 7", "timed out after 30m 0s", "killed: out of memory".
	// It is empty on success.
	Reason string
	// Duration is how long the job ran. FromService leaves it zero; the
	// caller measures it (e.g. from the unit's start timestamp).
	Duration time.Duration
}

// FromService maps the environment systemd sets for ExecStopPost= commands to
// an Outcome: serviceResult is $SERVICE_RESULT, exitCode is $EXIT_CODE
// (exited, killed, dumped) and exitStatus is $EXIT_STATUS (a number when the
// process exited, else a signal name such as TERM or KILL). See systemd.exec(5).
//
// timeout is the unit's RuntimeMaxSec (0 when unknown) and memoryMax its
// MemoryMax in bytes (0 or math.MaxUint64 when unset). On hosts with the
// cgroup v1/v2 hybrid layout, systemd reports a job killed by the memory limit
// as "signal"/KILL rather than "oom-kill", so a KILL with a memory limit set
// names the limit as the likely cause.
func FromService(serviceResult, exitCode, exitStatus string, timeout time.Duration, memoryMax uint64) Outcome {
	failed := func(format string, args ...any) Outcome {
		return Outcome{Kind: outcome.Failure, Reason: fmt.Sprintf(format, args...)}
	}
	status := strings.TrimSpace(exitStatus)
	switch strings.TrimSpace(serviceResult) {
	case "success":
		return Outcome{Kind: outcome.Success}
	case "exit-code":
		if status == "" {
			return failed("exited with a failure status")
		}
		if n, err := strconv.Atoi(status); err == nil {
			if what, ok := systemdExitCodes[n]; ok {
				return failed("exit status %d (systemd: %s)", n, what)
			}
		}
		return failed("exit status %s", status)
	case "timeout":
		if timeout > 0 {
			return failed("timed out after %s", FormatDuration(timeout))
		}
		return failed("timed out")
	case "oom-kill":
		return failed("killed: out of memory")
	case "signal", "core-dump":
		sig := signalName(status)
		if sig == "" {
			return failed("killed by a signal")
		}
		reason := "killed by signal " + sig
		if serviceResult == "core-dump" || exitCode == "dumped" {
			reason += " (core dumped)"
		}
		if sig == "KILL" && memoryMax != 0 && memoryMax != math.MaxUint64 {
			reason += fmt.Sprintf(" (the memory limit MemoryMax=%s may have been reached)", FormatSize(memoryMax))
		}
		return failed("%s", reason)
	case "start-limit-hit":
		return failed("not started: the start rate limit was hit (systemd result start-limit-hit)")
	case "resources":
		return failed("systemd could not set up the job's resources (systemd result resources)")
	case "protocol":
		return failed("the service broke systemd's start-up protocol (systemd result protocol)")
	case "watchdog":
		return failed("the watchdog timed out (systemd result watchdog)")
	case "exec-condition":
		return failed("not run: ExecCondition= failed (systemd result exec-condition)")
	case "":
		return failed("ended without a result from systemd (SERVICE_RESULT is not set)")
	default:
		return failed("systemd result %s", oneLine(serviceResult))
	}
}

// CancelledOutcome is the outcome of a job stopped on purpose, e.g. because a
// newer push replaced it. reason defaults to "replaced by a newer push".
// (It cannot be called Cancelled: that is the Kind.)
func CancelledOutcome(reason string) Outcome {
	if reason == "" {
		reason = "replaced by a newer push"
	}
	return Outcome{Kind: outcome.Cancelled, Reason: reason}
}

// systemdExitCodes are the exit statuses systemd itself uses when it fails to
// set up a service's process (systemd.exec(5), "Process Exit Codes"). Only the
// ones a hookrun job plausibly meets are named.
var systemdExitCodes = map[int]string{
	200: "could not change to the working directory",
	203: "could not execute the program",
	209: "could not set up standard output or error",
	216: "could not set the group",
	217: "could not set the user",
}

// signalName normalises a signal as systemd reports it: "KILL", "SIGKILL" and
// "9" all become "KILL".
func signalName(s string) string {
	s = strings.ToUpper(strings.TrimPrefix(strings.ToUpper(s), "SIG"))
	if n, err := strconv.Atoi(s); err == nil {
		if name, ok := signalNumbers[n]; ok {
			return name
		}
		return s
	}
	return oneLine(s)
}

// signalNumbers are the Linux signal numbers that systemd might report as
// numbers on some code paths.
var signalNumbers = map[int]string{
	1: "HUP", 2: "INT", 3: "QUIT", 4: "ILL", 6: "ABRT", 7: "BUS", 8: "FPE",
	9: "KILL", 11: "SEGV", 13: "PIPE", 14: "ALRM", 15: "TERM",
}

// FormatDuration renders a duration for people, rounded to whole seconds:
// "42s", "1m 23s", "1h 2m 3s" (outcome.FormatDuration, the one format).
func FormatDuration(d time.Duration) string { return outcome.FormatDuration(d) }

// FormatSize renders a byte count the way systemd's MemoryMax= accepts it,
// with base-1024 suffixes: "512M", "1G", "1.5G", "1000", and "infinity"
// for systemd's unlimited value.
func FormatSize(b uint64) string {
	if b == math.MaxUint64 {
		return "infinity"
	}
	const units = "KMGTPE"
	if b < 1024 {
		return strconv.FormatUint(b, 10)
	}
	v, i := float64(b), -1
	// Round to one decimal before deciding, so 1G-1 shows as "1.0G", not "1024.0M".
	for math.Round(v*10)/10 >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	shift := 10 * uint(i+1)
	if b%(1<<shift) == 0 {
		return fmt.Sprintf("%d%c", b>>shift, units[i])
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + string(units[i])
}
