// Command hookrun-hook is the program git runs as a repository's
// post-receive hook when it sits beside hookrun: a small program, quick to
// start on every push (internal/hookbin). It lives for milliseconds, so
// the runtime's goroutine that keeps GOMAXPROCS in step with a changing
// CPU limit is off: it made a push matching no rule 5-7% slower
// (docs/PERFORMANCE.md).
//
//go:debug updatemaxprocs=0
package main

import (
	"os"

	"github.com/hookrun/hookrun/internal/hookbin"
)

func main() {
	os.Exit(hookbin.Main(os.Args, os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
