package clidoc

import (
	"bytes"
	"strings"
	"testing"
)

var cmds = []Command{
	{Name: "status", Summary: "show units [recent]", Usage: "[REPO]", Help: "Shows units.\n\n  hookrun status\n\n.leading dot",
		Flags: []Flag{{Name: "json", Usage: "print JSON", Bool: true}, {Name: "last", Short: "n", Arg: "n", Usage: "show n: at most"}},
		Exits: []Exit{{"0", "shown"}, {"1", "a manager could not be reached"}}},
	{Name: "help", Summary: "show help", Usage: "[COMMAND]"},
}

func TestManCommand(t *testing.T) {
	var b bytes.Buffer
	ManCommand(&b, cmds[0], "v1.2-3")
	page := b.String()
	for _, want := range []string{
		".TH HOOKRUN-STATUS 1 \"\" \"hookrun v1.2\\-3\"",
		".SH SYNOPSIS\n.B hookrun status\n[REPO]",
		".PP\n.nf\n  hookrun status\n.fi", // an indented paragraph stays as it is
		".PP\n\\&.leading dot",            // roff would read a leading dot as a request
		"\\fB\\-n\\fR, \\fB\\-\\-last\\fR \\fIn\\fR",
		".TP\n.B 1\na manager could not be reached",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
}

func TestCompletions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer)
		want  []string
	}{
		{"bash", func(b *bytes.Buffer) { Bash(b, cmds) }, []string{`status) opts="--help --json --last"`, `compgen -W "status help"`}},
		{"zsh", func(b *bytes.Buffer) { Zsh(b, cmds) }, []string{`'status:show units \[recent\]'`, `{-n,--last}'[show n\: at most]:n:_files'`, `'1:command:((status help))'`}},
		{"fish", func(b *bytes.Buffer) { Fish(b, cmds) }, []string{"-l last -s n -r -F", "-l json -d 'print JSON'", "-a 'status help'"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			tc.write(&b)
			for _, want := range tc.want {
				if !strings.Contains(b.String(), want) {
					t.Errorf("%s completion lacks %q:\n%s", tc.name, want, b.String())
				}
			}
		})
	}
}
