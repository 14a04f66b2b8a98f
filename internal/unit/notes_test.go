package unit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/layout"
)

func TestReconcileNotes(t *testing.T) {
	quiet, busy := t.TempDir(), t.TempDir()
	for _, r := range []string{quiet, busy} {
		if err := os.MkdirAll(filepath.Dir(ReconciledPath(r)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.Local)
	if err := SaveReconciled(busy, &Reconciled{At: at, Finished: []string{"u1: failure", "u2: failure", "u3: failure", "u4: failure"}, Damaged: []string{"u5: bad"}}); err != nil {
		t.Fatal(err)
	}
	got := ReconcileNotes([]string{quiet, busy})
	want := busy + ": reconcile at 2026-12-06 10:00:00 recorded the outcome of 4 units nothing else would: u1: failure; u2: failure; u3: failure and 1 more; 1 could not be recorded: u5: bad"
	if len(got) != 1 || got[0] != want {
		t.Errorf("ReconcileNotes = %q\nwant %q", got, want)
	}
}

func TestDamagedRecords(t *testing.T) {
	repo := t.TempDir()
	p := layout.History(repo)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("{\"unit\":\"a\"}\nnot json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := DamagedRecords([]string{repo})
	if len(got) != 1 || !strings.Contains(got[0], ": line 2 cannot be read (damaged from outside") {
		t.Errorf("DamagedRecords = %q", got)
	}
}
