package main

// Helpers that more than one command uses. A command file never calls into
// another command's file: what two commands share lives here.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/clidoc"
	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/gitx"
	"github.com/hookrun/hookrun/internal/hookinput"
	"github.com/hookrun/hookrun/internal/job"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/plan"
	"github.com/hookrun/hookrun/internal/push"
	"github.com/hookrun/hookrun/internal/pushcert"
	"github.com/hookrun/hookrun/internal/repoindex"
	"github.com/hookrun/hookrun/internal/report"
	"github.com/hookrun/hookrun/internal/unit"
)

// checkConfigSafety is hookinput.CheckSafety, told on stderr.
func (a *app) checkConfigSafety(src config.Source, consequence string, quiet func() bool) error {
	return reportedAs(hookinput.CheckSafety(src, a.stderr, consequence, quiet))
}

// reportedAs is err with errReported in its chain where hookinput told
// its problem already.
func reportedAs(err error) error {
	if errors.Is(err, hookinput.ErrReported) {
		return fmt.Errorf("%w: %w", errReported, err)
	}
	return err
}

// repoDir is the repository a command means (gitx.Locate).
func repoDir(a *app, flag string) string {
	cwd, _ := os.Getwd()
	return gitx.Locate(flag, cwd, a.getenv)
}

// notARepository is the error of a command that needs a repository when
// flag (its --repo or REPO, maybe "") names none, saying what to do.
func notARepository(a *app, repo, flag string) error {
	if flag == "" && a.getenv("GIT_DIR") == "" {
		a.errorf("%s is not in a git repository (nor is any parent directory)", repo)
		a.hintf("run this inside the repository pushes go to, or name it with --repo, e.g. --repo /srv/git/site.git")
		return errReported
	}
	a.errorf("%s is not a git repository", repo)
	a.hintf("name the repository pushes go to, e.g. /srv/git/site.git")
	return errReported
}

// workCloneError is gitx.WorkCloneError.
var workCloneError = gitx.WorkCloneError

// pushCert is pushcert.OfPush for this command's environment.
func pushCert(a *app, repoPath string, need bool, env []string, ups []match.RefUpdate) match.PushCert {
	return pushcert.OfPush(repoPath, need, env, ups, a.getenv, a.now())
}

// quoteArg is s as one POSIX shell word (job.Arg).
func quoteArg(s string) string { return job.Arg(s) }

// logsCommand is how a person on the server reads the unit's output.
func logsCommand(u *plan.Unit) string { return unit.LogsCommand(u) }

// rep is the reporter of ended units (internal/report) writing where the
// command's standard error goes now.
func (a *app) rep() *report.Reporter {
	return &report.Reporter{Log: a.stderr, Getenv: a.getenv, Now: a.now, Self: a.self, InLog: a.inLog}
}

// pushReporter is rep for a push, which never waits on a notification: it
// holds the letters it posts for its Flush to hand to `hookrun deliver`.
func (a *app) pushReporter() *report.Reporter {
	r := a.rep()
	r.InPush, r.Hook, r.Held = true, true, new([]string)
	return r
}

// teeLog copies what the command prints from now on to u's log file as
// well (unit.Tee: the journal's end may go away with a killed manager, the
// log file keeps everything all the same). The caller closes it; nil when
// it cannot be opened (warned).
func (a *app) teeLog(u *plan.Unit) io.Closer {
	lf, stdout, stderr, err := unit.Tee(u.RepoPath, u.Name, u.Limits.LogMax, a.stdout, a.stderr)
	if err != nil {
		a.warnf("no log file: %v", err)
		return nil
	}
	a.stdout, a.stderr = stdout, stderr
	a.inLog = u.Name
	return logCloser{a, lf}
}

// logCloser closes a unit's log, saying first (to the journal, and to the
// log should it take it by then) when the log missed output.
type logCloser struct {
	a  *app
	lf *unit.Log
}

func (c logCloser) Close() error {
	if err := c.lf.Err(); err != nil {
		c.a.warnf("the log file %s misses part of the output: %v", c.lf.Name(), err)
	}
	return c.lf.Close()
}

// peeler gives resolve the commit an annotated tag of the repository points to.
func peeler(repoPath string) func(string) (string, error) {
	return func(obj string) (string, error) { return gitx.RevParse(repoPath, obj) }
}

// plural is "1 error", "2 errors".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// readHookInput is hookinput.Read of this hook's standard input and
// config (cf's), told on stderr.
func readHookInput(a *app, cf *configFlags, hook, consequence string, ignore func(config.Source) bool) (*hookinput.Input, error) {
	cwd, _ := os.Getwd()
	repoPath := gitx.RepoPath(a.getenv, cwd)
	in, err := hookinput.Read(hookinput.Options{RepoPath: repoPath, Stdin: a.stdin, Log: a.stderr,
		Source: cf.source(a, repoPath), Hook: hook, Consequence: consequence, Ignore: ignore})
	return in, reportedAs(err)
}

// doc is c as the reference (man pages, completion) shows it.
func doc(c *command) clidoc.Command {
	d := clidoc.Command{Name: c.name, Summary: c.summary, Usage: c.usage, Help: c.help}
	newFlagSet(c).VisitAll(func(f *pflag.Flag) {
		arg, usage := pflag.UnquoteUsage(f)
		d.Flags = append(d.Flags, clidoc.Flag{Name: f.Name, Short: f.Shorthand, Arg: arg, Usage: usage, Bool: f.Value.Type() == "bool"})
	})
	for _, e := range c.exits {
		d.Exits = append(d.Exits, clidoc.Exit{Code: e.code, Meaning: e.meaning})
	}
	return d
}

// docs are the visible commands, as the reference shows them.
func (a *app) docs() []clidoc.Command {
	var out []clidoc.Command
	for _, c := range a.visibleCommands() {
		out = append(out, doc(c))
	}
	return out
}

// Version is set with -ldflags "-X main.Version=..."; else build info is used.
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v + " " + bi.GoVersion
}

// checkRepository is the usage error for a --repo that is not a directory.
// (A directory holding only hooks.toml will do: plan with ref lines on
// standard input needs no git.)
func checkRepository(dir string) error {
	const hint = "--repo names a git repository, e.g. /srv/git/site.git"
	st, err := os.Stat(dir)
	if err != nil {
		return &usageError{msg: unreadable(err).Error(), hint: hint}
	}
	if !st.IsDir() {
		return &usageError{msg: fmt.Sprintf("%s is not a directory", dir), hint: hint}
	}
	return nil
}

// loadNamedConfig loads src (its repository file REPO/hooks.toml, or one
// named with --file, which must exist), printing every diagnostic, and
// returns the repository file's path. The config is nil when it is invalid.
func loadNamedConfig(a *app, src config.Source) (*config.Config, string, error) {
	file := src.Repo
	c, diags, err := src.Load()
	if err != nil {
		return nil, file, unreadable(err)
	}
	for _, d := range diags {
		fmt.Fprintln(a.stderr, d.String())
	}
	return c, file, nil
}

// indexRepo adds repoPath to the server-wide index that status and logs
// search when no repository is named.
func (a *app) indexRepo(repoPath string) { push.Index(repoPath, a.getenv, a.stderr) }

// launcher starts units the way a push does (push.NewLauncher).
func (a *app) launcher() *unit.Launcher { return push.NewLauncher(a.self, a.getenv, a.stderr, a.now) }

// startByHand starts one unit as a push would and prints its name.
func (a *app) startByHand(u *plan.Unit) error {
	a.indexRepo(u.RepoPath)
	l := a.launcher()
	defer l.Close()
	if err := l.Launch(context.Background(), []*plan.Unit{u})[0]; err != nil {
		return fmt.Errorf("job %s (%s): not started: %v", u.Job, notify.DisplayRef(u.Refs[0].Ref), err)
	}
	fmt.Fprintln(a.stdout, u.Name)
	where := ""
	if u.Host != nil {
		where = " on host " + u.Host.Name
	}
	a.infof("started %s: %s for %s%s; logs: %s", u.Name, u.Job, u.Refs[0].Ref, where, logsCommand(u))
	return nil
}

// findUnit is the repository that knows the unit name: flag's, else the current
// one, else the first of the server-wide index that has it.
func (a *app) findUnit(flag, name string) (string, error) {
	if flag != "" {
		repo := repoDir(a, flag)
		if !unit.Known(repo, name) {
			return "", fmt.Errorf("%s has no unit %s: see 'hookrun status %s'", repo, name, quoteArg(repo))
		}
		return repo, nil
	}
	here := repoDir(a, "")
	if unit.Known(here, name) {
		return here, nil
	}
	repos, err := repoindex.List(repoindex.Path(a.getenv))
	if err != nil {
		return "", fmt.Errorf("cannot read the index of repositories: %v", err)
	}
	for _, r := range repos {
		if unit.Known(r, name) {
			return r, nil
		}
	}
	return "", fmt.Errorf("no repository hookrun knows has a unit %s (searched %s and the %d of the index): see 'hookrun status', or pass --repo", name, here, len(repos))
}
