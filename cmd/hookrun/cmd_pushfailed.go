package main

import (
	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/push"
)

func cmdPushFailed() *command {
	return &command{
		name:    push.HandOffCommand,
		summary: "internal: record and notify what a push could not do, handed over by hookrun-hook",
		usage:   "< document",
		help: `hookrun-hook, the small program git runs as post-receive, links no
notification client and no output: when a push's config stops it or a unit
does not start, it runs this command with what failed (a JSON document on
standard input) and waits for it. This command records and notifies it as
'hookrun post-receive' would.`,
		hidden: true,
		exits:  []exitDoc{{"0", "recorded (problems recording or notifying are printed)"}, {"1", "the document could not be read"}},
		run:    runPushFailed,
	}
}

func runPushFailed(a *app, fs *pflag.FlagSet) error {
	return push.Receive(a.stdin, pushFailures{a})
}
