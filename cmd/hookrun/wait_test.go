package main

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hookrun/hookrun/internal/waittest"
)

// The wait commands: the one way a script waits for something to happen
// (docs/testing.md). Each polls a condition (waittest.Until) until it holds
// or a deadline passes, and then fails the script, saying what it waited
// for and what it last saw. Registered for every script set (withWaitCmds).
//
//	wait-file PATH [seconds]
//	                    until PATH exists (! wait-file: until it is gone);
//	                    20 s by default
//	wait-match [-count=N | -min=N] GLOB REGEXP [seconds]
//	                    until the files matching GLOB hold a line matching
//	                    REGEXP (-count=N: exactly N such lines; -min=N: N or
//	                    more), and prints the matching lines; 60 s by default
//	wait-exec [-timeout=seconds] [-stdout=REGEXP] PROGRAM ARGS...
//	                    runs PROGRAM (as exec would) until it exits 0 (and,
//	                    with -stdout, its output has a line matching REGEXP);
//	                    its last run's stdout and stderr are left for the
//	                    stdout and stderr commands; 60 s by default
var waitCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"wait-file":  cmdWaitFile,
	"wait-match": cmdWaitMatch,
	"wait-exec":  cmdWaitExec,
}

// withWaitCmds adds the wait commands to a script set's commands.
func withWaitCmds(cmds map[string]func(ts *testscript.TestScript, neg bool, args []string)) map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	maps.Copy(cmds, waitCmds)
	return cmds
}

// waitTimeout parses the optional trailing seconds argument.
func waitTimeout(ts *testscript.TestScript, args []string, i int, def time.Duration) time.Duration {
	if len(args) <= i {
		return def
	}
	secs, err := strconv.Atoi(args[i])
	if err != nil || secs <= 0 {
		ts.Fatalf("timeout %q: want a whole number of seconds", args[i])
	}
	return time.Duration(secs) * time.Second
}

// wait-file PATH [seconds] waits until PATH exists (with !, until it does
// not).
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: wait-file PATH [seconds]")
	}
	timeout := waitTimeout(ts, args, 1, 20*time.Second)
	what := args[0] + " to exist"
	if neg {
		what = args[0] + " to be gone"
	}
	waittest.Until(ts, timeout, what, func() (bool, string) {
		_, err := os.Stat(ts.MkAbs(args[0]))
		switch {
		case err == nil:
			return !neg, "it exists"
		case os.IsNotExist(err):
			return neg, "no such file"
		default:
			return false, err.Error()
		}
	})
}

// wait-match [-count=N | -min=N] GLOB REGEXP [seconds] waits until the
// files matching GLOB (filepath.Match syntax) hold a line matching REGEXP
// (exactly N such lines with -count, N or more with -min), and prints the
// matching lines.
func cmdWaitMatch(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("wait-match", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	count := fs.Int("count", -1, "exactly this many matching lines")
	least := fs.Int("min", 1, "at least this many matching lines")
	if err := fs.Parse(args); err != nil || neg || fs.NArg() < 2 || fs.NArg() > 3 || *count == 0 {
		ts.Fatalf("usage: wait-match [-count=N | -min=N] GLOB REGEXP [seconds] (N > 0; for no line at all, use ! grep)")
	}
	args = fs.Args()
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	timeout := waitTimeout(ts, args, 2, 60*time.Second)
	what := fmt.Sprintf("a line matching %q in %s", args[1], args[0])
	switch {
	case *count > 0:
		what = fmt.Sprintf("exactly %d lines matching %q in %s", *count, args[1], args[0])
	case *least > 1:
		what = fmt.Sprintf("%d or more lines matching %q in %s", *least, args[1], args[0])
	}
	var matched []string
	waittest.Until(ts, timeout, what, func() (bool, string) {
		files, err := filepath.Glob(ts.MkAbs(args[0]))
		ts.Check(err)
		matched = matched[:0]
		var seen strings.Builder
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				fmt.Fprintf(&seen, "\n%v", err)
				continue
			}
			fmt.Fprintf(&seen, "\n%s:\n%s", f, tail(string(b), 4096))
			for line := range strings.Lines(string(b)) {
				if re.MatchString(strings.TrimSuffix(line, "\n")) {
					matched = append(matched, line)
				}
			}
		}
		if len(files) == 0 {
			return false, "no file matches " + args[0]
		}
		ok := len(matched) >= *least
		if *count > 0 {
			ok = len(matched) == *count
		}
		return ok, fmt.Sprintf("%d matching lines in%s", len(matched), seen.String())
	})
	for _, line := range matched {
		if !strings.HasSuffix(line, "\n") {
			line += "\n"
		}
		fmt.Fprint(ts.Stdout(), line)
	}
}

// wait-exec [-timeout=seconds] [-every=DURATION] [-stdout=REGEXP] PROGRAM
// ARGS... runs PROGRAM until it succeeds (and prints a line matching
// REGEXP). -every runs it at that fixed interval rather than backing off,
// for a moment the next command must catch.
func cmdWaitExec(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("wait-exec", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	secs := fs.Int("timeout", 60, "seconds")
	every := fs.Duration("every", 0, "look at this fixed interval")
	pattern := fs.String("stdout", "", "a line of the output must match this")
	if err := fs.Parse(args); err != nil || neg || fs.NArg() < 1 || *secs <= 0 || *every < 0 {
		ts.Fatalf("usage: wait-exec [-timeout=seconds] [-every=DURATION] [-stdout=REGEXP] PROGRAM ARGS...")
	}
	re, err := regexp.Compile("(?m)" + *pattern)
	ts.Check(err)
	args = fs.Args()
	what := fmt.Sprintf("%q to succeed", strings.Join(args, " "))
	if *pattern != "" {
		what = fmt.Sprintf("%q to succeed and print a line matching %q", strings.Join(args, " "), *pattern)
	}
	wait := waittest.Until
	if *every > 0 {
		wait = func(t waittest.Fataler, timeout time.Duration, what string, look func() (bool, string)) {
			waittest.UntilEvery(t, timeout, *every, what, look)
		}
	}
	wait(ts, time.Duration(*secs)*time.Second, what, func() (bool, string) {
		// ts.Exec leaves stdout and stderr for the next commands.
		err := ts.Exec(args[0], args[1:]...)
		if err != nil {
			return false, fmt.Sprintf("%v (its output is in the log above)", err)
		}
		if !re.MatchString(ts.ReadFile("stdout")) {
			return false, "it succeeded, but no line of its stdout matches (its output is in the log above)"
		}
		return true, ""
	})
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "[...]" + s[len(s)-n:]
}
