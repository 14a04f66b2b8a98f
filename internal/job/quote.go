package job

import "strings"

// Quote returns s as one word of a POSIX shell command line: s in single
// quotes, with each single quote in it closed, escaped and reopened:
//
//	it's  ->  'it'\''s'
//	(empty) ->  ''
//
// Inside single quotes a POSIX shell gives no character a special meaning,
// so $(...), backticks, ;, |, *, ~, newlines and spaces all reach the
// program unchanged.
//
// s must not contain a NUL byte: no shell word and no argv element can.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// QuoteArgs is the words of args quoted with Quote and joined by spaces: a
// shell command line that runs exactly args.
func QuoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = Quote(a)
	}
	return strings.Join(q, " ")
}
