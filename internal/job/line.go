package job

import "strings"

// Line is argv as a POSIX shell command line that runs exactly argv when
// pasted: each word by Arg, and a first word holding "=" quoted even so
// (bare, the shell would take it for an assignment).
func Line(argv []string) string {
	q := make([]string, len(argv))
	for i, s := range argv {
		q[i] = Arg(s)
		if i == 0 && q[i] == s && strings.Contains(s, "=") {
			q[i] = Quote(s)
		}
	}
	return strings.Join(q, " ")
}
