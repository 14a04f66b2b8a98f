package main

import (
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// shWords is the words sh passes when line is pasted after printf: any
// expansion or extra command would change, add or lose words.
func shWords(t *testing.T, line string) []string {
	t.Helper()
	out, err := exec.Command("/bin/sh", "-c", "printf '%s\\0' "+line).Output()
	if err != nil {
		t.Fatalf("sh -c %q: %v", line, err)
	}
	words := strings.Split(string(out), "\x00")
	return words[:len(words)-1]
}

var planQuoteCases = [][]string{
	{"/etc/git-hooks/deploy.sh", "$(touch${IFS}/tmp/x)"},
	{"a`id`b", `"double"`, "it's", "line\nbreak", "tab\there", "", "*", "~user", "#c", "a b", "\\"},
	{"FOO=bar", "x=y"},
	{"caf\xe9", "\x1b[31mred"},
}

// TestPlanQuoteArgs: a line plan prints, pasted into sh, passes exactly
// the argv it shows.
func TestPlanQuoteArgs(t *testing.T) {
	for _, argv := range planQuoteCases {
		line := quoteArgs(argv)
		if got := shWords(t, line); !slices.Equal(got, argv) {
			t.Errorf("quoteArgs(%q) = %s; sh read it as %q", argv, line, got)
		}
	}
	if got := quoteArgs([]string{"FOO=bar", "x"}); !strings.HasPrefix(got, "'FOO=bar' ") {
		t.Errorf("a first word with = is an assignment when bare: %s", got)
	}
}

// FuzzPlanQuoteArgs: for any words, sh reads plan's command line back as
// the same words.
func FuzzPlanQuoteArgs(f *testing.F) {
	for _, argv := range planQuoteCases {
		f.Add(strings.Join(argv, "\x00"))
	}
	f.Fuzz(func(t *testing.T, joined string) {
		argv := strings.Split(joined, "\x00")
		if len(argv) > 16 {
			t.Skip()
		}
		line := quoteArgs(argv)
		if got := shWords(t, line); !slices.Equal(got, argv) {
			t.Fatalf("quoteArgs(%q) = %s; sh read it as %q", argv, line, got)
		}
		if bytes.ContainsAny([]byte(line), "\x00") {
			t.Fatal("NUL in a command line")
		}
	})
}
