package runner

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"

	"github.com/hookrun/hookrun/internal/plan"
)

// SyncResult is how a unit run by RunSync ended.
type SyncResult struct {
	Result string // systemd's Result: success, exit-code, timeout, oom-kill, signal, ...
	Status int    // ExecMainStatus: the exit status, or the signal number
}

// OK reports whether the unit's program exited 0.
func (r SyncResult) OK() bool { return r.Result == "success" && r.Status == 0 }

// SyncProperties are the properties of a unit RunSync runs: those of
// Properties for u (limits, sandbox, directory) and its environment (no
// hookrun exec sets it here), with argv as ExecStart instead of `hookrun
// exec`, no ExecStopPost (nothing is notified), and the unit kept after it
// ends (RemainAfterExit, failed units not collected) so its result can be
// read before RunSync removes it.
// Standard output and error go to the file descriptor out. Pure.
func SyncProperties(u *plan.Unit, argv []string, out int) []sd.Property {
	var props []sd.Property
	for _, p := range Properties(u, "/nonexistent", "/nonexistent") {
		switch p.Name {
		case "ExecStart", "ExecStopPost", "CollectMode", "Environment":
			continue
		}
		props = append(props, p)
	}
	if env, ok := environment(u, nil); ok {
		props = append(props, env)
	}
	// systemd expands $VAR in argv; doubled, each "$" reaches the program.
	args := make([]string, len(argv))
	for i, a := range argv {
		args[i] = strings.ReplaceAll(a, "$", "$$")
	}
	return append(props,
		prop("ExecStart", []execCommand{{Path: argv[0], Args: args}}),
		prop("RemainAfterExit", true),
		prop("CollectMode", "inactive"),
		prop("StandardInput", "null"),
		prop("StandardOutputFileDescriptor", godbus.UnixFD(out)),
		prop("StandardErrorFileDescriptor", godbus.UnixFD(out)),
	)
}

// Isolation confines a unit RunSync runs beyond its job's own sandbox: a
// check job, which must not change the repository it checks nor reach the
// manager that runs it (docs/policy.md, "Check jobs"). Every path must
// exist where the manager runs: systemd creates a missing mount point.
type Isolation struct {
	// ReadOnly are paths the unit sees read-only (ReadOnlyPaths=); a
	// "-" prefix ignores a missing one.
	ReadOnly []string
	// HiddenDirs are directories the unit sees empty and read-only
	// (TemporaryFileSystem=PATH:ro): a runtime directory, with the user
	// bus and the manager's private socket.
	HiddenDirs []string
	// HiddenSockets are sockets the unit finds /dev/null in place of
	// (BindReadOnlyPaths=/dev/null:PATH): nothing listens there.
	HiddenSockets []string
	// Writable are the only paths the unit may write besides the job's
	// own read_write_paths: everything else is read-only
	// (ProtectSystem=strict).
	Writable []string
}

// bindMount is one entry of BindReadOnlyPaths, D-Bus type (ssbt): source,
// destination, ignore a missing source, mount flags.
type bindMount struct {
	Source, Dest  string
	IgnoreMissing bool
	Flags         uint64
}

// tmpfsMount is one entry of TemporaryFileSystem, D-Bus type (ss): path
// and mount options.
type tmpfsMount struct {
	Path, Options string
}

// IsolatedProperties are SyncProperties with iso applied: a user
// namespace (PrivateUsers=, without which a user manager applies no mount
// sandbox), the whole file system read-only but for iso.Writable and the
// job's read_write_paths (ProtectSystem=strict, whatever the job's
// protect_system and private_tmp; ProtectHome=read-only;
// ProtectControlGroups=), iso's paths, no capabilities and no new privileges (so no
// process of the unit can remount a path writable), and every process of
// the unit's control group killed with SIGKILL when it stops. systemd
// silently runs a unit unsandboxed where it cannot set up the namespaces,
// so the program must verify the isolation itself before it runs (hookrun
// check-exec does). InaccessiblePaths= is not used: a user manager in a
// namespace of its own may lack the nodes it mounts (exit 226/NAMESPACE).
// Pure.
func IsolatedProperties(u *plan.Unit, argv []string, out int, iso Isolation) []sd.Property {
	var props []sd.Property
	for _, p := range SyncProperties(u, argv, out) {
		switch p.Name {
		// PrivateTmp would hide iso.Writable when it is under /tmp;
		// everything but iso.Writable is read-only anyway.
		case "KillMode", "NoNewPrivileges", "ProtectSystem", "ReadWritePaths", "PrivateTmp":
			continue
		}
		props = append(props, p)
	}
	var rw []string
	for _, p := range append(slices.Clone(u.Sandbox.ReadWritePaths), iso.Writable...) {
		if utf8.ValidString(p) {
			rw = append(rw, p)
		}
	}
	var ro []string
	for _, p := range iso.ReadOnly {
		if utf8.ValidString(p) {
			ro = append(ro, p)
		}
	}
	var dirs []tmpfsMount
	for _, p := range iso.HiddenDirs {
		if utf8.ValidString(p) {
			dirs = append(dirs, tmpfsMount{p, "ro"})
		}
	}
	var socks []bindMount
	for _, p := range iso.HiddenSockets {
		if utf8.ValidString(p) {
			socks = append(socks, bindMount{"/dev/null", p, false, 0})
		}
	}
	props = append(props,
		prop("PrivateUsers", true),
		prop("NoNewPrivileges", true),
		prop("CapabilityBoundingSet", uint64(0)),
		prop("AmbientCapabilities", uint64(0)),
		prop("KillMode", "control-group"),
		prop("KillSignal", int32(9)),
		prop("ProtectSystem", "strict"),
		prop("ProtectHome", "read-only"),
		// A process that moved itself to another cgroup of the user's
		// delegated subtree would survive the unit's end.
		prop("ProtectControlGroups", true),
	)
	if len(rw) > 0 {
		props = append(props, prop("ReadWritePaths", rw))
	}
	if len(ro) > 0 {
		props = append(props, prop("ReadOnlyPaths", ro))
	}
	if len(dirs) > 0 {
		props = append(props, prop("TemporaryFileSystem", dirs))
	}
	if len(socks) > 0 {
		props = append(props, prop("BindReadOnlyPaths", socks))
	}
	return props
}

// RunSync runs argv (argv[0] an absolute path) as the transient service
// u.Name with u's limits and sandbox, and iso's isolation when it is not
// nil (IsolatedProperties), copies its output to w as it comes, waits for
// it to end and returns how it ended; the unit is then removed, and with
// it every process it started. ctx bounds the whole run: when it ends the
// unit is stopped.
func (s *Systemd) RunSync(ctx context.Context, u *plan.Unit, argv []string, w io.Writer, iso *Isolation) (SyncResult, error) {
	if len(argv) == 0 || argv[0] == "" || argv[0][0] != '/' {
		return SyncResult{}, fmt.Errorf("run %s: the program must be an absolute path, got %q", u.Name, argv)
	}
	if s.auth != nil {
		return SyncResult{}, fmt.Errorf("run %s: this connection to the %s manager passes no file descriptors (StartDial's); RunSync needs DialSystemd's", u.Name, s.manager)
	}
	r, wr, err := os.Pipe()
	if err != nil {
		return SyncResult{}, err
	}
	defer r.Close()
	props := SyncProperties(u, argv, int(wr.Fd()))
	if iso != nil {
		props = IsolatedProperties(u, argv, int(wr.Fd()), *iso)
	}
	jobs, err := s.jobConn()
	if err != nil {
		wr.Close()
		return SyncResult{}, err
	}
	started := make(chan string, 1)
	_, err = jobs.StartTransientUnitContext(ctx, u.Name, "fail", props, started)
	wr.Close() // the manager holds its own copy now
	if err != nil {
		return SyncResult{}, callError("start "+u.Name, err)
	}
	// Until its start job is done the unit reads as inactive: wait for it
	// ("done", or "failed" when the program could not be executed).
	select {
	case <-started:
	case <-ctx.Done():
		s.remove(u.Name)
		return SyncResult{}, fmt.Errorf("run %s: starting: %w", u.Name, ctx.Err())
	}
	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(w, bufio.NewReader(r))
		copied <- err
	}()
	res, err := s.waitEnded(ctx, u.Name)
	// The manager keeps the unit's output open while the unit is loaded:
	// removing it closes the pipe, and the copy ends with all the output.
	s.remove(u.Name)
	select {
	case <-copied:
	case <-time.After(10 * time.Second):
		r.Close() // a process of the unit escaped and holds the pipe
	}
	return res, err
}

// waitEnded waits for the manager to record the end of the unit's main
// process and reads how it ended. It asks the manager's view every 20 ms:
// a condition, not a guess at how long the job takes.
func (s *Systemd) waitEnded(ctx context.Context, name string) (SyncResult, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		up, err := s.UnitProperties(ctx, name, "Unit")
		if err != nil {
			return SyncResult{}, err
		}
		state, _ := up["ActiveState"].(string)
		sub, _ := up["SubState"].(string)
		if state == "failed" || state == "inactive" || (state == "active" && sub == "exited") {
			sp, err := s.UnitProperties(ctx, name, "Service")
			if err != nil {
				return SyncResult{}, err
			}
			res := SyncResult{}
			res.Result, _ = sp["Result"].(string)
			if st, ok := sp["ExecMainStatus"].(int32); ok {
				res.Status = int(st)
			}
			return res, nil
		}
		select {
		case <-ctx.Done():
			s.stopNow(name)
			return SyncResult{}, fmt.Errorf("run %s: waiting for it to end: %w", name, ctx.Err())
		case <-tick.C:
		}
	}
}

// stopNow stops a unit whose caller gave up on it.
func (s *Systemd) stopNow(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = s.conn.StopUnitContext(ctx, name, "replace", nil)
}

// remove stops the kept unit and clears its failed state, so nothing of it
// stays loaded.
func (s *Systemd) remove(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan string, 1)
	if jobs, err := s.jobConn(); err != nil {
		_, _ = s.conn.StopUnitContext(ctx, name, "replace", nil)
	} else if _, err := jobs.StopUnitContext(ctx, name, "replace", done); err == nil {
		select {
		case <-done:
		case <-ctx.Done():
		}
	}
	_ = s.conn.ResetFailedUnitContext(ctx, name) // fails when it did not fail: fine
}
