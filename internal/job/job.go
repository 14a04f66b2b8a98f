// Package job runs a resolved unit: what `hookrun exec` does inside a
// systemd transient unit (or a detached exec-runner process).
//
// Run executes the steps of a plan.Unit in order. Every program is started
// directly with its argv (os/exec); no shell ever sees user data, and the
// only shell line hookrun builds, the remote command of a forward-build, is
// assembled from elements quoted one by one with Quote.
//
// Each step's environment is the process environment without any GIT_*
// variable (a hook runs with GIT_DIR set, which would make gitmal or git
// read the wrong repository), then the unit's Env, then the step's Env,
// then the recursion guard HOOKRUN_ACTIVE=1. Its working directory is the
// step's, else the unit's, else the repository.
//
// Step types:
//
//   - gitmal: generates the site into a fresh directory beside Output and
//     swaps it in atomically only when gitmal succeeds (see runGitmal).
//   - forward-build: pushes exactly Rev to Host:Path over ssh and runs
//     Command there on a detached checkout of it (see runForwardBuild).
//   - deploy, command: run Argv.
//
// A unit with more than one step, or of type "sequence", heads each step's
// output with "==> step NAME (TYPE)", ends it with a status line, and stops
// at the first failure.
package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/plan"
)

// Guard is the recursion guard every step's environment carries, so that a
// job pushing back into a repository does not start itself again.
const Guard = "HOOKRUN_ACTIVE=1"

// ChangedFilesVar names, in the environment of a job that a rule with paths
// selected, the file that lists the files the push changed: each path as git
// stores it, ended by a NUL. The file exists while the job runs.
const ChangedFilesVar = "HOOKRUN_CHANGED_FILES_FILE"

// RefsFileVar names, in every job's environment, the file that lists the
// unit's refs (all matched refs of a per = "push" unit), one
// "<old> <new> <refname>" line each, as the hook read them. The file exists
// while the job runs. HOOKRUN_REFS holds the same lines only while they fit
// in plan.MaxRefsEnvBytes.
const RefsFileVar = "HOOKRUN_REFS_FILE"

// Exit statuses used when a step's program did not report one itself.
const (
	// ExitFailure is the status of a step that failed inside hookrun (an
	// invalid plan step, a site that could not be swapped in).
	ExitFailure = 1
	// ExitCannotRun is the status of a program that exists but cannot be
	// executed (permission denied), as in sh(1).
	ExitCannotRun = 126
	// ExitNotFound is the status of a program that does not exist, as in sh(1).
	ExitNotFound = 127
)

// killGrace is how long a step's process group has between SIGTERM (when
// the context is done) and SIGKILL.
var killGrace = 10 * time.Second

// ExitError is the error Run returns when a step fails. Code is the status
// `hookrun exec` should exit with: the program's own exit status, 128+N when
// it was killed by signal N, ExitNotFound or ExitCannotRun when it could not
// be started, ExitFailure for failures inside hookrun. Err is the cause; it
// wraps context.Canceled or context.DeadlineExceeded when the step was
// stopped because ctx ended.
type ExitError struct {
	Step string // name of the failing step
	Code int
	Err  error
	// Detail is the program's own word on why it failed (gitmal's last line
	// on stderr), when known: for the notification and the history.
	Detail string
	// Signal is the signal that killed the step's program (0 when it
	// exited), and CoreDump whether it dumped core.
	Signal   syscall.Signal
	CoreDump bool

	notStarted bool // the program could not be started
}

func (e *ExitError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("step %s: %v (%s)", printable(e.Step), e.Err, e.Detail)
	}
	return fmt.Sprintf("step %s: %v", printable(e.Step), e.Err)
}

func (e *ExitError) Unwrap() error { return e.Err }

// Run runs u's steps with the given output streams (nil discards) and
// returns nil when every step succeeded. A failing step gives an *ExitError; a unit that
// cannot be run at all (no steps) gives another error. When ctx ends, the
// running step's process group gets SIGTERM, then SIGKILL after a grace
// period, and no further step starts.
func Run(ctx context.Context, u *plan.Unit, stdout, stderr io.Writer) error {
	if u == nil || len(u.Steps) == 0 {
		return errors.New("plan has no steps to run")
	}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	// The lists a job may need whole, however large, go in files named in
	// its environment: an environment variable is limited to 128 KiB.
	lists := []listFile{{RefsFileVar, "the list of refs", RefLines(u.Refs)}}
	if u.ChangedFiles != nil {
		lists = append(lists, listFile{ChangedFilesVar, "the list of changed files", u.ChangedFiles})
	}
	c := *u
	c.Env = slices.Clip(u.Env)
	for _, l := range lists {
		path, err := writeList(l.data, l.what, listDirs(u.RepoPath)...)
		if err != nil {
			return &ExitError{Step: u.Steps[0].Name, Code: ExitFailure, Err: err}
		}
		defer os.Remove(path)
		c.Env = append(c.Env, l.name+"="+path)
	}
	u = &c
	if len(u.Steps) == 1 && u.Type != plan.TypeSequence {
		return runStep(ctx, u, &u.Steps[0], stdout, stderr)
	}
	for i := range u.Steps {
		s := &u.Steps[i]
		fmt.Fprintf(stdout, "==> step %s (%s)\n", printable(s.Name), printable(string(s.Type)))
		start := time.Now()
		err := ctx.Err()
		if err != nil {
			err = &ExitError{Step: s.Name, Code: ExitFailure, Err: fmt.Errorf("not started: %w", err)}
		} else {
			err = runStep(ctx, u, s, stdout, stderr)
		}
		d := time.Since(start).Round(time.Millisecond)
		if err == nil {
			fmt.Fprintf(stdout, "==> step %s: success in %s\n", printable(s.Name), d)
			continue
		}
		status := err.Error()
		var ee *ExitError
		if errors.As(err, &ee) {
			status = ee.Err.Error()
		}
		fmt.Fprintf(stdout, "==> step %s: failed in %s: %s\n", printable(s.Name), d, status)
		if rest := u.Steps[i+1:]; len(rest) > 0 {
			names := make([]string, len(rest))
			for j := range rest {
				names[j] = printable(rest[j].Name)
			}
			fmt.Fprintf(stdout, "==> skipped: %s\n", strings.Join(names, ", "))
		}
		return err
	}
	return nil
}

// listFile is a list handed to a job in a file: the variable naming the
// file, what the list is (for errors), and its content.
type listFile struct {
	name, what string
	data       []byte
}

// RefLines renders refs as git gives them to the hook, one
// "<old> <new> <refname>" line each: the content of HOOKRUN_REFS_FILE.
func RefLines(refs []plan.Ref) []byte {
	n := 0
	for _, r := range refs {
		n += len(r.Old) + len(r.New) + len(r.Ref) + 3
	}
	b := make([]byte, 0, n)
	for _, r := range refs {
		b = append(b, r.Old...)
		b = append(b, ' ')
		b = append(b, r.New...)
		b = append(b, ' ')
		b = append(b, r.Ref...)
		b = append(b, '\n')
	}
	return b
}

// listDirs are where a job's lists go, the first that takes them: the
// unit's runtime directory, which its manager made for it (a tmpfs, removed
// with the unit: runner.Properties), the temporary directory (the exec
// runner's; with PrivateTmp, the unit's own), else the repository's state
// directory (protect_system = "strict" without private_tmp leaves /tmp
// read-only).
func listDirs(repoPath string) []string {
	var dirs []string
	if d, _, _ := strings.Cut(os.Getenv("RUNTIME_DIRECTORY"), ":"); d != "" {
		dirs = append(dirs, d)
	}
	return append(dirs, os.TempDir(), layout.Dir(repoPath))
}

// writeList writes a list (what it is, for errors) where the unit's steps
// can read it: a private file in the first of dirs that takes it.
func writeList(list []byte, what string, dirs ...string) (string, error) {
	var errs []error
	for _, dir := range dirs {
		f, err := os.CreateTemp(dir, "hookrun-list-*")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_, err = f.Write(list)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			return f.Name(), nil
		}
		os.Remove(f.Name())
		errs = append(errs, err)
	}
	return "", fmt.Errorf("writing %s: %w", what, errors.Join(errs...))
}

// runStep runs one step according to its type.
func runStep(ctx context.Context, u *plan.Unit, s *plan.Step, stdout, stderr io.Writer) error {
	if err := checkPaths(u, s); err != nil {
		// The reason is the unit's notified word on its failure.
		return &ExitError{Step: s.Name, Code: ExitFailure, Err: errors.New("not started: its paths are unsafe"), Detail: err.Error()}
	}
	runType, err := stepRunner(s.Type)
	if err == nil {
		err = runType(ctx, u, s, stdout, stderr)
	}
	if err == nil {
		return nil
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	return &ExitError{Step: s.Name, Code: ExitFailure, Err: err}
}

// stepRunner is how a step of type t runs: every job type's run-time
// implementation (docs/contributing.md, "Adding a job type"). A sequence
// is no step: resolve plans its jobs' steps.
func stepRunner(t plan.JobType) (func(ctx context.Context, u *plan.Unit, s *plan.Step, stdout, stderr io.Writer) error, error) {
	switch t {
	case plan.TypeGitmal:
		return runGitmal, nil
	case plan.TypeForwardBuild:
		return runForwardBuild, nil
	case plan.TypeDeploy, plan.TypeCommand:
		return runArgv, nil
	case plan.TypeSequence:
		return nil, errors.New("a sequence is no step: resolve plans its jobs' steps (a bug: report it)")
	}
	return nil, fmt.Errorf("unknown step type %q: this hookrun cannot run it; is the plan from a newer hookrun?", t)
}

// runArgv runs the step's argv.
func runArgv(ctx context.Context, u *plan.Unit, s *plan.Step, stdout, stderr io.Writer) error {
	return run(ctx, newProc(u, s, s.Argv, stdout, stderr))
}

// proc is one program to start for a step.
type proc struct {
	step   string
	argv   []string
	env    []string
	dir    string
	stdout io.Writer
	stderr io.Writer
	hint   string // what to do when argv[0] is missing
}

// newProc is the program argv run with the step's environment and
// working directory.
func newProc(u *plan.Unit, s *plan.Step, argv []string, stdout, stderr io.Writer) *proc {
	return &proc{
		step:   s.Name,
		argv:   argv,
		env:    Environ(os.Environ(), u.Env, s.Env),
		dir:    WorkDir(u, s),
		stdout: stdout,
		stderr: stderr,
	}
}

// Environ is the environment of a step: base (the process environment)
// without GIT_* variables, then unitEnv, then stepEnv, then Guard. Later
// entries win over earlier ones with the same key; GIT_* variables set in
// the unit's or step's own environment are kept, since the configuration
// asked for them.
func Environ(base, unitEnv, stepEnv []string) []string {
	env := make([]string, 0, len(base)+len(unitEnv)+len(stepEnv)+1)
	// GIT_* would point git tools at the hook's repository; the ntfy token
	// is for hookrun notify alone.
	for _, kv := range gitx.CleanEnv(base) {
		if !strings.HasPrefix(kv, "HOOKRUN_NTFY_TOKEN=") {
			env = append(env, kv)
		}
	}
	env = append(env, unitEnv...)
	env = append(env, stepEnv...)
	env = append(env, Guard)
	return dedupEnv(env)
}

// dedupEnv keeps the last entry of every key, in the position of the first.
func dedupEnv(env []string) []string {
	idx := make(map[string]int, len(env))
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			out[i] = kv
			continue
		}
		idx[k] = len(out)
		out = append(out, kv)
	}
	return out
}

// getenv is the value of key in env, as os.Getenv.
func getenv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// WorkDir is the working directory of step s: its own, else the unit's,
// else the repository.
func WorkDir(u *plan.Unit, s *plan.Step) string {
	switch {
	case s.Dir != "":
		return s.Dir
	case u.Dir != "":
		return u.Dir
	}
	return u.RepoPath
}

// run starts p, waits for it and turns every failure into an *ExitError.
func run(ctx context.Context, p *proc) error {
	if err := ctx.Err(); err != nil {
		return &ExitError{Step: p.step, Code: ExitFailure, Err: fmt.Errorf("not started: %w", err)}
	}
	if len(p.argv) == 0 || p.argv[0] == "" {
		return &ExitError{Step: p.step, Code: ExitFailure, Err: errors.New("nothing to run: the plan's argv is empty")}
	}
	for _, a := range p.argv {
		if strings.IndexByte(a, 0) >= 0 {
			return &ExitError{Step: p.step, Code: ExitFailure, Err: fmt.Errorf("argument %q contains a NUL byte", a)}
		}
	}
	if p.dir != "" {
		if fi, err := os.Stat(p.dir); err != nil || !fi.IsDir() {
			return &ExitError{Step: p.step, Code: ExitFailure,
				Err: fmt.Errorf("working directory %s does not exist or is not a directory: create it or fix working_directory", p.dir)}
		}
	}
	path, err := lookPath(p.argv[0], p.dir, getenv(p.env, "PATH"))
	if err != nil {
		return startError(p, err)
	}
	cmd := exec.CommandContext(ctx, path)
	cmd.Args = p.argv
	cmd.Env = p.env
	cmd.Dir = p.dir
	cmd.Stdout = p.stdout
	cmd.Stderr = p.stderr
	// Own process group, so that stopping the step stops what it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = killGrace
	if err := cmd.Start(); err != nil {
		return startError(p, err)
	}
	err = cmd.Wait()
	if err == nil {
		return nil
	}
	code := ExitFailure
	var sig syscall.Signal
	var core bool
	var xe *exec.ExitError
	if errors.As(err, &xe) {
		code = xe.ExitCode()
		if ws, ok := xe.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			sig, core = ws.Signal(), ws.CoreDump()
			code = 128 + int(sig)
		}
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		err = &stoppedError{ctx: ctxErr, prog: filepath.Base(p.argv[0]), sig: sig, code: code}
	} else {
		err = fmt.Errorf("%s: %w", filepath.Base(p.argv[0]), err)
	}
	return &ExitError{Step: p.step, Code: code, Err: err, Signal: sig, CoreDump: core}
}

// stoppedError is a step stopped because its context ended, said in words
// ("timed out: sleep was stopped by signal TERM"), not Go's ("context
// deadline exceeded (sleep stopped: signal: terminated)"). It wraps the
// context's error.
type stoppedError struct {
	ctx  error
	prog string
	sig  syscall.Signal
	code int
}

func (e *stoppedError) Error() string {
	what := "stopped"
	if errors.Is(e.ctx, context.DeadlineExceeded) {
		what = "timed out"
	}
	how := fmt.Sprintf("it then exited with status %d", e.code)
	if e.sig != 0 {
		how = "by signal " + signalName(e.sig)
	}
	return fmt.Sprintf("%s: %s was stopped %s", what, e.prog, how)
}

func (e *stoppedError) Unwrap() error { return e.ctx }

// signalName is "TERM" for SIGTERM, as systemd and kill say it.
func signalName(s syscall.Signal) string {
	names := map[syscall.Signal]string{syscall.SIGTERM: "TERM", syscall.SIGKILL: "KILL", syscall.SIGINT: "INT", syscall.SIGHUP: "HUP", syscall.SIGQUIT: "QUIT"}
	if n, ok := names[s]; ok {
		return n
	}
	return fmt.Sprint(int(s))
}

// errNotExecutable is returned by lookPath for a file without execute
// permission.
var errNotExecutable = errors.New("permission denied")

// lookPath finds the program name as execve would with the step's PATH
// (not hookrun's own): a name with a slash is taken relative to dir.
func lookPath(name, dir, pathEnv string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		if err := executable(p); err != nil {
			return "", err
		}
		return filepath.Abs(p)
	}
	if pathEnv == "" {
		pathEnv = "/usr/local/bin:/usr/bin:/bin"
	}
	firstErr := error(exec.ErrNotFound)
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" || !filepath.IsAbs(d) {
			continue // never run a program from a relative PATH entry
		}
		p := filepath.Join(d, name)
		err := executable(p)
		if err == nil {
			return p, nil
		}
		if errors.Is(err, errNotExecutable) && firstErr == exec.ErrNotFound {
			firstErr = err
		}
	}
	return "", firstErr
}

// executable reports whether p is a regular file with an execute bit.
func executable(p string) error {
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		return exec.ErrNotFound
	case fi.IsDir():
		return fmt.Errorf("%s is a directory", p)
	case fi.Mode()&0o111 == 0:
		return errNotExecutable
	}
	return nil
}

// startError explains why p could not be started: which binary, and what
// to do about it.
func startError(p *proc, err error) error {
	name := p.argv[0]
	hint := p.hint
	if hint == "" {
		hint = "install it or fix the path in hooks.toml"
	}
	ee := classifyStart(p.step, name, hint, err)
	ee.notStarted = true
	return ee
}

func classifyStart(step, name, hint string, err error) *ExitError {
	switch {
	case errors.Is(err, exec.ErrNotFound) && !strings.Contains(name, "/"):
		return &ExitError{Step: step, Code: ExitNotFound,
			Err: fmt.Errorf("%s: command not found in PATH: %s", name, hint)}
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, syscall.ENOENT):
		return &ExitError{Step: step, Code: ExitNotFound,
			Err: fmt.Errorf("%s: no such file (or its #! interpreter is missing): %s", name, hint)}
	case errors.Is(err, errNotExecutable), errors.Is(err, syscall.EACCES):
		return &ExitError{Step: step, Code: ExitCannotRun,
			Err: fmt.Errorf("%s: not executable: chmod +x it, or run it through its interpreter", name)}
	}
	return &ExitError{Step: step, Code: ExitCannotRun, Err: fmt.Errorf("%s: cannot run: %w", name, err)}
}

// printable is s, quoted when it holds control characters, so a name can
// not forge output lines.
func printable(s string) string {
	if strings.ContainsFunc(s, unicode.IsControl) {
		return fmt.Sprintf("%q", s)
	}
	return s
}
