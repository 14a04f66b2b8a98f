// Package hookbin is hookrun-hook, the program git runs as a repository's
// post-receive hook when it sits beside hookrun ('hookrun install' writes
// hooks naming it then). It does what `hookrun post-receive` does
// (internal/push) and links only what that needs, so that every push pays
// for a small program's start rather than hookrun's (docs/PERFORMANCE.md).
// What failed it hands to the hookrun beside it (push.HandOff), and every
// other use of it is hookrun's: it execs that hookrun.
package hookbin

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/hookinput"
	"github.com/hookrun/hookrun/internal/install"
	"github.com/hookrun/hookrun/internal/push"
)

// Main runs hookrun-hook with the given arguments and environment and
// returns its exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	var path string // the hook script git ran ("" when run by name)
	var rest []string
	mine := false
	switch {
	case install.HookName(args[0]) == "post-receive": // symlinked as the hook
		path, rest, mine = args[0], args[1:], true
	case len(args) > 1 && strings.Contains(args[1], "/") && install.HookName(args[1]) == "post-receive":
		// the "#!" interpreter of a script install.Script wrote
		path, rest, mine = args[1], args[2:], true
	case len(args) > 1 && args[1] == "post-receive":
		// `exec "$hookrun" post-receive`: the shell script install
		// writes where the path cannot be a "#!" line, or a person
		rest, mine = args[2:], true
	}
	hookrun := install.HookrunBeside(install.SelfPath(args[0], path != "" && path == args[0]))
	opts, ok := parseFlags(rest)
	if !mine || !ok {
		return execHookrun(hookrun, args, stderr)
	}
	return install.RunHook("post-receive", path, rest, stdin, stdout, stderr, func(in io.Reader) int {
		if !install.IsExecutable(hookrun) {
			// Its units would run it, and nothing would record how they end.
			fmt.Fprintf(stderr, "hookrun: error: hookrun-hook runs the hookrun beside it, %s, which is missing or not executable: no job was started\n", hookrun)
			fmt.Fprintf(stderr, "hookrun: hint: install hookrun and hookrun-hook in one directory, then run 'hookrun install' again\n")
			return 1
		}
		err := push.Run(push.Options{Stdin: in, Log: stderr, Getenv: getenv, Now: time.Now, Self: hookrun,
			Source: func(repoPath string) config.Source {
				return config.Locate(config.Options{GlobalFlag: opts.global, Insecure: opts.insecure, RepoPath: repoPath, Getenv: getenv})
			},
			Failures: push.HandOff{Self: hookrun, Log: stderr}})
		switch {
		case err == nil:
			return 0
		case !errors.Is(err, hookinput.ErrReported):
			fmt.Fprintf(stderr, "hookrun: error: %v\n", err)
		}
		return 1
	})
}

// flags are `hookrun post-receive`'s.
type flags struct {
	global   string // --config
	insecure bool   // --insecure-config
}

// parseFlags parses args as `hookrun post-receive` would, reporting false
// for anything else (help, a mistake), which hookrun says better.
func parseFlags(args []string) (flags, bool) {
	var f flags
	if len(args) == 0 {
		return f, true
	}
	fs := flag.NewFlagSet("post-receive", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.global, "config", "", "")
	fs.BoolVar(&f.insecure, "insecure-config", false, "")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return f, false
	}
	return f, true
}

// execHookrun replaces this process with hookrun, given args as hookrun
// would have had them: a hook symlinked to hookrun-hook becomes the "#!"
// form hookrun knows (its path as the first argument).
func execHookrun(hookrun string, args []string, stderr io.Writer) int {
	argv := append([]string{hookrun}, args[1:]...)
	if install.HookName(args[0]) != "" {
		argv = append([]string{hookrun}, args...)
	}
	err := syscall.Exec(hookrun, argv, os.Environ())
	fmt.Fprintf(stderr, "hookrun: error: hookrun-hook runs the hookrun beside it, %s: %v\n", hookrun, err)
	fmt.Fprintf(stderr, "hookrun: hint: install hookrun and hookrun-hook in one directory, then run 'hookrun install' again\n")
	return 1
}
