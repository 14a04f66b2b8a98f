package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/install"
)

// Exit statuses, decided in one place (exitCode).
const (
	exitOK      = 0
	exitFailure = 1 // the command failed, or the config is invalid
	exitUsage   = 2 // bad flags or arguments, unreadable files
)

// errUsage marks errors in how a command was called.
var errUsage = errors.New("usage")

// exitError carries a specific exit status, e.g. a job's own.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// app holds everything a command touches of the outside world, so tests
// can run commands in-process.
type app struct {
	name   string // how we were invoked, for messages
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	now    func() time.Time
	self   string // absolute path of this executable, for ExecStart
}

type command struct {
	name    string
	summary string
	usage   string // arguments after the command name
	help    string // longer text after the flags
	hidden  bool
	flags   func(fs *pflag.FlagSet) // defines flags; may be nil
	run     func(a *app, fs *pflag.FlagSet) error
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// Main runs hookrun with the given arguments and environment and returns
// its exit status. Nothing below it calls os.Exit.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{name: "hookrun", stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, now: time.Now}
	// Symlinked as hooks/post-receive (or a file in post-receive.d/).
	asHook := filepath.Base(args[0]) == "post-receive" || filepath.Base(args[0]) == install.DispatchedName ||
		filepath.Base(filepath.Dir(args[0])) == "post-receive.d"
	a.self = selfPath(args[0], asHook)
	if asHook {
		return a.exit(a.runCommand(commands["post-receive"], args[1:]))
	}
	if len(args) < 2 {
		a.usage(a.stderr)
		return exitUsage
	}
	switch args[1] {
	case "-h", "--help":
		a.usage(a.stdout)
		return exitOK
	case "-v", "--version":
		args[1] = "version"
	}
	c, ok := commands[args[1]]
	if !ok {
		a.errorf("unknown command %q", args[1])
		a.hintf("run 'hookrun help' for the list of commands")
		return exitUsage
	}
	return a.exit(a.runCommand(c, args[2:]))
}

// selfPath is the hookrun binary that units run and hooks link to. It keeps
// the path hookrun was called by (e.g. /usr/local/bin/hookrun, itself maybe a
// symlink to a versioned install), so upgrading that symlink upgrades every
// hook and unit; os.Executable would pin the resolved file.
func selfPath(argv0 string, asHook bool) string {
	p := argv0
	if asHook {
		t, err := os.Readlink(argv0)
		if err != nil {
			return executable()
		}
		if !filepath.IsAbs(t) {
			t = filepath.Join(filepath.Dir(argv0), t)
		}
		p = t
	} else if !strings.Contains(argv0, "/") {
		lp, err := exec.LookPath(argv0)
		if err != nil {
			return executable()
		}
		p = lp
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return executable()
	}
	return abs
}

func executable() string {
	exe, _ := os.Executable()
	return exe
}

func (a *app) runCommand(c *command, args []string) error {
	fs := pflag.NewFlagSet("hookrun "+c.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	if c.flags != nil {
		c.flags(fs)
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, pflag.ErrHelp):
		a.commandHelp(a.stdout, c, fs)
		return nil
	case err != nil:
		err = fmt.Errorf("%w: %v", errUsage, err)
	default:
		err = c.run(a, fs)
	}
	if errors.Is(err, errUsage) {
		a.errorf("%v", strings.TrimPrefix(err.Error(), "usage: "))
		a.hintf("usage: hookrun %s %s (see 'hookrun %s --help')", c.name, c.usage, c.name)
		return &exitError{exitUsage, nil}
	}
	return err
}

// exit turns a command's error into an exit status, printing it once.
func (a *app) exit(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			a.errorf("%v", ee.err)
		}
		return ee.code
	}
	a.errorf("%v", err)
	return exitFailure
}

func (a *app) errorf(format string, args ...any) {
	fmt.Fprintf(a.stderr, "hookrun: error: "+format+"\n", args...)
}

func (a *app) warnf(format string, args ...any) {
	fmt.Fprintf(a.stderr, "hookrun: warning: "+format+"\n", args...)
}

func (a *app) hintf(format string, args ...any) {
	fmt.Fprintf(a.stderr, "hookrun: hint: "+format+"\n", args...)
}

func (a *app) infof(format string, args ...any) {
	fmt.Fprintf(a.stderr, "hookrun: "+format+"\n", args...)
}

const exitStatusHelp = `EXIT STATUS
  0  success (validate: valid, warnings allowed)
  1  failure (validate: invalid config; exec: the job failed with that status)
  2  usage error or unreadable file`

func (a *app) usage(w io.Writer) {
	fmt.Fprintf(w, "hookrun runs jobs in systemd transient units when a git repository receives a push.\n\nUsage:\n  hookrun COMMAND [FLAGS] [ARGS]\n  hooks/post-receive -> hookrun (symlink; see 'hookrun install')\n\nCommands:\n")
	names := make([]string, 0, len(commands))
	for n, c := range commands {
		if !c.hidden {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-13s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nRun 'hookrun help COMMAND' or 'hookrun COMMAND --help' for details.\n\n%s\n", exitStatusHelp)
}

func (a *app) commandHelp(w io.Writer, c *command, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "Usage: hookrun %s %s\n\n%s\n", c.name, c.usage, c.summary)
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.help))
	}
	if fs.HasFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", fs.FlagUsages())
	}
	fmt.Fprintf(w, "  -h, --help   show this help\n\n%s\n", exitStatusHelp)
}

func init() {
	register(&command{
		name:    "help",
		summary: "show help for hookrun or one command",
		usage:   "[COMMAND]",
		run: func(a *app, fs *pflag.FlagSet) error {
			if fs.NArg() == 0 {
				a.usage(a.stdout)
				return nil
			}
			c, ok := commands[fs.Arg(0)]
			if !ok {
				return fmt.Errorf("%w: unknown command %q", errUsage, fs.Arg(0))
			}
			cfs := pflag.NewFlagSet(c.name, pflag.ContinueOnError)
			if c.flags != nil {
				c.flags(cfs)
			}
			a.commandHelp(a.stdout, c, cfs)
			return nil
		},
	})
	register(&command{
		name:    "version",
		summary: "print hookrun's version",
		run: func(a *app, fs *pflag.FlagSet) error {
			fmt.Fprintf(a.stdout, "hookrun %s\n", version())
			return nil
		},
	})
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
