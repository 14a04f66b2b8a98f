// Package checkjob runs a [[policy]]'s check jobs in pre-receive: each
// synchronously in an isolated transient unit (the repository and the
// pushed objects read-only, no way to the manager that runs it, every
// process it starts ended with it), its output streamed to the pusher.
// Where the isolation cannot be applied the check does not run and the
// push is refused with the reason: a check never runs unisolated.
package checkjob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/job"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/policy"
	"github.com/hookrun/hookrun/internal/resolve"
	"github.com/hookrun/hookrun/internal/runner"
)

// Runner runs the check jobs of one push.
type Runner struct {
	Config   *config.Config
	RepoPath string // the repository's absolute path
	// ReadOnly are further paths a check sees read-only: the config files.
	ReadOnly []string
	// Self is the hookrun binary; `Self check-exec` verifies the
	// isolation inside the unit, then runs the check's program.
	Self   string
	Getenv func(string) string
	Now    func() time.Time
	Pusher match.Pusher // who pushed: the check's HOOKRUN_PUSHER
	// Out receives the checks' output, one "hookrun: check NAME: " line
	// each, and each refusal: in a hook, the pusher reads it.
	Out io.Writer
}

// Run runs checks one after another and returns how many refuse the push;
// each refusal is written to Out as a "hookrun: refused: " line.
func (r *Runner) Run(ctx context.Context, checks []policy.CheckRun) int {
	conns := map[string]*runner.Systemd{}
	defer func() {
		for _, sd := range conns {
			sd.Close()
		}
	}()
	failed := 0
	for _, ch := range checks {
		if why := r.run(ctx, ch, conns); why != "" {
			failed++
			v := policy.Violation{Policy: ch.Policy.Name, Ref: ch.Refs[0].Name, What: why, Message: ch.Policy.Message}
			fmt.Fprintf(r.Out, "hookrun: refused: %s\n", v)
		}
	}
	return failed
}

// ExitNotIsolated is the exit status of `hookrun check-exec` when the
// isolation does not hold inside the unit: the check did not run.
const ExitNotIsolated = 121

// run runs one check and says why it refuses the push, or "".
func (r *Runner) run(ctx context.Context, ch policy.CheckRun, conns map[string]*runner.Systemd) string {
	c := r.Config
	name := ch.Policy.Check
	u, err := resolve.JobUnit(c, resolve.Push{RepoPath: r.RepoPath, Repo: gitx.RepoName(r.RepoPath), Pusher: r.Pusher, Now: r.Now(), UnitName: runner.UnitName}, name, ch.Refs)
	if err != nil {
		return fmt.Sprintf("check job %s: %v", name, err)
	}
	u.Concurrency = plan.Parallel // RuntimeMaxSec counts from the start
	if u.Limits.Timeout == 0 {
		u.Limits.Timeout = config.CheckTimeout
	}
	if len(u.Steps) != 1 || len(u.Steps[0].Argv) == 0 {
		return fmt.Sprintf("check job %s has no command", name)
	}
	argv := u.Steps[0].Argv
	if !filepath.IsAbs(argv[0]) {
		p, err := exec.LookPath(argv[0])
		if err != nil {
			return fmt.Sprintf("check job %s: %q is not in PATH", name, argv[0])
		}
		argv[0], _ = filepath.Abs(p)
	}
	if r.Self == "" || !filepath.IsAbs(r.Self) {
		return fmt.Sprintf("check job %s cannot run isolated: the hookrun binary's path is unknown (%q)", name, r.Self)
	}
	if u.Steps[0].Dir != "" {
		u.Dir = u.Steps[0].Dir
	}
	u.Env = append(u.Env, GitEnv(r.Getenv, r.RepoPath)...)
	// The refs in a file, as post-receive's jobs have them: HOOKRUN_REFS
	// is left out of the environment past plan.MaxRefsEnvBytes.
	dir, err := os.MkdirTemp("", "hookrun-check-")
	if err != nil {
		return fmt.Sprintf("check job %s cannot run: %v", name, err)
	}
	defer os.RemoveAll(dir)
	refsFile := filepath.Join(dir, "refs")
	if err := os.WriteFile(refsFile, job.RefLines(u.Refs), 0o600); err != nil {
		return fmt.Sprintf("check job %s cannot run: %v", name, err)
	}
	u.Env = append(u.Env, job.RefsFileVar+"="+refsFile)
	// The only place the check may write (with its own read_write_paths):
	// a scratch directory, removed when it ends.
	scratch := filepath.Join(dir, "tmp")
	if err := os.Mkdir(scratch, 0o700); err != nil {
		return fmt.Sprintf("check job %s cannot run: %v", name, err)
	}
	u.Env = append(u.Env, "TMPDIR="+scratch)

	sd := conns[string(u.Manager)]
	if sd == nil {
		if sd, err = runner.DialSystemd(ctx, string(u.Manager), r.Getenv); err != nil {
			// The exec runner is no way out for a check: it runs only
			// in an isolated unit.
			var ue *runner.UnreachableError
			if errors.As(err, &ue) {
				ue.Hint = strings.TrimSuffix(strings.TrimSuffix(ue.Hint, `, or set runner = "exec"`), `or set runner = "exec"`)
				ue.Hint += "; a check job runs only in an isolated systemd unit, never with the exec runner"
			}
			return fmt.Sprintf("check job %s cannot run: %v", name, err)
		}
		conns[string(u.Manager)] = sd
	}
	iso := r.isolation(sd)
	iso.Writable = []string{scratch}
	wrapped := append([]string{r.Self, "check-exec", "--repo", r.RepoPath}, socketArgs(Sockets(r.Getenv, os.Getuid(), sd.Address()))...)
	wrapped = append(append(wrapped, "--"), argv...)
	// The unit stops itself at its timeout; this bound only guards against
	// a manager that never answers.
	runCtx, cancel := context.WithTimeout(ctx, u.Limits.Timeout+time.Minute)
	defer cancel()
	out := &LinePrefixer{W: r.Out, Prefix: "hookrun: check " + ch.Policy.Name + ": "}
	res, err := sd.RunSync(runCtx, u, wrapped, out, &iso)
	out.Flush()
	if err != nil {
		return fmt.Sprintf("check job %s: %v", name, err)
	}
	if res.OK() {
		return ""
	}
	if res.Result == "exit-code" && res.Status == ExitNotIsolated {
		return fmt.Sprintf("check job %s did not run: its unit could not be isolated (see the line above); a check never runs unisolated", name)
	}
	if res.Result == "exit-code" && res.Status >= 200 && res.Status <= 243 {
		// systemd's own exit statuses (systemd.exec(5)): the sandbox
		// could not be set up, e.g. 225/NAMESPACE, 226/NAMESPACE.
		return fmt.Sprintf("check job %s did not run: systemd could not set up its isolation (exit status %d, systemd.exec(5) \"Process Exit Codes\"); a check never runs unisolated", name, res.Status)
	}
	// The same words as a job's notification: "exit status 3", "timed
	// out after 10s", "killed: out of memory".
	o := notify.FromService(res.Result, "", strconv.Itoa(res.Status), u.Limits.Timeout, u.Limits.MemoryMax)
	return fmt.Sprintf("check job %s failed: %s", name, o.Reason)
}

// isolation is what a check's unit must not change or reach: the
// repository and the config files, read-only; the runtime directories
// (the user bus, the user manager's private socket) and the other sockets
// of managers and buses, hidden. Only paths that exist are named: systemd
// would create a missing mount point.
func (r *Runner) isolation(sd *runner.Systemd) runner.Isolation {
	iso := runner.Isolation{ReadOnly: append([]string{r.RepoPath}, r.ReadOnly...)}
	var dirs []string
	for _, d := range runtimeDirs(r.Getenv, os.Getuid()) {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			dirs = append(dirs, d)
			iso.HiddenDirs = append(iso.HiddenDirs, d)
		}
	}
	for _, s := range Sockets(r.Getenv, os.Getuid(), sd.Address()) {
		if under(s, dirs) {
			continue
		}
		if fi, err := os.Stat(s); err == nil && fi.Mode().Type() == os.ModeSocket {
			iso.HiddenSockets = append(iso.HiddenSockets, s)
		}
	}
	return iso
}

func runtimeDirs(getenv func(string) string, uid int) []string {
	var out []string
	for _, d := range []string{getenv("XDG_RUNTIME_DIR"), "/run/user/" + strconv.Itoa(uid)} {
		if filepath.IsAbs(d) && !slices.Contains(out, filepath.Clean(d)) {
			out = append(out, filepath.Clean(d))
		}
	}
	return out
}

// under reports whether p is one of dirs or inside one.
func under(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// Sockets are the sockets through which a process could reach a systemd
// manager or a D-Bus bus: those the environment names, the given
// addresses', the user's runtime directories' and the system's.
func Sockets(getenv func(string) string, uid int, addresses ...string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if strings.HasPrefix(p, "@") && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
		if p != "" && filepath.IsAbs(p) && !seen[filepath.Clean(p)] {
			seen[filepath.Clean(p)] = true
			out = append(out, filepath.Clean(p))
		}
	}
	for _, a := range append([]string{getenv("DBUS_SESSION_BUS_ADDRESS"), getenv("DBUS_SYSTEM_BUS_ADDRESS")}, addresses...) {
		for _, p := range AddressPaths(a) {
			add(p)
		}
	}
	for _, d := range runtimeDirs(getenv, uid) {
		add(filepath.Join(d, "bus"))
		add(filepath.Join(d, "systemd", "private"))
	}
	add("/run/dbus/system_bus_socket")
	add("/run/systemd/private")
	return out
}

// AddressPaths are the sockets of a D-Bus address
// ("unix:path=/run/user/1000/bus;unix:abstract=/tmp/dbus-x"), unescaped: a
// path, or "@name" for an abstract socket (which no mount hides: check-exec
// refuses to run a check that can reach one).
func AddressPaths(addr string) []string {
	var out []string
	for _, a := range strings.Split(addr, ";") {
		rest, ok := strings.CutPrefix(a, "unix:")
		if !ok {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			p, err := unescapeAddress(v)
			if err != nil || p == "" {
				continue
			}
			switch k {
			case "path":
				out = append(out, p)
			case "abstract":
				out = append(out, "@"+p)
			}
		}
	}
	return out
}

func unescapeAddress(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		b.WriteByte(byte(n))
		i += 2
	}
	return b.String(), nil
}

func socketArgs(paths []string) []string {
	var out []string
	for _, p := range paths {
		out = append(out, "--socket", p)
	}
	return out
}

// GitEnv lets a check job's git commands see the pushed objects: GIT_DIR
// and git's quarantine variables, made absolute (the unit's working
// directory need not be the repository).
func GitEnv(getenv func(string) string, repoPath string) []string {
	env := []string{"GIT_DIR=" + repoPath}
	for _, k := range []string{"GIT_OBJECT_DIRECTORY", "GIT_QUARANTINE_PATH"} {
		if v := getenv(k); v != "" {
			if !filepath.IsAbs(v) {
				v = filepath.Join(repoPath, v)
			}
			env = append(env, k+"="+v)
		}
	}
	if v := getenv("GIT_ALTERNATE_OBJECT_DIRECTORIES"); v != "" {
		parts := filepath.SplitList(v)
		for i, p := range parts {
			if !filepath.IsAbs(p) && !strings.HasPrefix(p, "\"") {
				parts[i] = filepath.Join(repoPath, p)
			}
		}
		env = append(env, "GIT_ALTERNATE_OBJECT_DIRECTORIES="+strings.Join(parts, string(filepath.ListSeparator)))
	}
	return env
}

// LinePrefixer writes each line with a prefix, as the pusher sees
// "remote: hookrun: check NAME: ..." while the check runs.
type LinePrefixer struct {
	W       io.Writer
	Prefix  string
	partial []byte
}

func (l *LinePrefixer) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.partial = append(l.partial, p...)
			if len(l.partial) > 4096 {
				l.Flush()
			}
			break
		}
		line := append(l.partial, p[:i]...)
		l.partial = l.partial[:0]
		fmt.Fprintf(l.W, "%s%s\n", l.Prefix, strings.ToValidUTF8(string(line), "\uFFFD"))
		p = p[i+1:]
	}
	return n, nil
}

// Flush writes a last line without its newline.
func (l *LinePrefixer) Flush() {
	if len(l.partial) > 0 {
		fmt.Fprintf(l.W, "%s%s\n", l.Prefix, strings.ToValidUTF8(string(l.partial), "\uFFFD"))
		l.partial = l.partial[:0]
	}
}
