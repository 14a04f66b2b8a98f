package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestHarnessCanFail runs each script in testdata/harness with the same
// commands as TestScripts and checks that it fails, with the message its
// first line names ("# want: REGEXP"). The scripts misuse the harness's own
// commands (glob, scrub, ntfy-wait, ntfy-poll) so that an assertion that can
// never fail shows up here.
func TestHarnessCanFail(t *testing.T) {
	files, err := filepath.Glob("testdata/harness/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no harness scripts (%v)", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(src), "\n")
			pattern, ok := strings.CutPrefix(first, "# want: ")
			if !ok {
				t.Fatalf("%s: the first line must be \"# want: REGEXP\", the failure expected", file)
			}
			want := regexp.MustCompile(pattern)
			p := scriptParams("")
			p.Files = []string{file}
			rec := &recordingT{}
			testscript.RunT(rec, p)
			switch {
			case rec.skipped:
				t.Skipf("script skipped: %s", rec.log.String())
			case !rec.failed:
				t.Fatalf("the script passed; it must fail with %q. Log:\n%s", pattern, rec.log.String())
			case !want.MatchString(rec.log.String()):
				t.Fatalf("the script failed, but not with %q. Log:\n%s", pattern, rec.log.String())
			}
		})
	}
}

// recordingT is a testscript.T that records a script's result instead of
// failing the test: the script runs in the calling goroutine, and FailNow
// and Skip end it with a panic that Run recovers.
type recordingT struct {
	mu              sync.Mutex
	log             strings.Builder
	failed, skipped bool
}

type endScript struct{}

func (r *recordingT) logf(args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintln(&r.log, args...)
}

func (r *recordingT) Skip(args ...any) {
	r.logf(args...)
	r.skipped = true
	panic(endScript{})
}

func (r *recordingT) Fatal(args ...any) {
	r.logf(args...)
	r.FailNow()
}

func (r *recordingT) FailNow() {
	r.failed = true
	panic(endScript{})
}

func (r *recordingT) Log(args ...any) { r.logf(args...) }
func (r *recordingT) Parallel()       {}
func (r *recordingT) Verbose() bool   { return false }

func (r *recordingT) Run(name string, f func(testscript.T)) {
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(endScript); !ok {
				panic(v)
			}
		}
	}()
	f(r)
}
