// Package filltest fills every field of a value, for the tests that hold a
// hand-written encoder to encoding/json's output: a field the encoder
// leaves out shows as a difference only when the test's value has it set.
package filltest

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"time"
)

// Fill sets every exported field reachable from v (settable) to a value
// that is not empty, varied by n: strings that need escaping or are not
// valid UTF-8, two-element slices, allocated pointers, times. Special
// gives the values of types whose every value is not valid (an enum whose
// MarshalText refuses unknown values); it is asked first.
//
// With sparse set, about a third of the fields of every struct (not of
// the special types) are left at their zero value and a quarter of the slices empty (not nil), picked
// by sparse, so that omitempty and omitzero are seen both ways at every
// depth.
func Fill(v reflect.Value, n int, sparse *rand.Rand, special map[reflect.Type]func(n int) any) {
	if f, ok := special[v.Type()]; ok {
		v.Set(reflect.ValueOf(f(n)))
		return
	}
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(time.Date(2026, 12, 7, 15, 4, 5, n*1000+7, time.FixedZone("", 3600*(n%3)))))
		return
	}
	switch v.Kind() {
	case reflect.String:
		vals := []string{`a"b\c`, "<&>\n\t", "caf\xe9", "ü\u2028", "\U0010FFFD x", "plain"}
		v.SetString(vals[n%len(vals)] + strings.Repeat("z", n%3))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(n + 1))
	case reflect.Uint8:
		v.SetUint(uint64(n*37) % 256)
	case reflect.Uint64:
		v.SetUint(uint64(n) + 1<<40)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		Fill(v.Elem(), n+1, sparse, special)
	case reflect.Slice:
		size := 2
		if sparse != nil && sparse.IntN(4) == 0 {
			size = 0
		}
		v.Set(reflect.MakeSlice(v.Type(), size, size))
		for i := range size {
			Fill(v.Index(i), n+i+1, sparse, special)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			_, needed := special[f.Type] // its zero value is not valid
			if f.IsExported() && (sparse == nil || needed || sparse.IntN(3) != 0) {
				Fill(v.Field(i), n+i, sparse, special)
			}
		}
	default:
		panic("filltest: no value for " + v.Type().String() + " (add its kind, or pass it in special)")
	}
}
