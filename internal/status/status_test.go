package status

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/outcome"
)

func TestFinishedNewestFirstAcrossRepos(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	a, b := t.TempDir(), t.TempDir()
	for repo, recs := range map[string][]history.Record{
		a: {{Unit: "a1", Start: t0, Result: outcome.Success}, {Unit: "a2", Start: t0.Add(2 * time.Hour), Result: outcome.Failure}},
		b: {{Unit: "b1", Start: t0.Add(time.Hour), Result: outcome.Success}},
	} {
		p := layout.History(repo)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := history.AppendAll(p, recs); err != nil {
			t.Fatal(err)
		}
	}
	var warned []string
	q := Query{Now: time.Now, Warn: func(s string) { warned = append(warned, s) }}
	got := q.Finished([]string{a, b, filepath.Join(a, "none")}, 2)
	if len(got) != 2 || got[0].Unit != "a2" || got[1].Unit != "b1" || got[0].State != "failure" {
		t.Errorf("Finished = %+v", got)
	}
	if len(warned) != 0 {
		t.Errorf("a repository without a history warned: %q", warned)
	}
}

func TestTable(t *testing.T) {
	var b strings.Builder
	Table(&b, nil, "/srv/git/web.git", 1, 0)
	if b.String() != "no runs recorded for /srv/git/web.git yet\n" {
		t.Errorf("empty table: %q", b.String())
	}
	b.Reset()
	l := Line{Record: history.Record{Unit: "hookrun-build-1", Repo: "web", Job: "build", Ref: "refs/heads/main", Short: "abc1234",
		Reason: strings.Repeat("x", 80), Start: time.Now(), Duration: 400 * time.Millisecond}, State: "failure"}
	Table(&b, []Line{l}, "", 1, 120)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "UNIT") || !strings.Contains(lines[1], "0.4s") || !strings.Contains(lines[1], "...") {
		t.Fatalf("table:\n%s", b.String())
	}
	for _, line := range lines {
		if n := len([]rune(line)); n > 120 {
			t.Errorf("a row of %d runes in 120 columns: %q", n, line)
		}
	}
}

func TestRan(t *testing.T) {
	repo := t.TempDir()
	if Ran(repo) {
		t.Error("Ran before hookrun ran")
	}
	if err := os.MkdirAll(layout.Dir(repo), 0o755); err != nil {
		t.Fatal(err)
	}
	if !Ran(repo) {
		t.Error("not Ran after hookrun made its directory")
	}
}
