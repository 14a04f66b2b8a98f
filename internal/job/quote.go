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

// Arg is s as one POSIX shell word for a person to paste: as it is when it
// holds only characters no shell treats specially, else quoted with Quote.
// Pasting a line of such words into sh passes exactly these bytes and runs
// nothing else: no $(...), backtick, quote or newline in s is interpreted.
func Arg(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == '=' || r == ':' || r == ',' || r == '@' || r == '+' ||
			'0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z')
	}) {
		return s
	}
	return Quote(s)
}
