package unit

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/hookrun/hookrun/internal/filltest"
	"github.com/hookrun/hookrun/internal/outcome"
)

// valid gives filltest.Fill outcome kinds and delivery states that
// MarshalText takes.
var valid = map[reflect.Type]func(int) any{
	reflect.TypeFor[outcome.Kind]():  func(n int) any { return outcome.Kind(1 + n%4) },
	reflect.TypeFor[outcome.State](): func(n int) any { return outcome.State(n % 3) },
}

// TestStateMarshalIsJSONs holds State.Marshal to json.Marshal's output:
// for a state with every field set (a field Marshal leaves out fails
// here), the zero state, and states with a third of their fields empty.
func TestStateMarshalIsJSONs(t *testing.T) {
	full := &State{}
	filltest.Fill(reflect.ValueOf(full).Elem(), 0, nil, valid)
	states := []*State{full, {}}
	for i := range 100 {
		st := &State{}
		filltest.Fill(reflect.ValueOf(st).Elem(), i, rand.New(rand.NewPCG(uint64(i), 2)), valid)
		states = append(states, st)
	}
	for i, st := range states {
		want, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("state %d:\nMarshal      %s\njson.Marshal %s", i, got, want)
		}
	}
	bad := &State{Outcome: &Outcome{Kind: outcome.Kind(99)}}
	if _, err := bad.Marshal(); err == nil {
		t.Error("a state with an invalid outcome kind was written")
	}
}
