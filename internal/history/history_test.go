package history

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/outcome"
)

func TestAppendKeepsNewestAndSurvivesConcurrency(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	var wg sync.WaitGroup
	for i := 0; i < Keep+50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := Append(path, Record{Unit: fmt.Sprintf("u%03d", i), Result: outcome.Success, Start: time.Unix(int64(i), 0)}); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	recs, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != Keep {
		t.Fatalf("%d records kept, want %d", len(recs), Keep)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.Unit] {
			t.Fatalf("duplicate record %s", r.Unit)
		}
		seen[r.Unit] = true
	}
}

func TestReadMissing(t *testing.T) {
	recs, err := Read(filepath.Join(t.TempDir(), "none"))
	if err != nil || recs != nil {
		t.Fatal(recs, err)
	}
}

func TestPruneDir(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 10; i++ {
		p := filepath.Join(dir, fmt.Sprintf("%d.log", i))
		os.WriteFile(p, nil, 0o600)
		os.Chtimes(p, time.Unix(int64(1000+i), 0), time.Unix(int64(1000+i), 0))
	}
	PruneDir(dir, 3)
	left, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(left) != 3 || filepath.Base(left[0]) != "7.log" {
		t.Fatalf("left %v, want the newest three", left)
	}
}

func TestSetNotify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	for _, u := range []string{"a", "b", "a"} {
		if err := Append(path, Record{Unit: u, Result: outcome.Success, Notify: NotifyPending}); err != nil {
			t.Fatal(err)
		}
	}
	if err := SetNotify(path, "a", "not delivered: ntfy answered 403 Forbidden"); err != nil {
		t.Fatal(err)
	}
	if err := SetNotify(path, "gone", NotifyDelivered); err != nil {
		t.Fatalf("a unit without a record: %v", err)
	}
	recs, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.Unit+"="+r.Notify)
	}
	want := []string{"a=pending", "b=pending", "a=not delivered: ntfy answered 403 Forbidden"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("records %q, want %q (only the newest record of the unit changes)", got, want)
	}
	if !recs[2].NotifyFailed() || recs[1].NotifyFailed() {
		t.Errorf("NotifyFailed wrong: %+v", recs)
	}
}

func TestAppendAllKeepsNewest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	if err := Append(path, Record{Unit: "first", Result: outcome.Success}); err != nil {
		t.Fatal(err)
	}
	var rs []Record
	for i := range Keep + 5 {
		rs = append(rs, Record{Unit: fmt.Sprintf("u%03d", i), Result: outcome.Success})
	}
	if err := AppendAll(path, rs); err != nil {
		t.Fatal(err)
	}
	recs, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != Keep || recs[0].Unit != "u005" || recs[Keep-1].Unit != fmt.Sprintf("u%03d", Keep+4) {
		t.Errorf("%d records from %s to %s, want the newest %d", len(recs), recs[0].Unit, recs[len(recs)-1].Unit, Keep)
	}
}

// TestPruneDirBytes: the logs of a repository are bounded together too,
// the oldest going first; the newest stays even when alone over the bound.
func TestPruneDirBytes(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 10; i++ {
		p := filepath.Join(dir, fmt.Sprintf("%d.log", i))
		os.WriteFile(p, make([]byte, 100*(i+1)), 0o600)
		os.Chtimes(p, time.Unix(int64(1000+i), 0), time.Unix(int64(1000+i), 0))
	}
	PruneDirBytes(dir, 200, 2000) // 1000 + 900 fit; 800 more do not
	left, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(left) != 2 || filepath.Base(left[0]) != "8.log" || filepath.Base(left[1]) != "9.log" {
		t.Fatalf("left %v, want 8.log and 9.log", left)
	}
	PruneDirBytes(dir, 200, 10)
	left, _ = filepath.Glob(filepath.Join(dir, "*.log"))
	if len(left) != 1 || filepath.Base(left[0]) != "9.log" {
		t.Fatalf("left %v, want the newest alone", left)
	}
}
