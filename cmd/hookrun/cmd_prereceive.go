package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/policy"
	"github.com/hookrun/hookrun/internal/resolve"
	"github.com/hookrun/hookrun/internal/runner"
)

func cmdPreReceive() *command {
	return &command{
		name:    "pre-receive",
		summary: "the git hook: refuse a push that breaks a [[policy]], before any ref moves",
		usage:   "< ref-lines",
		help: `Run by git as hooks/pre-receive (a symlink to hookrun; see 'hookrun install').
Reads "<old> <new> <refname>" lines, loads the global config and
$GIT_DIR/hooks.toml, and checks the [[policy]] tables that apply to the
pushed refs against every object the push brings to the refs a policy
selects (those none of its refs reached before). Any violation refuses the whole push, one line each; nothing
moves. An invalid config or malformed input refuses the push too. When no
policy applies, no git command runs and no connection to systemd opens.`,
		exits: []exitDoc{{"0", "no policy refuses the push, or none applies"}, {"1", "the push is refused: a policy violation, a failed check job, malformed input, or a config with policies that is invalid or unsafe"}, {"2", "usage error"}},
		flags: func(fs *pflag.FlagSet) {
			fs.String("config", "", "global config `file`")
			fs.Bool("insecure-config", false, "accept config files writable by others (dangerous; also HOOKRUN_INSECURE_CONFIG=1)")
		},
		run: runPreReceive,
	}
}

// policyTimeout bounds the git reads of one push's policy checks.
const policyTimeout = 5 * time.Minute

func runPreReceive(a *app, fs *pflag.FlagSet) error {
	in, err := readHookInput(a, fs, "pre-receive", "the push is refused (policies cannot be checked)", noPolicies)
	if in == nil || err != nil {
		return err
	}
	c, repoPath, ups := in.config, in.repoPath, in.updates
	if len(c.Policies) == 0 || !policy.Applies(c.Policies, ups) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), policyTimeout)
	defer cancel()
	git := &policy.Repo{GitDir: repoPath, Env: policy.QuarantineEnv(os.Environ(), a.getenv)}
	res, err := policy.Evaluate(ctx, c.Policies, policy.Push{Updates: ups, Cert: quarantinedCert(ctx, a, repoPath, c, git)}, git)
	if err != nil {
		return fmt.Errorf("checking policies: %v; the push is refused", err)
	}
	if !res.OK() {
		reportViolations(a, res)
		a.hintf("the push is refused (%s); no ref was changed", plural(len(res.Violations)+omitted(res), "policy violation"))
		return errReported
	}
	if len(res.Checks) > 0 {
		return runChecks(ctx, a, c, repoPath, res.Checks)
	}
	return nil
}

// noPolicies reports whether none of the config files, broken or not,
// mentions policies: then a broken config does not block pushes (the
// post-receive hook reports it), while a broken file that may hold a
// policy refuses them, as an unchecked policy must not let a push through.
func noPolicies(files []string) bool {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && bytes.Contains(b, []byte("polic")) {
			return false
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false
		}
	}
	return true
}

// quarantinedCert is the push certificate, read (when a policy needs it)
// through the quarantine environment: in pre-receive, receive-pack has
// written the certificate blob among the pushed objects.
func quarantinedCert(ctx context.Context, a *app, repoPath string, c *config.Config, git *policy.Repo) match.PushCert {
	pc := pushCert(a.getenv, repoPath, nil)
	if pc.Blob == "" || !slices.ContainsFunc(c.Policies, func(p *config.Policy) bool { return p.SignedPush }) {
		return pc
	}
	pc.CertErr = git.ReadObjects(ctx, []string{pc.Blob}, func(id, typ string, body []byte) error {
		if typ != "blob" || len(body) > match.MaxCertBytes {
			return fmt.Errorf("%s is not a push certificate blob", id)
		}
		var err error
		pc.Cert, err = match.ParseCertificate(body)
		return err
	})
	return pc
}

func reportViolations(a *app, res *policy.Result) {
	for _, v := range res.Violations {
		fmt.Fprintf(a.stderr, "hookrun: refused: %s\n", v)
	}
	for name, n := range res.Omitted {
		fmt.Fprintf(a.stderr, "hookrun: refused: policy %s: %d more violations not shown\n", name, n)
	}
}

func omitted(res *policy.Result) int {
	n := 0
	for _, k := range res.Omitted {
		n += k
	}
	return n
}

// runChecks runs the check jobs the push needs, one after another, each
// synchronously in a transient unit with its job's limits and sandbox, its
// output streamed to the pusher. Any failure refuses the push.
func runChecks(ctx context.Context, a *app, c *config.Config, repoPath string, checks []policy.CheckRun) error {
	conns := map[string]*runner.Systemd{}
	defer func() {
		for _, sd := range conns {
			sd.Close()
		}
	}()
	failed := 0
	for _, ch := range checks {
		if why := runCheckJob(ctx, a, c, repoPath, ch, conns); why != "" {
			failed++
			v := policy.Violation{Policy: ch.Policy.Name, Ref: ch.Refs[0].Name, What: why, Message: ch.Policy.Message}
			fmt.Fprintf(a.stderr, "hookrun: refused: %s\n", v)
		}
	}
	if failed > 0 {
		a.hintf("the push is refused (%s); no ref was changed", plural(failed, "failed check"))
		return errReported
	}
	return nil
}

// runCheckJob runs one check and says why it refuses the push, or "".
func runCheckJob(ctx context.Context, a *app, c *config.Config, repoPath string, ch policy.CheckRun, conns map[string]*runner.Systemd) string {
	job := ch.Policy.Check
	u := resolve.JobUnit(c, resolve.Push{RepoPath: repoPath, Repo: gitx.RepoName(repoPath), Now: a.now(), UnitName: runner.UnitName}, job, ch.Refs)
	u.Concurrency = "parallel" // RuntimeMaxSec counts from the start
	if u.Limits.Timeout == 0 {
		u.Limits.Timeout = config.CheckTimeout
	}
	if len(u.Steps) != 1 || len(u.Steps[0].Argv) == 0 {
		return fmt.Sprintf("check job %s has no command", job)
	}
	argv := u.Steps[0].Argv
	if !filepath.IsAbs(argv[0]) {
		p, err := exec.LookPath(argv[0])
		if err != nil {
			return fmt.Sprintf("check job %s: %q is not in PATH", job, argv[0])
		}
		argv[0], _ = filepath.Abs(p)
	}
	if u.Steps[0].Dir != "" {
		u.Dir = u.Steps[0].Dir
	}
	u.Env = append(u.Env, checkGitEnv(a.getenv, repoPath)...)
	sd := conns[string(u.Manager)]
	if sd == nil {
		var err error
		if sd, err = runner.DialSystemd(ctx, string(u.Manager), a.getenv); err != nil {
			return fmt.Sprintf("check job %s cannot run: %v", job, err)
		}
		conns[string(u.Manager)] = sd
	}
	// The unit stops itself at its timeout; this bound only guards against
	// a manager that never answers.
	runCtx, cancel := context.WithTimeout(ctx, u.Limits.Timeout+time.Minute)
	defer cancel()
	out := &linePrefixer{w: a.stderr, prefix: "hookrun: check " + ch.Policy.Name + ": "}
	res, err := sd.RunSync(runCtx, u, argv, out)
	out.Flush()
	if err != nil {
		return fmt.Sprintf("check job %s: %v", job, err)
	}
	if res.OK() {
		return ""
	}
	// The same words as a job's notification: "exit status 3", "timed
	// out after 10s", "killed: out of memory".
	o := notify.FromService(res.Result, "", strconv.Itoa(res.Status), u.Limits.Timeout, u.Limits.MemoryMax)
	return fmt.Sprintf("check job %s failed: %s", job, o.Reason)
}

// checkGitEnv lets a check job's git commands see the pushed objects:
// GIT_DIR and git's quarantine variables, made absolute (the unit's
// working directory need not be the repository).
func checkGitEnv(getenv func(string) string, repoPath string) []string {
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

// linePrefixer writes each line with a prefix, as the pusher sees
// "remote: hookrun: check NAME: ..." while the check runs.
type linePrefixer struct {
	w       io.Writer
	prefix  string
	partial []byte
}

func (l *linePrefixer) Write(p []byte) (int, error) {
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
		fmt.Fprintf(l.w, "%s%s\n", l.prefix, strings.ToValidUTF8(string(line), "\uFFFD"))
		p = p[i+1:]
	}
	return n, nil
}

// Flush writes a last line without its newline.
func (l *linePrefixer) Flush() {
	if len(l.partial) > 0 {
		fmt.Fprintf(l.w, "%s%s\n", l.prefix, strings.ToValidUTF8(string(l.partial), "\uFFFD"))
		l.partial = l.partial[:0]
	}
}
