package plan

import (
	"reflect"
	"strings"
	"unicode/utf8"
)

// Refnames and repository paths need not be valid UTF-8 (git takes any
// bytes but a few), while JSON and D-Bus strings must be: encoding/json
// would save "caf\xe9" as "caf\uFFFD". EncodeString and DecodeString carry
// such strings byte for byte through them (a private-use code point: sd-bus
// refuses noncharacters such as U+10FFFF): every byte that is not part of
// valid UTF-8 becomes the escape rune U+10FFFD followed by U+10FE00+byte,
// and a literal U+10FFFD is doubled. A valid string without U+10FFFD (all
// but hostile ones) is its own encoding.
const (
	escRune  = '\U0010FFFD'
	byteBase = 0x10FE00
)

// EncodeString is s as valid UTF-8 that DecodeString turns back into s.
func EncodeString(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, escRune) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteRune(escRune)
			b.WriteRune(rune(byteBase + int(s[i])))
		case r == escRune:
			b.WriteRune(escRune)
			b.WriteRune(escRune)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// DecodeString reverses EncodeString. A string that holds no U+10FFFD is
// returned as it is, so raw bytes pass through unchanged.
func DecodeString(s string) string {
	if !strings.ContainsRune(s, escRune) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == escRune && i+n < len(s) {
			r2, n2 := utf8.DecodeRuneInString(s[i+n:])
			switch {
			case r2 == escRune:
				b.WriteRune(escRune)
				i += n + n2
				continue
			case byteBase <= r2 && r2 <= byteBase+0xff:
				b.WriteByte(byte(r2 - byteBase))
				i += n + n2
				continue
			}
		}
		b.WriteString(s[i : i+n])
		i += n
	}
	return b.String()
}

// mapStrings is a deep copy of v with f applied to every string in it
// (struct fields, slice and map elements, map keys), []byte left alone.
func mapStrings(v reflect.Value, f func(string) string) reflect.Value {
	switch v.Kind() {
	case reflect.String:
		n := reflect.New(v.Type()).Elem()
		n.SetString(f(v.String()))
		return n
	case reflect.Struct:
		n := reflect.New(v.Type()).Elem()
		n.Set(v)
		for i := 0; i < v.NumField(); i++ {
			if n.Field(i).CanSet() {
				n.Field(i).Set(mapStrings(v.Field(i), f))
			}
		}
		return n
	case reflect.Slice:
		if v.IsNil() || v.Type().Elem().Kind() == reflect.Uint8 {
			return v
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			n.Index(i).Set(mapStrings(v.Index(i), f))
		}
		return n
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		n := reflect.New(v.Type().Elem())
		n.Elem().Set(mapStrings(v.Elem(), f))
		return n
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			n.SetMapIndex(mapStrings(it.Key(), f), mapStrings(it.Value(), f))
		}
		return n
	}
	return v
}

// anyString reports whether some string in v satisfies pred.
func anyString(v reflect.Value, pred func(string) bool) bool {
	switch v.Kind() {
	case reflect.String:
		return pred(v.String())
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() && anyString(v.Field(i), pred) {
				return true
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.Uint8 {
			for i := 0; i < v.Len(); i++ {
				if anyString(v.Index(i), pred) {
					return true
				}
			}
		}
	case reflect.Pointer:
		return !v.IsNil() && anyString(v.Elem(), pred)
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if anyString(it.Key(), pred) || anyString(it.Value(), pred) {
				return true
			}
		}
	}
	return false
}

// decoded is u with EncodeString reversed (a copy when anything changes).
func (u *Unit) decoded() *Unit {
	if !anyString(reflect.ValueOf(u), func(s string) bool { return strings.ContainsRune(s, escRune) }) {
		return u
	}
	return mapStrings(reflect.ValueOf(u), DecodeString).Interface().(*Unit)
}
