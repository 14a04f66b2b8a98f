package digest

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
)

func units(n int, server, topic string, over int) []*plan.Unit {
	var us []*plan.Unit
	for i := range n {
		us = append(us, &plan.Unit{Name: fmt.Sprintf("git-site-r-%s-%04d.service", topic, i), Job: "site",
			Notify: plan.Notify{Server: server, Topic: topic, DigestOver: over}})
	}
	return us
}

func TestAssign(t *testing.T) {
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	state := t.TempDir()
	var all []*plan.Unit
	big := units(11, "http://n", "a", 10)     // over the threshold: one digest
	small := units(10, "http://n", "b", 10)   // at it: notified one by one
	off := units(50, "http://n", "c", 0)      // digests off
	quiet := units(20, "", "", 10)            // no notifications
	other := units(6, "http://other", "a", 5) // another server: its own group
	all = append(append(append(append(append(all, big...), small...), off...), quiet...), other...)
	groups, err := Assign(state, all, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 || len(groups[0].Units) != 11 || len(groups[1].Units) != 6 {
		t.Fatalf("groups %+v, want the 11 units of topic a and the 6 of the other server", groups)
	}
	for _, u := range big {
		if u.Notify.Digest != groups[0].Dir {
			t.Errorf("%s: digest %q, want %q", u.Name, u.Notify.Digest, groups[0].Dir)
		}
	}
	for _, u := range append(append(small, off...), quiet...) {
		if u.Notify.Digest != "" {
			t.Errorf("%s (topic %q) got a digest", u.Name, u.Notify.Topic)
		}
	}
	if b, err := os.ReadFile(filepath.Join(groups[0].Dir, "expected")); err != nil || string(b) != "11\n" {
		t.Errorf("expected file %q, %v", b, err)
	}
	if groups[0].Dir == groups[1].Dir || filepath.Dir(groups[0].Dir) != layout.Digests(state) {
		t.Errorf("dirs %s and %s", groups[0].Dir, groups[1].Dir)
	}
}

// TestRecordSendsOnce: 200 units ending at the same moment; exactly one of
// them gets the full set to send, and the others, racing with its removal
// of the digest, see no error (they were counted).
func TestRecordSendsOnce(t *testing.T) {
	const n = 200
	us := units(n, "http://n", "t", 10)
	groups, err := Assign(t.TempDir(), us, time.Now())
	if err != nil || len(groups) != 1 {
		t.Fatal(groups, err)
	}
	dir := groups[0].Dir
	var senders atomic.Int32
	var wg sync.WaitGroup
	for i, u := range us {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kind := outcome.Success
			if i%100 == 7 {
				kind = outcome.Failure
			}
			entries, send, err := Record(dir, Entry{Unit: u.Name, Job: u.Job, Ref: "refs/heads/main", Kind: kind, Notify: true})
			if err != nil {
				t.Error(err)
				return
			}
			if send {
				senders.Add(1)
				if len(entries) != n {
					t.Errorf("the sender got %d entries, want %d", len(entries), n)
				}
				// Sent: removed at once, while others may still be
				// recording. They must not take that for an error.
				if err := Remove(dir); err != nil {
					t.Error(err)
				}
			} else if entries != nil {
				t.Errorf("a unit that does not send got entries")
			}
		}()
	}
	wg.Wait()
	if got := senders.Load(); got != 1 {
		t.Fatalf("%d units were told to send the digest, want exactly 1", got)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("digest directory left behind: %v", err)
	}
}

func TestRecordRefusesBadNames(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"", "../x", ".hidden", "a/b"} {
		if _, _, err := Record(dir, Entry{Unit: name}); err == nil {
			t.Errorf("Record accepted unit name %q", name)
		}
	}
}

func TestAssignPrunesOldDigests(t *testing.T) {
	state := t.TempDir()
	old := filepath.Join(layout.Digests(state), "20261101-000000-deadbeef")
	if err := os.MkdirAll(old, 0o700); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-MaxAge - time.Hour)
	os.Chtimes(old, past, past)
	if _, err := Assign(state, units(11, "http://n", "t", 10), time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("a digest older than %v was kept", MaxAge)
	}
}
