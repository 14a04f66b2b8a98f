package unit

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hookrun/hookrun/internal/history"
	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/notify"
	"github.com/hookrun/hookrun/internal/outcome"
	"github.com/hookrun/hookrun/internal/plan"
)

// ended runs a unit of repo to its recorded end, its notification due.
func ended(t *testing.T, repo string, c *clock) (*Store, *plan.Unit) {
	t.Helper()
	s := &Store{RepoPath: repo, Now: c.now}
	u := testUnit(repo, "site", plan.Parallel)
	saveStarted(t, s, u)
	r, err := Take(context.Background(), s.PlanPath(u.Name), 4242, c.now)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.BeginJob(); err != nil {
		t.Fatal(err)
	}
	if err := r.Exited(&Exit{Code: 0}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := Finish(s.PlanPath(u.Name), &Service{"success", "exited", "0"}, c.now); err != nil {
		t.Fatal(err)
	}
	return s, u
}

// TestDigestDeliveryRecorded: a notification delivered in the push's
// digest is recorded delivered, in the unit's state as in its history
// (the string form once made the state say "failed", with the error
// "delivered in the push's digest").
func TestDigestDeliveryRecorded(t *testing.T) {
	repo := t.TempDir()
	c := newClock()
	s, u := ended(t, repo, c)
	l := Address(notify.Letter{Topic: "builds"}, Addressee{RepoPath: repo, Units: []string{u.Name}, Digest: 3})
	if err := RecordLetter(l, outcome.Delivery{Output: outcome.Ntfy, State: outcome.Delivered}, c.now); err != nil {
		t.Fatal(err)
	}
	st, err := s.Load(u.Name)
	if err != nil {
		t.Fatal(err)
	}
	if d := st.Delivery; d == nil || d.Status != outcome.Delivered || d.Digest != 3 || d.Error != "" {
		t.Errorf("state's delivery %+v, want delivered in the digest of 3", st.Delivery)
	}
	want := outcome.Delivery{Output: "ntfy", State: outcome.Delivered, Digest: 3}
	recs, _ := history.Read(layout.History(repo))
	if len(recs) != 1 || recs[0].Ntfy == nil || *recs[0].Ntfy != want {
		t.Fatalf("history %+v, want ntfy %+v", recs, want)
	}
	if got := recs[0].Ntfy.Text(); got != "delivered in the push's digest" {
		t.Errorf("shown as %q", got)
	}
	// The record rebuilt from the state (an outcome corrected) keeps it.
	if rec := record(u, st); rec.Ntfy == nil || *rec.Ntfy != want {
		t.Errorf("record from the state: ntfy %+v, want %+v", rec.Ntfy, want)
	}

	if err := RecordLetter(l, outcome.Delivery{Output: outcome.Ntfy, State: outcome.NotDelivered, Error: "ntfy answered 429"}, c.now); err != nil {
		t.Fatal(err)
	}
	recs, _ = history.Read(layout.History(repo))
	if got, want := recs[0].Ntfy.Text(), "not delivered: ntfy answered 429 (the push's digest of 3 units)"; got != want {
		t.Errorf("failed digest shown as %q, want %q", got, want)
	}
}

// TestOldStateFile: a state file written before deliveries were typed
// ("status": "failed", "maybe") reads with the typed states.
func TestOldStateFile(t *testing.T) {
	repo := t.TempDir()
	c := newClock()
	s, u := ended(t, repo, c)
	for _, tt := range []struct {
		old  string
		want outcome.State
	}{
		{"failed", outcome.NotDelivered},
		{"maybe", outcome.MaybeDelivered},
		{"delivered", outcome.Delivered},
		{"pending", outcome.Pending},
		{"skipped", outcome.Skipped},
	} {
		if err := s.Update(u.Name, func(st *State) {
			st.Delivery = &Delivery{Status: outcome.Pending, At: time.Unix(1700000000, 0), Error: "why"}
		}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(s.StatePath(u.Name))
		if err != nil {
			t.Fatal(err)
		}
		// The last record is the state (each change appends one).
		i := strings.LastIndex(string(b), `"status":"pending"`)
		if i < 0 {
			t.Fatalf("state file has no pending delivery to make old: %s", b)
		}
		old := string(b[:i]) + `"status":"` + tt.old + `"` + string(b[i+len(`"status":"pending"`):])
		if old == string(b) && tt.old != "pending" {
			t.Fatalf("state file has no pending delivery to make old: %s", b)
		}
		if err := os.WriteFile(s.StatePath(u.Name), []byte(old), 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := s.Load(u.Name)
		if err != nil {
			t.Fatalf("old state file (status %q): %v", tt.old, err)
		}
		if d := st.Delivery; d == nil || d.Status != tt.want || d.Error != "why" {
			t.Errorf("old status %q: delivery %+v, want %s", tt.old, st.Delivery, tt.want)
		}
	}
}
