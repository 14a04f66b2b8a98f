package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/config"
)

func cmdHelp() *command {
	return &command{
		name:    "help",
		summary: "show help for hookrun or one command",
		usage:   "[COMMAND | themes]",
		help:    `'hookrun help themes' lists the themes a gitmal job's theme may name.`,
		exits:   []exitDoc{{"0", "help shown"}, {"2", "unknown command"}},
		run: func(a *app, fs *pflag.FlagSet) error {
			if fs.NArg() == 0 {
				a.usage(a.stdout)
				return nil
			}
			if fs.NArg() > 1 {
				return usagef("name one command")
			}
			if fs.Arg(0) == "themes" && a.command("themes") == nil {
				printThemes(a.stdout)
				return nil
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

// printThemes lists the gitmal themes, light and dark, a few per line.
func printThemes(w io.Writer) {
	fmt.Fprintf(w, "Themes for a gitmal job's theme (default %q):\n", config.DefaultTheme)
	for _, g := range []struct {
		name   string
		themes []string
	}{{"light", config.LightThemes}, {"dark", config.DarkThemes}} {
		fmt.Fprintf(w, "\n%s:\n", g.name)
		for i := 0; i < len(g.themes); i += 6 {
			fmt.Fprintf(w, "  %s\n", strings.Join(g.themes[i:min(i+6, len(g.themes))], " "))
		}
	}
}
