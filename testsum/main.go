// Command testsum prints `go test -json` output the way `go test` does
// without -v (each failed test's output, each package's closing line), then
// ends with a summary of the tests that were skipped and why, grouped by
// reason, so a run that skipped tests never looks like a complete one.
// `make test` pipes go test through it:
//
//	go test -json ./... | go run ./testsum
//
// It exits 1 when a test or package failed (or the input holds no result),
// else 0; the Makefile also keeps go test's own exit status (pipefail).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

func main() { os.Exit(run(os.Stdin, os.Stdout)) }

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // build-output events
}

// skip is one skipped test and the reason it gave.
type skip struct{ test, why string }

func run(in io.Reader, out io.Writer) int {
	w := bufio.NewWriter(out)
	defer w.Flush()
	outputs := map[string][]string{} // "pkg test" -> output lines so far
	var skips []skip
	failed, results := false, 0
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			// not JSON: go test's own message (e.g. a bad flag); pass it on
			fmt.Fprintln(w, sc.Text())
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "build-output":
			fmt.Fprint(w, e.Output)
		case "build-fail":
			failed = true
		case "output":
			if e.Test == "" {
				if e.Output != "PASS\n" {
					fmt.Fprint(w, e.Output)
				}
				continue
			}
			outputs[key] = append(outputs[key], e.Output)
		case "fail", "pass", "skip":
			if e.Test == "" {
				results++
				failed = failed || e.Action == "fail"
				continue
			}
			lines := outputs[key]
			delete(outputs, key)
			switch e.Action {
			case "fail":
				failed = true
				for _, l := range lines {
					if !strings.HasPrefix(l, "=== ") {
						fmt.Fprint(w, l)
					}
				}
			case "skip":
				skips = append(skips, skip{e.Package + " " + e.Test, reason(lines)})
			}
		}
		w.Flush()
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(w, "testsum: reading go test's output: %v\n", err)
		failed = true
	}
	summarize(w, skips)
	if failed || results == 0 {
		return 1
	}
	return 0
}

// reason is the last line a skipped test printed that is not go test's own
// framing: t.Skip's message, or a testscript's `skip` line.
func reason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- SKIP") || l == "[condition not met]" || strings.HasPrefix(l, "PASS") {
			continue
		}
		// "file_test.go:12: reason" -> "reason"
		if f, rest, ok := strings.Cut(l, ": "); ok && strings.Contains(f, ".go:") && !strings.Contains(f, " ") {
			l = rest
		}
		l = strings.TrimPrefix(l, "> ")
		return l
	}
	return "(no reason given)"
}

// summarize prints the skipped tests grouped by reason, most common first.
func summarize(w io.Writer, skips []skip) {
	if len(skips) == 0 {
		fmt.Fprintln(w, "testsum: no test was skipped")
		return
	}
	by := map[string][]string{}
	for _, s := range skips {
		by[s.why] = append(by[s.why], s.test)
	}
	reasons := make([]string, 0, len(by))
	for r := range by {
		reasons = append(reasons, r)
	}
	slices.SortFunc(reasons, func(a, b string) int {
		if d := len(by[b]) - len(by[a]); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	fmt.Fprintf(w, "testsum: %d tests skipped:\n", len(skips))
	for _, r := range reasons {
		fmt.Fprintf(w, "  %d: %s\n", len(by[r]), r)
		for _, t := range by[r] {
			fmt.Fprintf(w, "      %s\n", t)
		}
	}
}
