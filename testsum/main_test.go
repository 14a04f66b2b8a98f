package main

import (
	"strings"
	"testing"
)

const stream = `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"p","Test":"TestA","Output":"    a_test.go:3: chatter\n"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestS","Output":"    a_test.go:4: no peer here\n"}
{"Action":"output","Package":"p","Test":"TestS","Output":"--- SKIP: TestS (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestS"}
{"Action":"output","Package":"p","Test":"TestScripts/x","Output":"        > [!ntfy] skip 'needs ntfy'\n"}
{"Action":"output","Package":"p","Test":"TestScripts/x","Output":"        [condition not met]\n"}
{"Action":"skip","Package":"p","Test":"TestScripts/x"}
{"Action":"output","Package":"p","Test":"TestT","Output":"    a_test.go:9: no peer here\n"}
{"Action":"skip","Package":"p","Test":"TestT"}
{"Action":"output","Package":"p","Output":"PASS\n"}
{"Action":"output","Package":"p","Output":"ok  \tp\t0.1s\n"}
{"Action":"pass","Package":"p"}
`

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		status   int
		want     []string
		not      []string
	}{
		{"skips summarized", stream, 0, []string{"ok  \tp\t0.1s\n", "testsum: 3 tests skipped:\n  2: no peer here\n      p TestS\n      p TestT\n  1: [!ntfy] skip 'needs ntfy'\n      p TestScripts/x\n"}, []string{"chatter", "PASS\n"}},
		{"failure shown", `{"Action":"output","Package":"p","Test":"TestF","Output":"=== RUN   TestF\n"}
{"Action":"output","Package":"p","Test":"TestF","Output":"    f_test.go:5: bad\n"}
{"Action":"output","Package":"p","Test":"TestF","Output":"--- FAIL: TestF (0.00s)\n"}
{"Action":"fail","Package":"p","Test":"TestF"}
{"Action":"output","Package":"p","Output":"FAIL\tp\t0.1s\n"}
{"Action":"fail","Package":"p"}
`, 1, []string{"    f_test.go:5: bad\n--- FAIL: TestF (0.00s)\nFAIL\tp\t0.1s\n", "testsum: no test was skipped"}, []string{"=== RUN"}},
		{"build failure", `{"ImportPath":"p","Action":"build-output","Output":"# p\n./a.go:1: syntax error\n"}
{"ImportPath":"p","Action":"build-fail"}
{"Action":"output","Package":"p","Output":"FAIL\tp [build failed]\n"}
{"Action":"fail","Package":"p"}
`, 1, []string{"./a.go:1: syntax error", "FAIL\tp [build failed]"}, nil},
		{"no result", "go: unknown flag -x\n", 1, []string{"go: unknown flag -x\n"}, nil},
	} {
		var out strings.Builder
		if got := run(strings.NewReader(tc.in), &out); got != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.status)
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, w, out.String())
			}
		}
		for _, w := range tc.not {
			if strings.Contains(out.String(), w) {
				t.Errorf("%s: output has %q:\n%s", tc.name, w, out.String())
			}
		}
	}
}
