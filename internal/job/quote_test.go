package job

import (
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

var quoteCases = []struct{ in, want string }{
	{"", "''"},
	{"plain", "'plain'"},
	{"it's", `'it'\''s'`},
	{"'", `''\'''`},
	{"''", `''\'''\'''`},
	{"$(touch /tmp/x)", "'$(touch /tmp/x)'"},
	{"`id`", "'`id`'"},
	{`a"b`, `'a"b'`},
	{"a;b&&c||d|e", "'a;b&&c||d|e'"},
	{"~/x", "'~/x'"},
	{"*.go", "'*.go'"},
	{"FOO=bar", "'FOO=bar'"},
	{"back\\slash", `'back\slash'`},
	{"new\nline", "'new\nline'"},
	{"-rf", "'-rf'"},
	{"!event", "'!event'"},
	{"naïve ☃", "'naïve ☃'"},
}

func TestQuote(t *testing.T) {
	for _, tc := range quoteCases {
		if got := Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// shells are the POSIX shells on this machine that the quoting is checked
// against.
func shells(t testing.TB) []string {
	var found []string
	for _, sh := range []string{"sh", "dash", "bash", "zsh", "busybox"} {
		if p, err := exec.LookPath(sh); err == nil {
			if sh == "busybox" {
				p += " sh"
			}
			found = append(found, p)
		}
	}
	if len(found) == 0 {
		t.Skip("no POSIX shell found")
	}
	return found
}

// shellWords runs line in shell and returns the words it hands to printf.
func shellWords(t testing.TB, shell, line string) []string {
	args := append(strings.Fields(shell), "-c", "printf '%s\\0' "+line)
	cmd := exec.Command(args[0], args[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s -c %q: %v\n%s", shell, line, err, stderr.String())
	}
	words := strings.Split(string(out), "\x00")
	return words[:len(words)-1]
}

// TestQuoteRoundTrip proves that real shells turn QuoteArgs(args) back
// into exactly args.
func TestQuoteRoundTrip(t *testing.T) {
	var args []string
	for _, tc := range quoteCases {
		args = append(args, tc.in)
	}
	args = append(args, hostile("/tmp/hookrun-quote-pwned")...)
	for _, sh := range shells(t) {
		if got := shellWords(t, sh, QuoteArgs(args)); !slices.Equal(got, args) {
			t.Errorf("%s turned QuoteArgs into\n%q\nwant\n%q", sh, got, args)
		}
	}
}

// FuzzQuote checks that, for any string, a shell reads Quote(s) as the one
// word s.
func FuzzQuote(f *testing.F) {
	for _, tc := range quoteCases {
		f.Add(tc.in)
	}
	f.Add("'\"'\"'")
	f.Add("\\'")
	f.Add("$'\\x41'")
	f.Add("'$(id)'`id`")
	f.Add("\xff\xfe")
	shs := shells(f)
	f.Fuzz(func(t *testing.T, s string) {
		if strings.IndexByte(s, 0) >= 0 {
			t.Skip("NUL cannot be in a shell word")
		}
		q := Quote(s)
		// Structural: what is between the outer quotes, split on '\'',
		// is s split on ', and no piece contains a quote.
		inner := q[1 : len(q)-1]
		pieces := strings.Split(inner, `'\''`)
		if strings.Join(pieces, "'") != s {
			t.Fatalf("Quote(%q) = %q does not decode to the input", s, q)
		}
		for _, p := range pieces {
			if strings.Contains(p, "'") {
				t.Fatalf("Quote(%q) = %q leaves a bare quote", s, q)
			}
		}
		for _, sh := range shs {
			got := shellWords(t, sh, q+" "+q)
			if len(got) != 2 || got[0] != s || got[1] != s {
				t.Fatalf("%s read %q as %q, want twice %q", sh, q, got, s)
			}
		}
	})
}
