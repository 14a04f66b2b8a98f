package main

import (
	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/config"
	"github.com/hookrun/hookrun/internal/match"
	"github.com/hookrun/hookrun/internal/report"
)

// pushStartedNothing records and notifies a push that the config stopped
// (report.Reporter.PushStartedNothing). in may be nil (malformed input:
// nothing is known about the push).
func (a *app) pushStartedNothing(fs *pflag.FlagSet, in *hookInput) {
	repoPath := repoDir(a, "")
	var ups []match.RefUpdate
	if in != nil {
		repoPath, ups = in.repoPath, in.updates
	}
	cfgFlag, _ := fs.GetString("config")
	globalPath, explicit := config.GlobalPath(cfgFlag, a.getenv)
	a.rep().PushStartedNothing(repoPath, ups, globalPath, explicit)
}

// flushLetters hands the letters the push posted to `hookrun deliver`.
func (a *app) flushLetters() { a.rep().Flush() }

// dedupe is s without repeats, in order.
var dedupe = report.Dedupe
