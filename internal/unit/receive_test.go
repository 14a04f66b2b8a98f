package unit

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/hookrun/hookrun/internal/layout"
	"github.com/hookrun/hookrun/internal/plan"
)

// TestReceive: a shipped plan and state are saved as a build host's store
// reads them; the same plan shipped again is kept, a different one is
// refused (a plan is written once: its bytes are the unit's locks), a
// state that moved on is kept, and what is not a state of the unit is
// refused.
func TestReceive(t *testing.T) {
	c := newClock()
	m := t.TempDir()
	s := &Store{RepoPath: m, Now: c.now, NoSync: true}
	u0 := testUnit(m, "build", plan.Queue)
	pb0, _ := u0.Marshal()
	sb0, _ := ShippedState(u0, c.now())
	if err := s.Receive(u0.Name, pb0, sb0); err == nil {
		t.Error("Receive into a mirror not prepared (no units/ directory) succeeded")
	}
	if _, err := os.Stat(layout.Dir(m)); err == nil {
		t.Error("Receive into a mirror not prepared made its state directory (the next preparation would take it for a mirror)")
	}
	if err := os.MkdirAll(layout.PlansDir(m), 0o700); err != nil {
		t.Fatal(err)
	}
	u := testUnit(m, "build", plan.Queue)
	pb, err := u.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	pb = append(pb, '\n')
	sb, err := ShippedState(u, c.now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Receive(u.Name, pb, sb); err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if got, err := os.ReadFile(layout.Plan(m, u.Name)); err != nil || !bytes.Equal(got, pb) {
		t.Errorf("plan: %q, %v", got, err)
	}
	st, err := s.Load(u.Name)
	if err != nil || st.Phase != Started || st.Seq != u.Seq {
		t.Fatalf("state: %+v, %v; want phase started", st, err)
	}
	if _, err := plan.Load(layout.Plan(m, u.Name)); err != nil {
		t.Errorf("the saved plan does not load: %v", err)
	}

	// Running now: shipping it again (the same plan) leaves the state.
	if err := s.Update(u.Name, func(st *State) { st.Phase = Running }); err != nil {
		t.Fatal(err)
	}
	if err := s.Receive(u.Name, pb, sb); err != nil {
		t.Fatalf("Receive again: %v", err)
	}
	if st, _ := s.Load(u.Name); st == nil || st.Phase != Running {
		t.Errorf("state after shipping again: %+v, want it left running", st)
	}

	for _, tt := range []struct {
		name        string
		plan, state []byte
		want        string
	}{
		{"another plan", []byte("{}\n"), sb, "with another plan"},
		{"not JSON", pb, []byte("tar"), "cannot be read"},
		{"another unit's state", pb, bytes.Replace(sb, []byte(u.Name), []byte("other.service"), 1), "is not one"},
		{"no phase", pb, []byte(`{"version":1,"unit":"` + u.Name + `"}`), "is not one"},
	} {
		if err := s.Receive(u.Name, tt.plan, tt.state); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Receive error %v, want %q", tt.name, err, tt.want)
		}
	}
	if got, _ := os.ReadFile(layout.Plan(m, u.Name)); !bytes.Equal(got, pb) {
		t.Errorf("plan after refused ships: %q", got)
	}
}
