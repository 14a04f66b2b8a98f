package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
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
	cmds := a.visibleCommands()
	pages := map[string]func(io.Writer){"hookrun.1": func(w io.Writer) { manMain(w, cmds) }}
	for _, c := range cmds {
		pages["hookrun-"+c.name+".1"] = func(w io.Writer) { manCommand(w, c) }
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

// roff escapes text for a man page: backslashes, and leading dots or quotes
// that roff would read as requests.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, ".") || strings.HasPrefix(line, "'") {
			line = `\&` + line
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func manHeader(w io.Writer, name, summary string) {
	fmt.Fprintf(w, ".TH %s 1 \"\" \"hookrun %s\" \"hookrun manual\"\n.SH NAME\n%s \\- %s\n", strings.ToUpper(name), roff(version()), roff(name), roff(summary))
}

func manMain(w io.Writer, cmds []*command) {
	manHeader(w, "hookrun", "run jobs in systemd transient units when a git repository receives a push")
	fmt.Fprintf(w, ".SH SYNOPSIS\n.B hookrun\n\\fICOMMAND\\fR [\\fIFLAGS\\fR] [\\fIARGS\\fR]\n.SH COMMANDS\n")
	for _, c := range cmds {
		fmt.Fprintf(w, ".TP\n.B %s\n%s (see \\fBhookrun\\-%s\\fR(1))\n", roff(c.name), roff(c.summary), roff(c.name))
	}
	fmt.Fprintf(w, ".SH EXIT STATUS\n0 success, 1 failure, 2 usage error or unreadable file; each command's page lists its own.\n.SH SEE ALSO\n")
	var refs []string
	for _, c := range cmds {
		refs = append(refs, fmt.Sprintf("\\fBhookrun\\-%s\\fR(1)", roff(c.name)))
	}
	fmt.Fprintln(w, strings.Join(refs, ", "))
}

func manCommand(w io.Writer, c *command) {
	manHeader(w, "hookrun-"+c.name, c.summary)
	fmt.Fprintf(w, ".SH SYNOPSIS\n.B hookrun %s\n%s\n", roff(c.name), roff(c.usage))
	if c.help != "" {
		fmt.Fprintf(w, ".SH DESCRIPTION\n")
		for _, para := range strings.Split(strings.TrimSpace(c.help), "\n\n") {
			if strings.HasPrefix(para, "  ") {
				fmt.Fprintf(w, ".PP\n.nf\n%s\n.fi\n", roff(para))
			} else {
				fmt.Fprintf(w, ".PP\n%s\n", roff(para))
			}
		}
	}
	fmt.Fprintf(w, ".SH OPTIONS\n")
	for _, f := range flagDocs(c) {
		head := `\fB\-\-` + roff(f.name) + `\fR`
		if f.short != "" {
			head = `\fB\-` + roff(f.short) + `\fR, ` + head
		}
		if f.arg != "" {
			head += ` \fI` + roff(f.arg) + `\fR`
		}
		fmt.Fprintf(w, ".TP\n%s\n%s\n", head, roff(f.usage))
	}
	fmt.Fprintf(w, ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nshow help\n.SH EXIT STATUS\n")
	for _, e := range c.exits {
		fmt.Fprintf(w, ".TP\n.B %s\n%s\n", roff(e.code), roff(e.meaning))
	}
	fmt.Fprintf(w, ".SH SEE ALSO\n\\fBhookrun\\fR(1)\n")
}
