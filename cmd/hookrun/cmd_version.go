package main

import (
	"fmt"

	"github.com/spf13/pflag"
)

func cmdVersion() *command {
	return &command{
		name:    "version",
		summary: "print hookrun's version",
		exits:   []exitDoc{{"0", "version printed"}, {"2", "usage error"}},
		run: func(a *app, fs *pflag.FlagSet) error {
			if fs.NArg() > 0 {
				return usagef("unexpected argument %q", fs.Arg(0))
			}
			fmt.Fprintf(a.stdout, "hookrun %s\n", version())
			return nil
		},
	}
}
