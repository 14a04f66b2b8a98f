// Command hookrun runs jobs in systemd transient units when a bare git
// repository receives a push. See `hookrun help`.
package main

import "os"

func main() {
	os.Exit(Main(os.Args, os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
