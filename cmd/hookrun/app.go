package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/install"
	"github.com/hookrun/hookrun/internal/suggest"
)

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
	// inLog names the unit whose log file stderr already reaches (exec and
	// notify inside a unit), so its lines are not written there twice.
	inLog string
	// commands is the command table (commandTable).
	commands []*command
}

// command is one row of the command table: what help, the man pages and
// completion show, the flags it takes and what it runs.
type command struct {
	name    string
	summary string
	usage   string // arguments after the command name
	help    string // longer text after the flags
	hidden  bool
	exits   []exitDoc               // its exit statuses, for help and the man page
	flags   func(fs *pflag.FlagSet) // defines flags; may be nil
	run     func(a *app, fs *pflag.FlagSet) error
}

// exitDoc documents one exit status of a command.
type exitDoc struct {
	code    string // "0", "1", or e.g. "N" for a job's own status
	meaning string
}

// commandTable is every command, in the order help lists them. Adding a
// command is one line here and a cmdNAME constructor in its cmd_NAME.go.
func commandTable() []*command {
	return []*command{
		cmdPostReceive(),
		cmdPreReceive(),
		cmdPlan(),
		cmdCheck(),
		cmdValidate(),
		cmdInstall(),
		cmdUninstall(),
		cmdStatus(),
		cmdLogs(),
		cmdRun(),
		cmdRerun(),
		cmdSSHGate(),
		cmdExec(),
		cmdCheckExec(),
		cmdNotify(),
		cmdDeliver(),
		cmdPushFailed(),
		cmdReconcile(),
		cmdInit(),
		cmdConfig(),
		cmdCompletion(),
		cmdMan(),
		cmdHelp(),
		cmdVersion(),
	}
}

// command returns the command called name, or nil.
func (a *app) command(name string) *command {
	for _, c := range a.commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// visibleCommands are the commands help, completion, man pages and the
// README list: all but the hidden ones.
func (a *app) visibleCommands() []*command {
	var out []*command
	for _, c := range a.commands {
		if !c.hidden {
			out = append(out, c)
		}
	}
	return out
}

func commandNames(cmds []*command) []string {
	var out []string
	for _, c := range cmds {
		out = append(out, c.name)
	}
	return out
}

// unknownCommand is the usage error for a command name not in the table.
func (a *app) unknownCommand(name string) error {
	if m := suggest.Nearest(name, commandNames(a.visibleCommands())); m != "" {
		return &usageError{msg: fmt.Sprintf("unknown command %q (did you mean %q?)", name, m), hint: "run 'hookrun help' for the list of commands"}
	}
	return &usageError{msg: fmt.Sprintf("unknown command %q", name), hint: "run 'hookrun help' for the list of commands"}
}

// Main runs hookrun with the given arguments and environment and returns
// its exit status. Nothing below it calls os.Exit.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{name: "hookrun", stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, now: time.Now, commands: commandTable()}
	// Symlinked as hooks/post-receive or hooks/pre-receive (or a file in
	// post-receive.d/ or pre-receive.d/).
	hook := install.HookName(args[0])
	a.self = install.SelfPath(args[0], hook != "")
	if hook == "" && len(args) > 1 && strings.Contains(args[1], "/") {
		// Run by the kernel as the "#!" interpreter of a hook that
		// install.Script wrote: the argument is the hook's path (no
		// command's name holds a "/").
		if hook = install.HookName(args[1]); hook != "" {
			args = args[1:]
		}
	}
	if hook != "" {
		return a.runHook(hook, args[0], args[1:])
	}
	if len(args) < 2 {
		a.usage(a.stderr)
		return a.exit(nil, &usageError{})
	}
	switch args[1] {
	case "-h", "--help":
		a.usage(a.stdout)
		return exitOK
	case "-v", "--version":
		args[1] = "version"
	}
	c := a.command(args[1])
	if c == nil {
		return a.exit(nil, a.unknownCommand(args[1]))
	}
	return a.exit(c, a.runCommand(c, args[2:]))
}

// runHook runs hookrun as the git hook at path, then the hooks chained
// after it in path.d/ (install.ChainDir) with the same input: all of them
// for post-receive; for pre-receive only when hookrun accepted, and the
// first refusal refuses the push.
func (a *app) runHook(hook, path string, args []string) int {
	c := a.command(hook)
	return install.RunHook(hook, path, args, a.stdin, a.stdout, a.stderr, func(in io.Reader) int {
		a.stdin = in
		return a.exit(c, a.runCommand(c, args))
	})
}

// runCommand parses args with c's flags and runs c; -h and --help show its
// help instead.
func (a *app) runCommand(c *command, args []string) error {
	fs := newFlagSet(c)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, pflag.ErrHelp):
		a.commandHelp(a.stdout, c, fs)
		return nil
	case err != nil:
		return usagef("%v", err)
	}
	return c.run(a, fs)
}

func newFlagSet(c *command) *pflag.FlagSet {
	fs := pflag.NewFlagSet("hookrun "+c.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	if c.flags != nil {
		c.flags(fs)
	}
	return fs
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

func (a *app) usage(w io.Writer) {
	fmt.Fprintf(w, "hookrun runs jobs in systemd transient units when a git repository receives a push.\n\nUsage:\n  hookrun COMMAND [FLAGS] [ARGS]\n  hooks/post-receive, hooks/pre-receive: scripts running hookrun (see 'hookrun install')\n\nCommands:\n")
	for _, c := range a.commands {
		if !c.hidden {
			fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
		}
	}
	fmt.Fprintf(w, "\nRun 'hookrun help COMMAND' or 'hookrun COMMAND --help' for details.\n\n")
	fmt.Fprintf(w, "EXIT STATUS\n  0  success\n  1  failure\n  2  usage error or unreadable file\n  Each command's help lists its own.\n")
}

func (a *app) commandHelp(w io.Writer, c *command, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "Usage: hookrun %s %s\n\n%s\n", c.name, c.usage, c.summary)
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.help))
	}
	if fs.HasFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", fs.FlagUsages())
	}
	fmt.Fprintf(w, "  -h, --help   show this help\n\nEXIT STATUS\n")
	for _, e := range c.exits {
		fmt.Fprintf(w, "  %-2s %s\n", e.code, e.meaning)
	}
}
