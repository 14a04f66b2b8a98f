package plan

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hookrun/hookrun/internal/filltest"
	"github.com/hookrun/hookrun/internal/outcome"
)

// encoded is u with its strings made valid UTF-8 (EncodeString): what
// Marshal writes is json.Marshal of it, the test's oracle.
func (u *Unit) encoded() *Unit {
	if !anyString(reflect.ValueOf(u), needsEncoding) {
		return u
	}
	return mapStrings(reflect.ValueOf(u), EncodeString).Interface().(*Unit)
}

func needsEncoding(s string) bool { return !utf8.ValidString(s) || strings.ContainsRune(s, escRune) }

// kinds gives Fill valid outcome kinds (MarshalText refuses others).
var kinds = map[reflect.Type]func(int) any{
	reflect.TypeFor[outcome.Kind](): func(n int) any { return outcome.Kind(1 + n%4) },
}

// TestMarshalIsJSONs holds Marshal to what json.Marshal writes for the
// unit with its strings encoded: for a unit with every field set (a field
// Marshal leaves out fails here), the zero unit, and units in between.
func TestMarshalIsJSONs(t *testing.T) {
	full := &Unit{}
	filltest.Fill(reflect.ValueOf(full).Elem(), 0, nil, kinds)
	// Every field of the full unit is set, all the way down.
	units := []*Unit{full, {}, {Refs: []Ref{}, Steps: []Step{{}}, Rules: []string{}, Env: []string{}, ChangedFiles: []byte{}, Host: &Host{}, Outputs: &Outputs{}}}
	for i := range 100 {
		u := &Unit{}
		filltest.Fill(reflect.ValueOf(u).Elem(), i, rand.New(rand.NewPCG(uint64(i), 1)), kinds)
		units = append(units, u)
	}
	for i, u := range units {
		u.Version = Version // for Unmarshal
		want, err := json.Marshal(u.encoded())
		if err != nil {
			t.Fatal(err)
		}
		got, err := u.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("unit %d:\nMarshal      %s\njson.Marshal %s", i, got, want)
		}
		back, err := Unmarshal(got)
		if err != nil {
			t.Fatalf("unit %d: %v", i, err)
		}
		again, _ := back.Marshal()
		if string(again) != string(got) {
			t.Errorf("unit %d: not the same after Unmarshal:\n%s\n%s", i, again, got)
		}
	}
}

func TestMarshalInvalidKind(t *testing.T) {
	u := &Unit{Notify: Notify{On: []outcome.Kind{outcome.Kind(99)}}}
	if _, err := u.Marshal(); err == nil {
		t.Error("a plan with an invalid outcome kind was written")
	}
}

func BenchmarkMarshal(b *testing.B) {
	u := &Unit{}
	filltest.Fill(reflect.ValueOf(u).Elem(), 0, nil, kinds)
	for b.Loop() {
		if _, err := u.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}
