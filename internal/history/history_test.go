package history

import (
	"encoding/json"
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

// TestDeliveriesFromOldNotify reads ntfy's delivery, typed, from the
// string form every history file has (Record.Notify), and SetOutputs
// adds and replaces the other outputs' deliveries.
func TestDeliveriesFromOldNotify(t *testing.T) {
	tests := []struct {
		notify string
		want   []outcome.Delivery
	}{
		{"", nil},
		{"pending", []outcome.Delivery{{Output: "ntfy", State: outcome.Pending}}},
		{"delivered", []outcome.Delivery{{Output: "ntfy", State: outcome.Delivered}}},
		{"delivered in the push's digest", []outcome.Delivery{{Output: "ntfy", State: outcome.Delivered}}},
		{"not delivered: ntfy answered 403", []outcome.Delivery{{Output: "ntfy", State: outcome.NotDelivered, Error: "ntfy answered 403"}}},
		{"maybe delivered: sent, but no answer", []outcome.Delivery{{Output: "ntfy", State: outcome.MaybeDelivered, Error: "sent, but no answer"}}},
	}
	for _, tt := range tests {
		var r Record
		line := `{"unit":"u","result":"success","notify":` + strconvQuote(tt.notify) + `}`
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if got := r.Deliveries(); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("notify %q: deliveries %+v, want %+v", tt.notify, got, tt.want)
		}
	}
	path := filepath.Join(t.TempDir(), "history.jsonl")
	if err := Append(path, Record{Unit: "u", Result: outcome.Success, Notify: NotifyDelivered}); err != nil {
		t.Fatal(err)
	}
	site := outcome.Delivery{Output: "site", State: outcome.Delivered}
	hook := outcome.Delivery{Output: "webhook x", State: outcome.NotDelivered, Error: "refused"}
	if err := SetOutputs(path, "u", []outcome.Delivery{site, hook}); err != nil {
		t.Fatal(err)
	}
	hook.State, hook.Error = outcome.Delivered, ""
	if err := SetOutputs(path, "u", []outcome.Delivery{hook}); err != nil {
		t.Fatal(err)
	}
	recs, err := Read(path)
	if err != nil || len(recs) != 1 {
		t.Fatalf("%v %+v", err, recs)
	}
	want := []outcome.Delivery{{Output: "ntfy", State: outcome.Delivered}, site, hook}
	if got := recs[0].Deliveries(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("deliveries %+v, want %+v", got, want)
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
