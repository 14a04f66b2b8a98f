package main

import (
	"fmt"
	"runtime/debug"

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

// Version is set with -ldflags "-X main.Version=..."; else build info is used.
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v + " " + bi.GoVersion
}
