// Package jsonw appends JSON objects field by field, writing byte for byte
// what encoding/json.Marshal writes for the same struct.
//
// It exists for the push hook, which saves a plan and a state per unit in
// a process that lives a few milliseconds: encoding/json's first Marshal of
// a type walks the type by reflection to build its encoder, some 0.3 ms
// for a plan, more than the hook's own work per unit. The types written
// with it keep their json tags (readers decode them with encoding/json),
// and their tests compare both encodings of every field.
package jsonw

import (
	"encoding"
	"encoding/base64"
	"strconv"
	"time"
	"unicode/utf8"
)

// Writer appends one JSON value to B. Keys are written as given: they are
// the constant names of the json tags, never user data. The first error
// (a value that cannot be encoded) is kept in Err and ends the writing.
type Writer struct {
	B   []byte
	Err error
	// comma: a value was written in the current object or array, so the
	// next key or element needs a separator.
	comma bool
}

// Open starts an object (a value: after Key or Elem, or at the top).
func (w *Writer) Open() { w.B = append(w.B, '{'); w.comma = false }

// Close ends an object.
func (w *Writer) Close() { w.B = append(w.B, '}'); w.comma = true }

// OpenArray starts an array; each element starts with Elem.
func (w *Writer) OpenArray() { w.B = append(w.B, '['); w.comma = false }

// CloseArray ends an array.
func (w *Writer) CloseArray() { w.B = append(w.B, ']'); w.comma = true }

// Elem starts the next element of an array.
func (w *Writer) Elem() {
	if w.comma {
		w.B = append(w.B, ',')
	}
	w.comma = false
}

// Key starts the field k of an object; its value follows.
func (w *Writer) Key(k string) {
	if w.comma {
		w.B = append(w.B, ',')
	}
	w.B = append(w.B, '"')
	w.B = append(w.B, k...)
	w.B = append(w.B, '"', ':')
	w.comma = false
}

// Null writes null (a nil pointer or slice without omitempty).
func (w *Writer) Null() { w.B = append(w.B, "null"...); w.comma = true }

// String writes s as a JSON string, escaped as encoding/json escapes it.
func (w *Writer) String(s string) { w.B = appendString(w.B, s); w.comma = true }

// Int writes n.
func (w *Writer) Int(n int64) { w.B = strconv.AppendInt(w.B, n, 10); w.comma = true }

// Uint writes n.
func (w *Writer) Uint(n uint64) { w.B = strconv.AppendUint(w.B, n, 10); w.comma = true }

// Bool writes b.
func (w *Writer) Bool(b bool) { w.B = strconv.AppendBool(w.B, b); w.comma = true }

// Time writes t as time.Time's MarshalJSON does.
func (w *Writer) Time(t time.Time) {
	b, err := t.MarshalJSON()
	w.fail(err)
	w.B = append(w.B, b...)
	w.comma = true
}

// Text writes what v's MarshalText gives, as a string.
func (w *Writer) Text(v encoding.TextMarshaler) {
	b, err := v.MarshalText()
	w.fail(err)
	w.B = appendString(w.B, b)
	w.comma = true
}

// Bytes writes b as base64 (null when nil), as encoding/json writes []byte.
func (w *Writer) Bytes(b []byte) {
	if b == nil {
		w.Null()
		return
	}
	w.B = append(w.B, '"')
	w.B = base64.StdEncoding.AppendEncode(w.B, b)
	w.B = append(w.B, '"')
	w.comma = true
}

func (w *Writer) fail(err error) {
	if err != nil && w.Err == nil {
		w.Err = err
	}
}

// Fields with their json tag's omitempty or omitzero: nothing is written
// for the empty value.

// StringField writes field k, omitting it when omit and s is empty.
func (w *Writer) StringField(k, s string, omit bool) {
	if omit && s == "" {
		return
	}
	w.Key(k)
	w.String(s)
}

// IntField writes field k, omitting it when omit and n is 0.
func (w *Writer) IntField(k string, n int64, omit bool) {
	if omit && n == 0 {
		return
	}
	w.Key(k)
	w.Int(n)
}

// UintField writes field k, omitting it when omit and n is 0.
func (w *Writer) UintField(k string, n uint64, omit bool) {
	if omit && n == 0 {
		return
	}
	w.Key(k)
	w.Uint(n)
}

// BoolField writes field k, omitting it when omit and b is false.
func (w *Writer) BoolField(k string, b, omit bool) {
	if omit && !b {
		return
	}
	w.Key(k)
	w.Bool(b)
}

// TimeField writes field k, omitting it when omit and t.IsZero()
// (omitzero).
func (w *Writer) TimeField(k string, t time.Time, omit bool) {
	if omit && t.IsZero() {
		return
	}
	w.Key(k)
	w.Time(t)
}

// TextsField writes field k, an array of what each MarshalText gives
// (null when nil), omitting it when omit and vs is empty.
func TextsField[T encoding.TextMarshaler](w *Writer, k string, vs []T, omit bool) {
	ArrayField(w, k, vs, omit, func(v *T) { w.Text(*v) })
}

// ArrayField writes field k, an array of vs, each written by elem (null
// when vs is nil), omitting it when omit and vs is empty.
func ArrayField[T any](w *Writer, k string, vs []T, omit bool, elem func(*T)) {
	if omit && len(vs) == 0 {
		return
	}
	w.Key(k)
	if vs == nil {
		w.Null()
		return
	}
	w.OpenArray()
	for i := range vs {
		w.Elem()
		elem(&vs[i])
	}
	w.CloseArray()
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string to dst, escaped as encoding/json
// escapes it (with its HTML escaping: <, > and & as \u00XX; U+2028 and
// U+2029 escaped; invalid UTF-8 as U+FFFD).
func appendString[S ~string | ~[]byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		n := min(len(s)-i, utf8.UTFMax)
		c, size := utf8.DecodeRuneInString(string(s[i : i+n]))
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
