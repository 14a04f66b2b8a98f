package main

import (
	"context"
	"errors"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/unit"
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
		err := notify.Deliver(context.Background(), path, a.getenv, a.stderr, func(l notify.Letter, result string) error {
			if result != notify.Delivered {
				a.errorf("notification to topic %s %s", l.Topic, result)
			}
			return unit.RecordLetter(l, result, a.now)
		})
		if err != nil && !errors.Is(err, notify.ErrBusy) {
			a.errorf("%v", err)
			failed = true
		}
	}
	if failed {
		return errReported
	}
	return nil
}
