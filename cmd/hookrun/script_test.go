package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/hookrun/hookrun/internal/hookbin"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hookrun/hookrun/internal/ntfytest"
	"github.com/hookrun/hookrun/internal/peertest"
	"github.com/hookrun/hookrun/internal/runner"
	"github.com/hookrun/hookrun/internal/systemdtest"
	"github.com/hookrun/hookrun/internal/unit"
)

// managers holds each script's systemd manager, for `systemd-manager stop`.
var managers sync.Map

var updateScripts = flag.Bool("u", false, "update testscript golden files (cmp) in place")

func TestMain(m *testing.M) {
	run := func() { os.Exit(Main(os.Args, os.Stdin, os.Stdout, os.Stderr, os.Getenv)) }
	hook := func() { os.Exit(hookbin.Main(os.Args, os.Stdin, os.Stdout, os.Stderr, os.Getenv)) }
	testscript.Main(m, map[string]func(){"hookrun": run, "hookrun-hook": hook, "post-receive": run, "hookrun-post-receive": run, "pre-receive": run, "hookrun-pre-receive": run, "memhog": memhog})
}

// TestScripts runs the CLI end-to-end scripts in testdata/script. Scripts
// that need a real systemd user manager start one with `systemd-manager`;
// with HOOKRUN_REQUIRE_SYSTEMD=1 (CI) a manager that cannot start fails them.
func TestScripts(t *testing.T) {
	testscript.Run(t, scriptParams("testdata/script"))
}

// scriptParams are the testscript parameters for the scripts in dir: the
// environment, custom commands and conditions of every hookrun script.
func scriptParams(dir string) testscript.Params {
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       *updateScripts,
		// An empty global config, so a developer's /etc/hookrun never leaks in.
		Setup: func(env *testscript.Env) error { return scriptEnv(env, "version = 1\n") },
		Cmds: withWaitCmds(map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"systemd-manager": cmdSystemdManager,
			"ntfy-listen":     cmdNtfyListen,
			"ntfy-wait":       cmdNtfyWait,
			"scrub":           cmdScrub,
			"glob":            cmdGlob,
			"exit-status":     cmdExitStatus,
			"ntfy-serve":      cmdNtfyServe,
			"ntfy-user":       cmdNtfyUser,
			"ntfy-poll":       cmdNtfyPoll,
			"ntfy-pause":      cmdNtfyPause,
			"ntfy-resume":     cmdNtfyResume,
			"unit-stop":       cmdUnitStop,
			"unit-newest":     cmdUnitNewest,
			"gitea-serve":     cmdGiteaServe,
			"webhook-listen":  cmdWebhookListen,
		}),
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				return os.Getuid() == 0, nil
			case "race":
				// Scripts that run hundreds of hookrun processes at once
				// skip under the race detector (each instrumented process
				// is several times larger and slower); make test runs them.
				return raceEnabled, nil
			case "systemd":
				// Scripts say `[!systemd] skip`; where skipping is forbidden
				// (CI) they run and fail loudly if no manager starts.
				if systemdtest.Required() {
					return true, nil
				}
				_, err := os.Stat("/lib/systemd/systemd")
				return err == nil && os.Getuid() == 0 || os.Getenv("XDG_RUNTIME_DIR") != "", nil
			case "gitea":
				return giteaCondition()
			case "gitmal":
				return peerCondition(peertest.FindGitmal)
			case "ntfy":
				return peerCondition(peertest.FindNtfy)
			case "git":
				// hookrun needs git, so no script skips for want of it:
				// scriptEnv fails every script when it is missing. The
				// condition stays for scripts that still say [!git] skip.
				return true, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	}
}

// scriptEnv sets up a script's environment: HOME in its work directory, a
// fixed git identity, the global config (with the given content) in place
// of /etc/hookrun, and no systemd manager until systemd-manager. With no
// git it fails the script (never a skip: hookrun cannot work without it).
func scriptEnv(env *testscript.Env, global string) error {
	if _, err := exec.LookPath("git"); err != nil {
		return fmt.Errorf("hookrun runs git, and the scripts push with it: %v (apt-get install -y git)", err)
	}
	env.Setenv("HOME", env.WorkDir)
	env.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	env.Setenv("GIT_AUTHOR_NAME", "Test")
	env.Setenv("GIT_AUTHOR_EMAIL", "test@example.com")
	env.Setenv("GIT_COMMITTER_NAME", "Test")
	env.Setenv("GIT_COMMITTER_EMAIL", "test@example.com")
	path := env.WorkDir + "/.hookrun-global.toml"
	if err := os.WriteFile(path, []byte(global), 0o644); err != nil {
		return err
	}
	env.Setenv("HOOKRUN_CONFIG", path)
	env.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	env.Setenv("XDG_RUNTIME_DIR", env.WorkDir+"/no-runtime-dir")
	peerEnv(env)
	return nil
}

// systemd-manager starts a private systemd user manager for the script and
// points XDG_RUNTIME_DIR at it; it is stopped when the script ends.
// `systemd-manager kill` kills it with SIGKILL (its units' processes live
// on); `systemd-manager` again starts a new one.
// `systemd-manager stop` shuts it down now, as a reboot would: it stops its
// units (running their ExecStopPost) and exits.
func cmdSystemdManager(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 1 && args[0] == "kill" {
		m, ok := managers.Load(ts)
		if !ok {
			ts.Fatalf("systemd-manager kill: no manager started")
		}
		ts.Check(m.(*systemdtest.Manager).Kill())
		return
	}
	if len(args) == 1 && args[0] == "stop" {
		m, ok := managers.Load(ts)
		if !ok {
			ts.Fatalf("systemd-manager stop: no manager started")
		}
		ts.Check(m.(*systemdtest.Manager).Stop())
		return
	}
	// freeze (SIGSTOP) holds the manager where it is: its clients' calls
	// wait unanswered until thaw (SIGCONT).
	if len(args) == 1 && (args[0] == "freeze" || args[0] == "thaw") {
		m, ok := managers.Load(ts)
		if !ok || m.(*systemdtest.Manager).PID == 0 {
			ts.Fatalf("systemd-manager %s: no manager of the script's own", args[0])
		}
		pid := m.(*systemdtest.Manager).PID
		sig := syscall.SIGCONT
		if args[0] == "freeze" {
			sig = syscall.SIGSTOP
			ts.Defer(func() { syscall.Kill(pid, syscall.SIGCONT) }) // never left stopped: Stop waits for it
		}
		ts.Check(syscall.Kill(pid, sig))
		return
	}
	m, err := systemdtest.Launch()
	if err != nil {
		ts.Fatalf("cannot start a systemd user manager: %v", err)
	}
	ts.Defer(func() { m.Stop() })
	managers.Store(ts, m)
	ts.Setenv("XDG_RUNTIME_DIR", m.RuntimeDir)
	ts.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
}

// ntfy-listen starts the imitation ntfy server (internal/ntfytest) and sets
// $NTFY_URL: only for faults a real server cannot show. Scripts that need
// ntfy use the real one: ntfy-serve and ntfy-poll.
func cmdNtfyListen(ts *testscript.TestScript, neg bool, args []string) {
	token := ""
	if len(args) > 0 {
		token = args[0]
	}
	s := ntfytest.NewWithToken(token)
	ts.Defer(s.Close)
	ts.Setenv("NTFY_URL", s.URL)
	ntfyServers.Store(ts, s)
}

// ntfy-wait N [seconds] waits for N notifications, fails on any other
// count, and prints them, one JSON object per line, sorted by title, for
// `stdout` assertions. `! ntfy-wait N seconds` fails when N or more arrive
// within the time.
func cmdNtfyWait(ts *testscript.TestScript, neg bool, args []string) {
	v, ok := ntfyServers.Load(ts)
	if !ok {
		ts.Fatalf("ntfy-wait needs ntfy-listen first")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	timeout := 20 * time.Second
	if len(args) > 1 {
		secs, err := strconv.Atoi(args[1])
		ts.Check(err)
		timeout = time.Duration(secs) * time.Second
	}
	msgs := v.(*ntfytest.Server).WaitFor(n, timeout)
	switch {
	case neg && len(msgs) >= n:
		ts.Fatalf("got %d notifications within %v, want fewer than %d: %+v", len(msgs), timeout, n, msgs)
	case !neg && len(msgs) < n:
		ts.Fatalf("got %d notifications, want %d: %+v", len(msgs), n, msgs)
	case !neg && len(msgs) != n:
		ts.Fatalf("got %d notifications, want exactly %d: %+v", len(msgs), n, msgs)
	}
	sortMessages(msgs)
	for _, m := range msgs {
		b, _ := json.Marshal(struct {
			ntfytest.Message
			Auth string `json:"auth,omitempty"`
		}{m, m.Auth})
		fmt.Fprintf(ts.Stdout(), "%s\n", b)
	}
}

var unitNameRE = regexp.MustCompile(`(git-[^ \s"]*-)\d{8}-\d{6}-[0-9a-f]{8}(\.service)`)

// scrub FILE... rewrites the parts of each FILE that change from run to run
// (unit name times and suffixes, the work directory) so it can be compared
// with cmp.
func cmdScrub(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: scrub FILE...")
	}
	for _, f := range args {
		if f == "stdout" || f == "stderr" {
			ts.Fatalf("scrub takes files, not %s: copy it first (cp %s FILE)", f, f)
		}
	}
	for _, f := range args {
		s := ts.ReadFile(f)
		s = unitNameRE.ReplaceAllString(s, "${1}DATE-TIME-UNIQUE$2")
		s = strings.ReplaceAll(s, ts.Getenv("WORK"), "$WORK")
		ts.Check(os.WriteFile(ts.MkAbs(f), []byte(s), 0o644))
	}
}

// glob PATTERN fails unless PATTERN (filepath.Match syntax) matches a file;
// `! glob PATTERN` fails if it matches any. (testscript's exists does not
// expand patterns: `! exists dir/*.json` always passes.)
func cmdGlob(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: glob PATTERN")
	}
	matches, err := filepath.Glob(ts.MkAbs(args[0]))
	ts.Check(err)
	switch {
	case neg && len(matches) > 0:
		ts.Fatalf("%s matches %q, want nothing", args[0], matches)
	case !neg && len(matches) == 0:
		ts.Fatalf("%s matches nothing", args[0])
	}
}

// exit-status N ARGS... runs hookrun ARGS and checks its exact exit status
// (testscript's `! exec` only tells zero from non-zero).
func cmdExitStatus(ts *testscript.TestScript, neg bool, args []string) {
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	path, err := exec.LookPath("hookrun")
	if p := ts.Getenv("PATH"); p != "" {
		for _, dir := range strings.Split(p, ":") {
			if _, err2 := os.Stat(dir + "/hookrun"); err2 == nil {
				path, err = dir+"/hookrun", nil
				break
			}
		}
	}
	ts.Check(err)
	cmd := exec.Command(path, args[1:]...)
	cmd.Dir = ts.MkAbs(".")
	for _, k := range []string{"PATH", "HOME", "WORK", "HOOKRUN_CONFIG", "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS", "GIT_DIR", "GIT_CONFIG_NOSYSTEM"} {
		cmd.Env = append(cmd.Env, k+"="+ts.Getenv(k))
	}
	cmd.Args[0] = "hookrun"
	err = cmd.Run()
	got := 0
	if ee, ok := err.(*exec.ExitError); ok {
		got = ee.ExitCode()
	} else {
		ts.Check(err)
	}
	if got != want {
		ts.Fatalf("hookrun %s: exit status %d, want %d", strings.Join(args[1:], " "), got, want)
	}
}

// unit-stop HOW REPO JOB stops the live unit of JOB in REPO: HOW is
// "manager" (the manager's StopUnit over D-Bus, what systemctl stop does),
// "signal" (SIGTERM to its hookrun exec, the exec runner's equivalent) or
// "hookrun" (unit.Launcher.Stop, an operator's stop with a reason).
func cmdUnitStop(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: unit-stop manager|signal|hookrun REPO JOB")
	}
	repo := ts.MkAbs(args[1])
	sts, err := unit.Open(repo).List()
	ts.Check(err)
	var st *unit.State
	for _, s := range sts {
		if s.Job == args[2] && s.Live() {
			st = s
		}
	}
	if st == nil {
		ts.Fatalf("no live unit of job %s in %s", args[2], repo)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch args[0] {
	case "manager":
		sd, err := runner.DialSystemd(ctx, "user", ts.Getenv)
		ts.Check(err)
		defer sd.Close()
		ts.Check(sd.StopUnit(ctx, st.Unit))
	case "signal":
		ts.Check(syscall.Kill(st.PID, syscall.SIGTERM))
	case "hookrun":
		l := &unit.Launcher{Getenv: ts.Getenv}
		defer l.Close()
		ts.Check(l.Stop(ctx, repo, st.Unit, "stopped by an operator"))
	default:
		ts.Fatalf("unit-stop: unknown way %q", args[0])
	}
}

// unit-newest REPO JOB prints the newest unit of JOB in queue order
// (unit.QueueOrder: the last push's) as "UNIT PHASE RESULT[: REASON]".
func cmdUnitNewest(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: unit-newest REPO JOB")
	}
	sts, err := unit.Open(ts.MkAbs(args[0])).List()
	ts.Check(err)
	sts = slices.DeleteFunc(sts, func(st *unit.State) bool { return st.Job != args[1] })
	if len(sts) == 0 {
		ts.Fatalf("no unit of job %s in %s", args[1], args[0])
	}
	st := slices.MaxFunc(sts, unit.QueueOrder)
	result := "none"
	if o := st.Outcome; o != nil {
		result = o.Kind.String()
		if o.Reason != "" {
			result += ": " + o.Reason
		}
	}
	fmt.Fprintf(ts.Stdout(), "%s %s %s\n", st.Unit, st.Phase, result)
}

// memhog MB allocates and touches MB megabytes, then sleeps: a job that a
// memory limit must stop.
func memhog() {
	mb, _ := strconv.Atoi(os.Args[1])
	var keep [][]byte
	for i := 0; i < mb; i++ {
		b := make([]byte, 1<<20)
		for j := range b {
			b[j] = byte(j)
		}
		keep = append(keep, b)
	}
	fmt.Printf("allocated %d MB\n", len(keep))
	time.Sleep(time.Minute)
	os.Exit(0)
}
