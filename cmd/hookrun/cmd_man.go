package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/hookrun/hookrun/internal/clidoc"
)

func cmdMan() *command {
	return &command{
		name:    "man",
		summary: "write man pages for hookrun and every command into DIR",
		usage:   "DIR",
		help: `Writes hookrun.1 and hookrun-COMMAND.1 into DIR, generated from the command
table that help and completion use. 'make man' runs it; 'make install'
installs the pages.`,
		hidden: true,
		exits:  []exitDoc{{"0", "pages written"}, {"1", "a page could not be written"}, {"2", "usage error"}},
		run: func(a *app, fs *pflag.FlagSet) error {
			if fs.NArg() != 1 {
				return usagef("name the directory to write the pages into")
			}
			return a.writeManPages(fs.Arg(0))
		},
	}
}

func (a *app) writeManPages(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cmds := a.docs()
	pages := map[string]func(io.Writer){"hookrun.1": func(w io.Writer) { clidoc.ManMain(w, cmds, version()) }}
	for _, c := range cmds {
		pages["hookrun-"+c.Name+".1"] = func(w io.Writer) { clidoc.ManCommand(w, c, version()) }
	}
	for name, write := range pages {
		var b strings.Builder
		write(&b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.stdout, "wrote %d man pages into %s\n", len(pages), dir)
	return nil
}
