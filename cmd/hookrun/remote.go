package main

import "github.com/hookrun/hookrun/internal/remote"

// remoteLogSoFar prints, for a unit that is running on another host, the
// output it has written there so far (remote.LogSoFar); a failure is one
// line on stderr. It reports whether the unit runs on a host.
func (a *app) remoteLogSoFar(repo, name string) bool {
	onHost, err := remote.LogSoFar(repo, name, a.stdout)
	if err != nil {
		a.warnf("%v", err)
	}
	return onHost
}
