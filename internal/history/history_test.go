package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
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
		if err := Append(path, Record{Unit: u, Result: outcome.Success, Ntfy: &outcome.Delivery{Output: outcome.Ntfy, State: outcome.Pending}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := SetNotify(path, "a", outcome.Delivery{State: outcome.NotDelivered, Error: "ntfy answered 403 Forbidden"}); err != nil {
		t.Fatal(err)
	}
	if err := SetNotify(path, "gone", outcome.Delivery{State: outcome.Delivered}); err != nil {
		t.Fatalf("a unit without a record: %v", err)
	}
	recs, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.Unit+"="+r.Ntfy.Text())
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
// string form of history files written before deliveries were typed
// ("notify"), whose text it keeps; and SetOutputs adds and replaces the
// other outputs' deliveries.
func TestDeliveriesFromOldNotify(t *testing.T) {
	tests := []struct {
		notify string
		want   []outcome.Delivery
	}{
		{"", nil},
		{"pending", []outcome.Delivery{{Output: "ntfy", State: outcome.Pending}}},
		{"delivered", []outcome.Delivery{{Output: "ntfy", State: outcome.Delivered}}},
		{"delivered in the push's digest", []outcome.Delivery{{Output: "ntfy", State: outcome.Delivered, Digest: -1}}},
		{"not delivered: ntfy answered 403", []outcome.Delivery{{Output: "ntfy", State: outcome.NotDelivered, Error: "ntfy answered 403"}}},
		{"maybe delivered: sent, but no answer", []outcome.Delivery{{Output: "ntfy", State: outcome.MaybeDelivered, Error: "sent, but no answer"}}},
		{"not delivered: ntfy answered 429 (the push's digest of 3 units)", []outcome.Delivery{{Output: "ntfy", State: outcome.NotDelivered, Digest: 3, Error: "ntfy answered 429"}}},
		{"maybe delivered: timeout (x) (the push's digest of 12 units)", []outcome.Delivery{{Output: "ntfy", State: outcome.MaybeDelivered, Digest: 12, Error: "timeout (x)"}}},
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
		if r.Ntfy != nil && r.Ntfy.Text() != tt.notify {
			t.Errorf("notify %q: shown as %q", tt.notify, r.Ntfy.Text())
		}
	}
	path := filepath.Join(t.TempDir(), "history.jsonl")
	if err := Append(path, Record{Unit: "u", Result: outcome.Success, Ntfy: &outcome.Delivery{Output: outcome.Ntfy, State: outcome.Delivered}}); err != nil {
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

// TestOldHistoryFile: a history file written before deliveries were typed
// reads with ntfy's delivery typed, and a record rewritten (its delivery
// set) is written in the typed form; the others stay as they were.
func TestOldHistoryFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	old := `{"unit":"a","repo":"r","job":"build","ref":"refs/heads/main","short":"abc1234","runner":"exec","result":"success","start":"2026-11-01T10:00:00Z","duration":1000000000,"notify":"delivered in the push's digest"}
{"unit":"b","repo":"r","job":"test","ref":"refs/heads/main","short":"abc1234","runner":"exec","result":"failure","reason":"exit status 1","start":"2026-11-01T10:00:01Z","duration":2000000000,"notify":"not delivered: ntfy answered 500 (the push's digest of 2 units)"}
{"unit":"c","repo":"r","job":"lint","ref":"refs/heads/main","short":"abc1234","runner":"exec","result":"success","start":"2026-11-01T10:00:02Z","duration":2000000000,"notify":"pending"}
`
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	recs, bad, err := ReadChecked(path)
	if err != nil || len(bad) > 0 || len(recs) != 3 {
		t.Fatalf("ReadChecked: %d records, bad lines %v, %v", len(recs), bad, err)
	}
	want := []outcome.Delivery{
		{Output: "ntfy", State: outcome.Delivered, Digest: -1},
		{Output: "ntfy", State: outcome.NotDelivered, Digest: 2, Error: "ntfy answered 500"},
		{Output: "ntfy", State: outcome.Pending},
	}
	for i, r := range recs {
		if r.Ntfy == nil || *r.Ntfy != want[i] {
			t.Errorf("record %s: ntfy %+v, want %+v", r.Unit, r.Ntfy, want[i])
		}
	}
	if !recs[1].NotifyFailed() || recs[0].NotifyFailed() || recs[2].NotifyFailed() {
		t.Errorf("NotifyFailed wrong: %+v", recs)
	}
	if err := SetNotify(path, "c", outcome.Delivery{State: outcome.MaybeDelivered, Error: "no answer"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 3 || lines[0] != strings.Split(old, "\n")[0] {
		t.Fatalf("file after SetNotify:\n%s", b)
	}
	if !strings.Contains(lines[2], `"ntfy":{"output":"ntfy","state":"maybe-delivered","error":"no answer"}`) || strings.Contains(lines[2], `"notify"`) {
		t.Errorf("rewritten record not in the typed form: %s", lines[2])
	}
}

// TestAppendAppends: a record is appended to the file, not rewritten into a
// new one; a reader skips a line an append has not finished; a tail a
// crash cut is dropped by the next writer; past maxAppended the file is
// rewritten with the newest Keep records.
func TestAppendAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	rec := func(i int) Record { return Record{Unit: fmt.Sprintf("u%05d", i), Result: outcome.Success} }
	if err := Append(path, rec(0)); err != nil {
		t.Fatal(err)
	}
	ino := func() uint64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	first := ino()
	if err := Append(path, rec(1)); err != nil {
		t.Fatal(err)
	}
	if ino() != first {
		t.Error("Append replaced the file; want it appended to")
	}

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"unit":"u00002","res`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	recs, bad, err := ReadChecked(path)
	if err != nil || len(recs) != 2 || len(bad) != 0 {
		t.Fatalf("with a line being appended: %d records, bad lines %v, %v; want 2, none", len(recs), bad, err)
	}
	if err := Append(path, rec(3)); err != nil {
		t.Fatal(err)
	}
	recs, bad, _ = ReadChecked(path)
	if len(recs) != 3 || len(bad) != 0 || recs[2].Unit != "u00003" {
		t.Fatalf("after a cut tail: %d records (last %+v), bad lines %v; want u00000, u00001, u00003", len(recs), recs[len(recs)-1], bad)
	}
	first = ino() // rewritten without the cut tail

	// Appends go past Keep records until maxAppended; readers see Keep.
	for i := 4; ; i++ {
		if err := Append(path, rec(i)); err != nil {
			t.Fatal(err)
		}
		if ino() != first {
			t.Fatalf("rewritten after %d appends, before maxAppended", i)
		}
		fi, _ := os.Stat(path)
		if i%50 == 0 {
			if recs, _ := Read(path); len(recs) != min(i, Keep) {
				t.Fatalf("after %d appends Read has %d records", i, len(recs))
			}
		}
		if fi.Size() < maxAppended/2 {
			continue
		}
		b, _ := os.ReadFile(path)
		if lines := bytes.Count(b, []byte("\n")); lines <= Keep {
			t.Fatalf("%d bytes in %d lines: appends were not kept past Keep", fi.Size(), lines)
		}
		break
	}
	for i := 0; ino() == first; i++ {
		if i > maxAppended/10 {
			t.Fatal("the file was never rewritten")
		}
		if err := Append(path, rec(100000+i)); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(path)
	if lines := bytes.Count(b, []byte("\n")); lines > Keep+1 {
		t.Errorf("rewritten past maxAppended with %d lines, want at most Keep (+ the one appended since)", lines)
	}
}

// TestAppendNew: a record appended late is appended once, however many
// processes append it at the same time, and never beside an earlier one
// of its unit; other units' records are appended.
func TestAppendNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	if err := Append(path, Record{Unit: "a", Result: outcome.Success}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			unit := []string{"a", "b"}[i%2]
			if err := AppendNew(path, Record{Unit: unit, Result: outcome.Failure}); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	recs, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Unit != "a" || recs[0].Result != outcome.Success || recs[1].Unit != "b" {
		t.Errorf("records %+v, want a's first one and b's once", recs)
	}
}

// TestReplaceOlderThanKeep: between rewrites the file holds more than the
// Keep records readers see. Replace of a unit whose record is only among
// the older ones appends the corrected record, as it did when the file
// held Keep records, rather than correct a line the rewrite then drops.
func TestReplaceOlderThanKeep(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	for i := 0; i < Keep+10; i++ {
		if err := Append(path, Record{Unit: fmt.Sprintf("u%03d", i), Result: outcome.Failure}); err != nil {
			t.Fatal(err)
		}
	}
	if err := Replace(path, Record{Unit: "u000", Result: outcome.Success}); err != nil {
		t.Fatal(err)
	}
	recs, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != Keep || recs[Keep-1].Unit != "u000" || recs[Keep-1].Result != outcome.Success {
		t.Errorf("%d records, newest %+v; want %d, the corrected u000 newest", len(recs), recs[len(recs)-1], Keep)
	}
}

// TestReadCheckedLines: the numbers ReadChecked reports for damaged lines
// are the file's own line numbers, whatever the file ends with; a last
// line an append has not finished (or a crash cut) is not damage, a whole
// record without its newline is a record, blank lines are neither.
func TestReadCheckedLines(t *testing.T) {
	a, b := `{"unit":"a","result":"success"}`, `{"unit":"b","result":"failure"}`
	for _, tc := range []struct {
		name  string
		file  string
		units string
		bad   []int
	}{
		{"whole", a + "\n" + b + "\n", "ab", nil},
		{"damaged middle", a + "\nxx\n" + b + "\n", "ab", []int{2}},
		{"cut tail", a + "\n" + b + "\n" + `{"unit":"c","res`, "ab", nil},
		{"zeros after a crash", a + "\n" + "\x00\x00\x00\x00", "a", nil},
		{"no newline at the end", a + "\n" + b, "ab", nil},
		{"blank line", a + "\n\n" + b + "\n", "ab", nil},
		{"damaged first, cut tail", "{\n" + a + "\n" + `{"unit"`, "a", []int{1}},
		// A power loss during an append that crossed a page boundary:
		// its last page reached the disk, the page before it did not
		// (zeros). Not damage from outside: JSON never holds a NUL.
		{"torn by a power loss", a + "\n\x00\x00\x00" + b[3:] + "\n" + b + "\n", "ab", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "history.jsonl")
			if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			recs, bad, err := ReadChecked(path)
			if err != nil {
				t.Fatal(err)
			}
			units := ""
			for _, r := range recs {
				units += r.Unit
			}
			if units != tc.units || fmt.Sprint(bad) != fmt.Sprint(tc.bad) {
				t.Errorf("records %q, bad lines %v; want %q, %v", units, bad, tc.units, tc.bad)
			}
		})
	}
}
