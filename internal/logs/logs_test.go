package logs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/outcome"
)

// repoWithHistory is a repository directory whose history holds recs.
func repoWithHistory(t *testing.T, recs ...history.Record) string {
	t.Helper()
	repo := t.TempDir()
	p := layout.History(repo)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := history.AppendAll(p, recs); err != nil {
		t.Fatal(err)
	}
	return repo
}

func TestLatest(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	repo := repoWithHistory(t,
		history.Record{Unit: "hookrun-build-a", Job: "build", Start: t0, Result: outcome.Success},
		history.Record{Unit: "hookrun-build-b", Job: "build", Start: t0.Add(time.Hour), Result: outcome.Failure},
		history.Record{Unit: "hookrun-test-c", Job: "test", Start: t0.Add(2 * time.Hour), Result: outcome.Success},
	)
	for _, tc := range []struct {
		job  string
		n    int
		want string
		err  string
	}{
		{"build", 1, "hookrun-build-b", ""},
		{"build", 2, "hookrun-build-a", ""},
		{"build", 3, "", "only 2 runs of job build"},
		{"test", 2, "", "only 1 run of job test"},
		{"buidl", 1, "", "(did you mean build?)"},
		{"deploy", 1, "", "no run of job deploy recorded in " + repo + ": see 'hookrun status "},
	} {
		got, err := Latest(repo, tc.job, tc.n)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Latest(%s, %d) = %q, %v; want error %q", tc.job, tc.n, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Latest(%s, %d) = %q, %v; want %q", tc.job, tc.n, got, err, tc.want)
		}
	}
}

func TestOutcomeFromHistory(t *testing.T) {
	repo := repoWithHistory(t,
		history.Record{Unit: "u-ok", Job: "build", Result: outcome.Success, Duration: 3 * time.Second},
		history.Record{Unit: "u-bad", Job: "build", Result: outcome.Failure, Reason: "exit status 3", Duration: time.Minute},
	)
	if e, err := Outcome(repo, "u-ok"); err != nil || e.Code != 0 || !strings.HasPrefix(e.Line, "u-ok: success after ") {
		t.Errorf("Outcome(u-ok) = %+v, %v", e, err)
	}
	// The history keeps no exit status: a failure is 1.
	if e, err := Outcome(repo, "u-bad"); err != nil || e.Code != 1 || !strings.HasSuffix(e.Line, ": exit status 3") {
		t.Errorf("Outcome(u-bad) = %+v, %v", e, err)
	}
	if _, err := Outcome(repo, "u-gone"); !errors.Is(err, ErrNoOutcome) || err.Error() != "u-gone ended, but no outcome is recorded" {
		t.Errorf("Outcome(u-gone): %v", err)
	}
}

func TestPrint(t *testing.T) {
	repo := t.TempDir()
	var b strings.Builder
	if found, err := Print(&b, repo, "u1"); found || err != nil || b.Len() != 0 {
		t.Fatalf("Print without a log file = %v, %v, %q", found, err, b.String())
	}
	p := layout.Log(repo, "u1")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("line 1\nline 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if found, err := Print(&b, repo, "u1"); !found || err != nil || b.String() != "line 1\nline 2\n" {
		t.Errorf("Print = %v, %v, %q", found, err, b.String())
	}
}
