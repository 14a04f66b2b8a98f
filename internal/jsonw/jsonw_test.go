package jsonw

import (
	"encoding/json"
	"testing"
	"time"
)

var samples = []string{
	"", "plain", `quote " and \ backslash`, "<script>&amp;</script>",
	"\x00\x01\x1f\x7f", "\b\f\n\r\t", "é ü 日本", "\u2028\u2029", "bad \xff\xfe utf-8 \xc3",
	"\xed\xa0\x80 surrogate", "ok\U0001F600",
}

func TestAppendStringIsEncodingJSONs(t *testing.T) {
	for _, s := range samples {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
		if got := appendString(nil, []byte(s)); string(got) != string(want) {
			t.Fatalf("appendString([]byte(%q)) = %s, want %s", s, got, want)
		}
	})
}

type kind string

func (k kind) MarshalText() ([]byte, error) { return []byte("k-" + k), nil }

func TestWriterIsEncodingJSONs(t *testing.T) {
	type inner struct {
		A string `json:"a"`
	}
	type all struct {
		S     string        `json:"s"`
		SO    string        `json:"so,omitempty"`
		I     int           `json:"i"`
		IO    int           `json:"io,omitempty"`
		U     uint64        `json:"u"`
		B     bool          `json:"b,omitempty"`
		T     time.Time     `json:"t"`
		TZ    time.Time     `json:"tz,omitzero"`
		D     time.Duration `json:"d,omitempty"`
		SS    []string      `json:"ss"`
		SSO   []string      `json:"sso,omitempty"`
		By    []byte        `json:"by,omitempty"`
		K     []kind        `json:"k,omitempty"`
		KN    []kind        `json:"kn"`
		P     *inner        `json:"p,omitempty"`
		Inner []inner       `json:"inner"`
	}
	write := func(v all) []byte {
		var w Writer
		w.Open()
		w.StringField("s", v.S, false)
		w.StringField("so", v.SO, true)
		w.IntField("i", int64(v.I), false)
		w.IntField("io", int64(v.IO), true)
		w.UintField("u", v.U, false)
		w.BoolField("b", v.B, true)
		w.TimeField("t", v.T, false)
		w.TimeField("tz", v.TZ, true)
		w.IntField("d", int64(v.D), true)
		ArrayField(&w, "ss", v.SS, false, func(s *string) { w.String(*s) })
		ArrayField(&w, "sso", v.SSO, true, func(s *string) { w.String(*s) })
		if len(v.By) > 0 {
			w.Key("by")
			w.Bytes(v.By)
		}
		TextsField(&w, "k", v.K, true)
		TextsField(&w, "kn", v.KN, false)
		if v.P != nil {
			w.Key("p")
			w.Open()
			w.StringField("a", v.P.A, false)
			w.Close()
		}
		w.Key("inner")
		if v.Inner == nil {
			w.Null()
		} else {
			w.OpenArray()
			for _, in := range v.Inner {
				w.Elem()
				w.Open()
				w.StringField("a", in.A, false)
				w.Close()
			}
			w.CloseArray()
		}
		w.Close()
		if w.Err != nil {
			t.Fatal(w.Err)
		}
		return w.B
	}
	at := time.Date(2026, 12, 7, 15, 4, 5, 123456789, time.FixedZone("x", 3600))
	for _, v := range []all{
		{},
		{S: "a<b", SO: "x", I: -3, IO: 4, U: 1 << 63, B: true, T: at, TZ: at, D: time.Second,
			SS: []string{}, SSO: []string{"1", "2"}, By: []byte{0, 1, 0xff}, K: []kind{"a", "b"}, KN: []kind{},
			P: &inner{A: "p"}, Inner: []inner{{A: "1"}, {A: "2"}}},
	} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := write(v); string(got) != string(want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}
