package main

import (
	"github.com/hookrun/hookrun/internal/hookinput"
	"github.com/hookrun/hookrun/internal/match"
)

// pushStartedNothing records and notifies a push that the config stopped
// (report.Reporter.PushStartedNothing). in may be nil (malformed input:
// nothing is known about the push).
func (a *app) pushStartedNothing(cf *configFlags, in *hookinput.Input) {
	repoPath := repoDir(a, "")
	var ups []match.RefUpdate
	if in != nil {
		repoPath, ups = in.RepoPath, in.Updates
	}
	a.rep().PushStartedNothing(repoPath, ups, cf.source(a, repoPath))
}

// flushLetters hands the letters the push posted to `hookrun deliver`.
func (a *app) flushLetters() { a.rep().Flush() }
