package plan

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestEncodeString(t *testing.T) {
	for _, s := range []string{"", "main", "caf\xe9", "\xff\xfe", "ü", "\U0010FFFD", "\U0010FFFF", "\U0010FFFD\U0010FE41", "a\U0010FFFDb\xe9c", "\xed\xa0\x80", "\uFFFD"} {
		e := EncodeString(s)
		if !utf8.ValidString(e) {
			t.Errorf("EncodeString(%q) = %q is not UTF-8", s, e)
		}
		if d := DecodeString(e); d != s {
			t.Errorf("DecodeString(EncodeString(%q)) = %q", s, d)
		}
		if utf8.ValidString(s) && !containsEsc(s) && e != s {
			t.Errorf("EncodeString(%q) = %q changed a plain string", s, e)
		}
	}
	if DecodeString("caf\xe9") != "caf\xe9" {
		t.Error("raw bytes did not pass through DecodeString")
	}
}

func containsEsc(s string) bool {
	for _, r := range s {
		if r == escRune {
			return true
		}
	}
	return false
}

// TestSaveKeepsBytes: a plan marshalled and loaded holds the same bytes in
// every string, where JSON alone would give U+FFFD.
func TestSaveKeepsBytes(t *testing.T) {
	ref := "refs/heads/caf\xe9"
	u := &Unit{
		Version: Version, Name: "git-x-r.service", Job: "x", Repo: "r\xff", RepoPath: "/srv/r\xff.git",
		Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Refs:    []Ref{{Ref: ref, Branch: "caf\xe9", Old: "1", New: "2", Event: "update"}},
		Steps:   []Step{{Name: "x", Type: "command", Argv: []string{"/bin/echo", "caf\xe9", "\U0010FFFD"}}},
		Env:     []string{"HOOKRUN_REF=" + ref},
		Dir:     "/srv/r\xff.git",
	}
	orig := *u
	p := filepath.Join(t.TempDir(), "u.json")
	b, err := u.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*u, orig) {
		t.Error("Marshal changed the unit")
	}
	got, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, u) {
		t.Errorf("Load = %+v\nwant %+v", got, u)
	}
}

// FuzzEncodeString: any string survives EncodeString and DecodeString byte
// for byte, and its encoding is UTF-8 that D-Bus (sd-bus) accepts: no
// surrogates and no noncharacters.
func FuzzEncodeString(f *testing.F) {
	for _, s := range []string{"refs/heads/caf\xe9", "\U0010FFFD\xff", "plain", "\U0010FFFD\U0010FE41"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := EncodeString(s)
		if !utf8.ValidString(e) {
			t.Fatalf("EncodeString(%q) = %q is not UTF-8", s, e)
		}
		for _, r := range e {
			if r >= 0xFDD0 && r <= 0xFDEF || r&0xFFFE == 0xFFFE {
				if !strings.ContainsRune(s, r) {
					t.Fatalf("EncodeString(%q) added the noncharacter %U", s, r)
				}
			}
		}
		if d := DecodeString(e); d != s {
			t.Fatalf("DecodeString(EncodeString(%q)) = %q", s, d)
		}
	})
}
