package main

import (
	"github.com/spf13/pflag"
)

func cmdDeliver() *command {
	return &command{
		name:    "deliver",
		summary: "internal: send notifications a push left in its outbox",
		usage:   "LETTER...",
		help: `A push never waits on ntfy: it writes each notification it has to send
(jobs that did not start, a config that started nothing) to
$GIT_DIR/hookrun/outbox/ and starts this command, detached, to send them and
record what became of them where 'hookrun status' shows it. 'hookrun
reconcile' delivers any that were left behind. A letter whose sending was
interrupted is recorded as maybe delivered, never sent twice.`,
		exits: []exitDoc{{"0", "every letter delivered or recorded as not delivered"}, {"1", "a letter could not be read or its delivery recorded"}, {"2", "usage error"}},
		run:   runDeliver,
	}
}

func runDeliver(a *app, fs *pflag.FlagSet) error {
	if fs.NArg() == 0 {
		return usagef("name the letters to deliver")
	}
	failed := false
	for _, path := range fs.Args() {
		if !a.rep().DeliverLetter(path) {
			failed = true
		}
	}
	if failed {
		return errReported
	}
	return nil
}
