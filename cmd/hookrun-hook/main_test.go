package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

// TestNoMaxProcsUpdates: the hook lives milliseconds, and the runtime's
// goroutine that keeps GOMAXPROCS up to date with the CPU limit made a
// push matching no rule 5-7% slower (docs/PERFORMANCE.md): the go:debug
// line in main.go turns it off.
func TestNoMaxProcsUpdates(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("no build information")
	}
	for _, s := range bi.Settings {
		if s.Key == "DefaultGODEBUG" && strings.Contains(","+s.Value+",", ",updatemaxprocs=0,") {
			return
		}
	}
	t.Errorf("GOMAXPROCS updates are on (build settings %v); want updatemaxprocs=0, the go:debug line in main.go", bi.Settings)
}
