package main

import (
	"github.com/spf13/pflag"
)

func cmdHelp() *command {
	return &command{
		name:    "help",
		summary: "show help for hookrun or one command",
		usage:   "[COMMAND]",
		exits:   []exitDoc{{"0", "help shown"}, {"2", "unknown command"}},
		run: func(a *app, fs *pflag.FlagSet) error {
			if fs.NArg() == 0 {
				a.usage(a.stdout)
				return nil
			}
			if fs.NArg() > 1 {
				return usagef("name one command")
			}
			c := a.command(fs.Arg(0))
			if c == nil {
				return a.unknownCommand(fs.Arg(0))
			}
			a.commandHelp(a.stdout, c, newFlagSet(c))
			return nil
		},
	}
}
