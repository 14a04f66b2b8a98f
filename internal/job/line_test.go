package job

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

var lineCases = [][]string{
	{"/etc/git-hooks/deploy.sh", "$(touch${IFS}/tmp/x)"},
	{"a`id`b", `"double"`, "it's", "line\nbreak", "tab\there", "", "*", "~user", "#c", "a b", "\\"},
	{"FOO=bar", "x=y"},
	{"caf\xe9", "\x1b[31mred"},
}

// TestLine: a line plan prints, pasted into sh, passes exactly the argv it
// shows; plain words stay plain.
func TestLine(t *testing.T) {
	for _, argv := range lineCases {
		line := Line(argv)
		if got := shWords(t, line); !slices.Equal(got, argv) {
			t.Errorf("Line(%q) = %s; sh read it as %q", argv, line, got)
		}
	}
	if got := Line([]string{"FOO=bar", "x"}); !strings.HasPrefix(got, "'FOO=bar' ") {
		t.Errorf("a first word with = is an assignment when bare: %s", got)
	}
	if got := Line([]string{"make", "-C", "/srv/a_b", "x=1"}); got != "make -C /srv/a_b x=1" {
		t.Errorf("plain words quoted: %s", got)
	}
}

// FuzzLine: for any words, sh reads plan's command line back as the same
// words.
func FuzzLine(f *testing.F) {
	for _, argv := range lineCases {
		f.Add(strings.Join(argv, "\x00"))
	}
	f.Fuzz(func(t *testing.T, joined string) {
		argv := strings.Split(joined, "\x00")
		if len(argv) > 16 {
			t.Skip()
		}
		line := Line(argv)
		if got := shWords(t, line); !slices.Equal(got, argv) {
			t.Fatalf("Line(%q) = %s; sh read it as %q", argv, line, got)
		}
		if bytes.ContainsAny([]byte(line), "\x00") {
			t.Fatal("NUL in a command line")
		}
	})
}
