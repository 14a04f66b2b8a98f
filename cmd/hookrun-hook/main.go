// Command hookrun-hook is the program git runs as a repository's
// post-receive hook when it sits beside hookrun: a small program, quick to
// start on every push (internal/hookbin).
package main

import (
	"os"

	"github.com/hookrun/hookrun/internal/hookbin"
)

func main() {
	os.Exit(hookbin.Main(os.Args, os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
