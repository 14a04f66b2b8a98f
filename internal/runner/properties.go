package runner

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"

	"github.com/hookrun/hookrun/internal/plan"
)

// StopTimeout is the unit's TimeoutStopUSec. It bounds the stop of the job
// and, separately, ExecStopPost, which must have time to deliver the
// notification (whose retries are bounded under a minute).
const StopTimeout = 2 * time.Minute

// SyslogIdentifier tags the units' journal lines.
const SyslogIdentifier = "hookrun"

// execCommand is one entry of ExecStart/ExecStopPost, D-Bus type (sasb):
// path, argv including argv[0], ignore-failure.
type execCommand struct {
	Path string
	Args []string
	// IgnoreFailure is systemd's "-" prefix. Always false: a failing job
	// must fail the unit. (go-systemd's PropExecStart(cmd, true) sets it.)
	IgnoreFailure bool
}

// Properties returns the transient-unit properties that run u: ExecStart is
// `self exec planPath`, ExecStopPost is `self notify planPath` (it runs after
// every outcome — success, failure, timeout, OOM kill, signal — and reads
// $SERVICE_RESULT, $EXIT_CODE and $EXIT_STATUS). self is the absolute path
// of the hookrun binary and planPath the absolute path of u's saved plan.
//
// Limits map to RuntimeMaxUSec, CPUQuotaPerSecUSec, MemoryMax, TasksMax and
// Nice with their exact D-Bus types; zero values are left unset. User and
// Group are set only when u.Manager is "system". Invalid UTF-8 in the
// description becomes U+FFFD. Properties is pure: it reads nothing but its
// arguments.
//
// Of the job's environment (u.Env) only the variables that name the unit's
// repository, job and ref (identityVars, which Units reads back) are a
// property: hookrun exec gives the whole of it to every step from the plan
// (job.Environ), and neither exec nor notify reads it. So the start call
// carries neither HOOKRUN_REFS (up to 64 KiB) nor the config's values, the
// manager has less to parse and write per unit (docs/PERFORMANCE.md), and
// the values of a config's environment tables are not among what any local
// user can read of the manager's units (systemctl show). A unit RunSync
// runs the job's program itself, so SyncProperties sets all of it.
func Properties(u *plan.Unit, self, planPath string) []sd.Property {
	props := []sd.Property{
		prop("Description", description(u)),
		// exec: the start job fails when the binary cannot be executed.
		prop("Type", "exec"),
		// A plan path that is not UTF-8 (a repository's) goes in the form
		// hookrun exec and notify decode.
		prop("ExecStart", []execCommand{command(self, "exec", plan.EncodeString(planPath))}),
		prop("ExecStopPost", []execCommand{command(self, "notify", plan.EncodeString(planPath))}),
		prop("TimeoutStopUSec", usec(StopTimeout)),
		// A stop (systemctl stop, RuntimeMaxSec, a shutdown) sends SIGTERM
		// to `hookrun exec` alone, which stops the job and records that it
		// was stopped: a job killed by TERM from elsewhere stays a failure.
		// Whatever is left after TimeoutStopSec gets SIGKILL.
		prop("KillMode", "mixed"),
		// Failed units are collected too, so they never block a name and
		// never pile up; outcomes are kept by `hookrun notify` instead.
		prop("CollectMode", "inactive-or-failed"),
		prop("SyslogIdentifier", SyslogIdentifier),
		// The job's lists (HOOKRUN_REFS_FILE and the changed files) go in
		// a directory of its own on the manager's runtime tmpfs, which the
		// manager removes when the unit stops, however hookrun exec ended:
		// nothing is left behind, and no file is created and removed on
		// the disk per unit (internal/job's listDirs).
		prop("RuntimeDirectory", []string{runtimeDirectory(u.Name)}),
		prop("RuntimeDirectoryMode", uint32(0o700)),
	}
	// A directory that is not UTF-8 cannot cross D-Bus; hookrun exec
	// starts every step in its directory anyway.
	if dir := workingDirectory(u); dir != "" && utf8.ValidString(dir) {
		props = append(props, prop("WorkingDirectory", dir))
	}
	if env, ok := environment(u, identityVars); ok {
		props = append(props, env)
	}
	l := u.Limits
	// A queued unit waits inside its unit for the one ahead; RuntimeMaxSec
	// would count that wait, so `hookrun exec` enforces its timeout from
	// when the job really starts.
	if l.Timeout > 0 && u.Concurrency != plan.Queue {
		props = append(props, prop("RuntimeMaxUSec", usec(l.Timeout)))
	}
	if l.CPUQuotaPct > 0 {
		// µs of CPU time per wall-clock second: 50% -> 500000.
		props = append(props, prop("CPUQuotaPerSecUSec", l.CPUQuotaPct*10000))
	}
	if l.MemoryMax > 0 {
		props = append(props, prop("MemoryMax", l.MemoryMax)) // plan.Infinity is systemd's "infinity" too
	}
	if l.TasksMax > 0 {
		props = append(props, prop("TasksMax", l.TasksMax))
	}
	if l.Nice != nil {
		props = append(props, prop("Nice", int32(*l.Nice)))
	}
	if u.Manager == plan.ManagerSystem {
		if u.User != "" {
			props = append(props, prop("User", u.User))
		}
		if u.Group != "" {
			props = append(props, prop("Group", u.Group))
		}
	}
	s := u.Sandbox
	if s.NoNewPrivileges {
		props = append(props, prop("NoNewPrivileges", true))
	}
	if s.PrivateTmp {
		props = append(props, prop("PrivateTmp", true))
	}
	if s.ProtectSystem != "" {
		props = append(props, prop("ProtectSystem", s.ProtectSystem))
	}
	// A path that is not UTF-8 cannot cross D-Bus: it is left out, which
	// leaves it read-only rather than naming some other path.
	var rw []string
	for _, p := range s.ReadWritePaths {
		if utf8.ValidString(p) {
			rw = append(rw, p)
		}
	}
	if len(rw) > 0 {
		props = append(props, prop("ReadWritePaths", rw))
	}
	return props
}

// identityVars are the variables of a unit's environment that say which
// repository, job and ref it is for: Units reads them back.
var identityVars = []string{"HOOKRUN_REPO", "HOOKRUN_REPO_PATH", "HOOKRUN_JOB", "HOOKRUN_REF", "HOOKRUN_NEW"}

// environment is the Environment property of u's environment, or of its
// variables named in only (nil: all). Invalid UTF-8 becomes U+FFFD.
func environment(u *plan.Unit, only []string) (sd.Property, bool) {
	var env []string
	for _, kv := range u.Env {
		if k, _, _ := strings.Cut(kv, "="); only == nil || slices.Contains(only, k) {
			env = append(env, validUTF8(kv))
		}
	}
	if len(env) == 0 {
		return sd.Property{}, false
	}
	return prop("Environment", env), true
}

// runtimeDirectory is the name of unit's runtime directory, under the
// manager's runtime directory ($XDG_RUNTIME_DIR, or /run): its unit name
// without the suffix, after "hookrun-".
func runtimeDirectory(unit string) string {
	return "hookrun-" + strings.TrimSuffix(unit, ".service")
}

func prop(name string, value any) sd.Property {
	return sd.Property{Name: name, Value: godbus.MakeVariant(value)}
}

// command is the ExecStart-style entry running self with args. systemd
// expands $VAR and ${VAR} in every argv element when it executes the command,
// so each "$" is doubled to reach the program literally. The path is not
// expanded and stays as it is.
func command(self string, args ...string) execCommand {
	argv := make([]string, 0, len(args)+1)
	for _, a := range append([]string{self}, args...) {
		argv = append(argv, strings.ReplaceAll(a, "$", "$$"))
	}
	return execCommand{Path: self, Args: argv, IgnoreFailure: false}
}

// usec converts d to whole microseconds, rounding a positive sub-microsecond
// value up so it never becomes 0 (which systemd reads as "no limit" or
// "immediately", depending on the property).
func usec(d time.Duration) uint64 {
	us := uint64(d / time.Microsecond)
	if us == 0 && d > 0 {
		us = 1
	}
	return us
}

func workingDirectory(u *plan.Unit) string {
	if u.Dir != "" {
		return u.Dir
	}
	return u.RepoPath
}

// description is "hookrun <job> for <repo> <ref>", naming how many further
// refs a per-push unit covers.
func description(u *plan.Unit) string {
	d := fmt.Sprintf("hookrun %s for %s", u.Job, u.Repo)
	switch len(u.Refs) {
	case 0:
	case 1:
		d += " " + u.Refs[0].Ref
	default:
		d += fmt.Sprintf(" %s (+%d more refs)", u.Refs[0].Ref, len(u.Refs)-1)
	}
	return validUTF8(d)
}

// validUTF8 replaces invalid UTF-8 (git allows it in refnames) with U+FFFD:
// D-Bus strings must be valid UTF-8, or the whole call fails.
func validUTF8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
