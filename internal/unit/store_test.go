package unit

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/hookrun/hookrun/internal/plan"
)

// TestStateRecords: a change appends one whole record (no new file), a
// reader takes the last whole one, a tail a crash cut is skipped and then
// cut off by the next change, and a file past maxStateFile is replaced by
// its one new record.
func TestStateRecords(t *testing.T) {
	repo := t.TempDir()
	s := Open(repo)
	u := testUnit(repo, "site", plan.Queue)
	saveStarted(t, s, u)
	path := s.StatePath(u.Name)
	ino := func() uint64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return inode(fi)
	}
	records := func() [][]byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.SplitAfter(b, []byte("\n"))
	}
	before, n := ino(), len(records())
	if err := s.Update(u.Name, func(st *State) { st.StartErr = "one" }); err != nil {
		t.Fatal(err)
	}
	if ino() != before {
		t.Error("a change replaced the state file; want it appended to")
	}
	if got := len(records()); got != n+1 {
		t.Errorf("%d records after a change, want %d", got, n+1)
	}

	// A crash cut the next record: readers take the one before it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"version":1,"unit":"` + u.Name + `","start_err`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	st, err := s.Load(u.Name)
	if err != nil || st.StartErr != "one" {
		t.Fatalf("Load with a cut tail = %+v, %v; want the last whole record", st, err)
	}
	if err := s.Update(u.Name, func(st *State) { st.StartErr = "two" }); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if bytes.Contains(b, []byte(`"start_err`+"\n")) || !bytes.HasSuffix(b, []byte("\n")) {
		t.Errorf("the cut tail was kept:\n%s", b)
	}
	if st, err := s.Load(u.Name); err != nil || st.StartErr != "two" {
		t.Fatalf("Load after the cut tail = %+v, %v", st, err)
	}

	// A file of one record without its newline (edited by hand) is read,
	// and a change replaces it rather than append to it.
	st, err = s.Load(u.Name)
	if err != nil {
		t.Fatal(err)
	}
	one, _ := json.Marshal(st)
	if err := os.WriteFile(path, one, 0o600); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Load(u.Name); err != nil || st.StartErr != "two" {
		t.Fatalf("Load of one record without its newline = %+v, %v", st, err)
	}
	if err := s.Update(u.Name, func(st *State) { st.StartErr = "three" }); err != nil {
		t.Fatal(err)
	}
	if r := records(); len(r) != 2 || len(r[1]) != 0 {
		t.Errorf("after a change, the file has %d records, want 1", len(r)-1)
	}
	if st, err := s.Load(u.Name); err != nil || st.StartErr != "three" {
		t.Fatalf("Load after the change = %+v, %v", st, err)
	}
	before = ino()

	// Past the bound, the file is replaced by the one new record.
	for i := 0; ino() == before; i++ {
		if i > maxStateFile/64 {
			t.Fatalf("the state file is %d bytes and was never replaced", len(b))
		}
		if err := s.Update(u.Name, func(st *State) { st.StartErr = strings.Repeat("x", 200) }); err != nil {
			t.Fatal(err)
		}
	}
	if r := records(); len(r) != 2 || len(r[1]) != 0 { // one record, then the empty rest
		t.Errorf("replaced state file has %d records, want 1", len(r)-1)
	}
	if st, err := s.Load(u.Name); err != nil || st.StartErr != strings.Repeat("x", 200) {
		t.Fatalf("Load after replacing = %+v, %v", st, err)
	}
}

func inode(fi os.FileInfo) uint64 { return fi.Sys().(*syscall.Stat_t).Ino }

// TestStateTornRecord: a power loss during an append that crosses a page
// boundary can leave the new page on disk with the record's end (and its
// newline) while the page before it still holds what it held before the
// write: zeros after the previous record. JSON never holds a raw NUL, so
// that line is an append that never reached the disk, not damage: readers
// take the record before it, and the next change cuts it off.
func TestStateTornRecord(t *testing.T) {
	repo := t.TempDir()
	s := Open(repo)
	u := testUnit(repo, "site", plan.Queue)
	saveStarted(t, s, u)
	path := s.StatePath(u.Name)
	if err := s.Update(u.Name, func(st *State) { st.StartErr = "one" }); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	whole := len(b)
	next := []byte(`{"version":1,"unit":"` + u.Name + `","start_error":"two"}` + "\n")
	torn := append(append(b, make([]byte, 20)...), next[20:]...)
	if err := os.WriteFile(path, torn, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := s.Load(u.Name)
	if err != nil || st.StartErr != "one" {
		t.Fatalf("Load with a torn last record = %+v, %v; want the record before it", st, err)
	}
	if all, _ := s.List(); len(all) != 1 {
		t.Errorf("List with a torn last record: %d states, want 1", len(all))
	}
	if d := s.Damaged(); len(d) != 0 {
		t.Errorf("Damaged = %v, want none (a torn append is not damage)", d)
	}
	if err := s.Update(u.Name, func(st *State) { st.StartErr = "three" }); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path)
	if bytes.IndexByte(b, 0) >= 0 || !bytes.HasSuffix(b, []byte("\n")) || len(b) <= whole {
		t.Errorf("the torn record was kept:\n%q", b)
	}
	if st, err := s.Load(u.Name); err != nil || st.StartErr != "three" {
		t.Fatalf("Load after the next change = %+v, %v", st, err)
	}
}

// TestReadStateRereads: a reader that meets a change between two of its
// reads (half the old tail, half the new record) reads again and gets the
// new record; a file damaged for good still fails, after rereads more
// reads; a state of another format fails at once.
func TestReadStateRereads(t *testing.T) {
	repo := t.TempDir()
	s := Open(repo)
	u := testUnit(repo, "site", plan.Queue)
	saveStarted(t, s, u)
	path := s.StatePath(u.Name)
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	reads := 0
	t.Cleanup(func() { readFile = os.ReadFile })
	readFile = func(string) ([]byte, error) {
		reads++
		if reads == 1 {
			// the first part of a crash's leftover, then the end of the record written over it
			return append(whole[:len(whole):len(whole)], []byte(`{"version":1,"unit":"x","pha`+`07T07:00:00Z"}`+"\n")...), nil
		}
		return whole, nil
	}
	st, err := s.Load(u.Name)
	if err != nil || st.Phase != Started || reads != 2 {
		t.Fatalf("mixed read: %v, %v after %d reads; want the record after 2", st, err, reads)
	}

	reads = 0
	readFile = func(string) ([]byte, error) { reads++; return []byte("{damaged\n"), nil }
	if _, err := s.Load(u.Name); err == nil || reads != rereads+1 {
		t.Errorf("damaged for good: %v after %d reads; want an error after %d", err, reads, rereads+1)
	}
	reads = 0
	readFile = func(string) ([]byte, error) { reads++; return []byte(`{"version":99}` + "\n"), nil }
	if _, err := s.Load(u.Name); err == nil || !strings.Contains(err.Error(), "format version 99") || reads != 1 {
		t.Errorf("another format: %v after %d reads; want an error after 1", err, reads)
	}
}
