package match

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gobwas/glob"
)

const (
	zero = "0000000000000000000000000000000000000000"
	a    = "1111111111111111111111111111111111111111"
	b    = "2222222222222222222222222222222222222222"
	a256 = "1111111111111111111111111111111111111111111111111111111111111111"
	b256 = "2222222222222222222222222222222222222222222222222222222222222222"
)

func TestParseRefLine(t *testing.T) {
	tests := []struct {
		line    string
		want    RefUpdate
		wantErr string
	}{
		{a + " " + b + " refs/heads/main", RefUpdate{a, b, "refs/heads/main"}, ""},
		{a256 + " " + b256 + " refs/tags/v1.0", RefUpdate{a256, b256, "refs/tags/v1.0"}, ""},
		{zero + " " + b + " refs/heads/feature/x", RefUpdate{zero, b, "refs/heads/feature/x"}, ""},
		{a + " " + b + " refs/heads/ünïcode-ブランチ", RefUpdate{a, b, "refs/heads/ünïcode-ブランチ"}, ""},
		{a + " " + b + " refs/heads/$(touch${IFS}x)`y`;z|w&v'q\"", RefUpdate{a, b, "refs/heads/$(touch${IFS}x)`y`;z|w&v'q\""}, ""},
		{"", RefUpdate{}, "want"},
		{a + " " + b, RefUpdate{}, "want"},
		{a + " " + b + " main", RefUpdate{}, `does not start with "refs/"`},
		{"xyz " + b + " refs/heads/main", RefUpdate{}, "not a 40"},
		{"ABCDEF" + a[6:] + " " + b + " refs/heads/main", RefUpdate{}, "not lower-case hex"},
		{a + " " + b256 + " refs/heads/main", RefUpdate{}, "differ in length"},
		{zero + " " + zero + " refs/heads/main", RefUpdate{}, "both zero"},
		{a + " " + b + " refs/heads/a b", RefUpdate{}, `contains ' '`},
		{a + " " + b + " refs/heads/a\x01b", RefUpdate{}, "control character"},
		{a + " " + b + " refs/heads/a\x7fb", RefUpdate{}, "control character"},
		{a + " " + b + " refs/heads/a..b", RefUpdate{}, `".."`},
		{a + " " + b + " refs/heads/x.lock", RefUpdate{}, ".lock"},
		{a + " " + b + " refs/heads/.hidden", RefUpdate{}, `starting with "."`},
		{a + " " + b + " refs/heads/a~1", RefUpdate{}, `contains '~'`},
		{a + " " + b + " refs/heads/a@{1}", RefUpdate{}, `"@{"`},
		{a + " " + b + " refs/heads/", RefUpdate{}, `ends with`},
	}
	for _, tt := range tests {
		got, err := ParseRefLine(tt.line)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseRefLine(%q) error = %v, want %q", tt.line, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseRefLine(%q) = %+v, %v; want %+v", tt.line, got, err, tt.want)
		}
	}
}

func TestParseRefLinesKeepsValidLines(t *testing.T) {
	in := a + " " + b + " refs/heads/main\n" +
		"garbage\n" +
		"\n" +
		zero + " " + b + " refs/tags/v1\r\n"
	ups, err := ParseRefLines(strings.NewReader(in))
	if len(ups) != 2 || ups[1].Name != "refs/tags/v1" {
		t.Fatalf("valid lines = %+v", ups)
	}
	var le *LineError
	if !errors.As(err, &le) || le.Line != 2 {
		t.Fatalf("err = %v, want a LineError for line 2", err)
	}
}

func TestParseRefLinesLimits(t *testing.T) {
	long := a + " " + b + " refs/heads/" + strings.Repeat("x", MaxLineBytes)
	_, err := ParseRefLines(strings.NewReader(long + "\n"))
	if err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("oversized line: err = %v", err)
	}
	// 250-byte refnames are fine.
	name := "refs/heads/" + strings.Repeat("n", 250)
	ups, err := ParseRefLines(strings.NewReader(a + " " + b + " " + name + "\n"))
	if err != nil || len(ups) != 1 || ups[0].Name != name {
		t.Fatalf("250-byte name: %v %v", ups, err)
	}
}

type fakeAncestry struct {
	ff    bool
	calls int
}

func (f *fakeAncestry) IsAncestor(old, new string) (bool, error) {
	f.calls++
	return f.ff, nil
}

func TestEvent(t *testing.T) {
	tests := []struct {
		u    RefUpdate
		ff   bool
		want Event
		asks int
	}{
		{RefUpdate{zero, b, "refs/heads/x"}, true, Create, 0},
		{RefUpdate{a, zero, "refs/heads/x"}, true, Delete, 0},
		{RefUpdate{a, b, "refs/heads/x"}, true, Update, 1},
		{RefUpdate{a, b, "refs/heads/x"}, false, Force, 1},
		{RefUpdate{zero[:0] + strings.Repeat("0", 64), b256, "refs/heads/x"}, true, Create, 0},
	}
	for _, tt := range tests {
		anc := &fakeAncestry{ff: tt.ff}
		got, err := tt.u.Event(anc)
		if err != nil || got != tt.want || anc.calls != tt.asks {
			t.Errorf("%+v: Event = %v (%v), git asked %d times; want %v, %d", tt.u, got, err, anc.calls, tt.want, tt.asks)
		}
	}
	if ev, _ := (RefUpdate{a, b, "refs/heads/x"}).Event(nil); ev != Update {
		t.Errorf("without ancestry a change is an update, got %v", ev)
	}
}

func TestPatterns(t *testing.T) {
	tests := []struct {
		pats []string
		name string
		want bool
	}{
		{[]string{"main"}, "main", true},
		{[]string{"main"}, "main2", false},
		{[]string{"*"}, "main", true},
		{[]string{"*"}, "feature/x", false}, // * does not cross /
		{[]string{"**"}, "feature/x/y", true},
		{[]string{"feature/*"}, "feature/x", true},
		{[]string{"feature/*"}, "feature/x/y", false},
		{[]string{"feature/**"}, "feature/x/y", true},
		{[]string{"feature/**", "!feature/wip-*"}, "feature/wip-1", false},
		{[]string{"feature/**", "!feature/wip-*"}, "feature/a/wip-1", true},
		{[]string{"v*"}, "v1.2.3", true},
		{[]string{"v[0-9]*"}, "vx", false},
		{[]string{"release-{a,b}"}, "release-b", true},
		{[]string{"!main"}, "main", false}, // only exclusions select nothing
		{[]string{"!main"}, "dev", false},
		{nil, "main", false},
		{[]string{"ü*"}, "übung", true},
		// File paths (rules' paths): "**/" also matches no directory.
		{[]string{"src/**", "!src/**/*_test.go"}, "src/a_test.go", false},
		{[]string{"src/**", "!src/**/*_test.go"}, "src/x/y/a_test.go", false},
		{[]string{"src/**", "!src/**/*_test.go"}, "src/x/a.go", true},
		{[]string{"src/**", "!src/**/*_test.go"}, "docs/a.go", false},
		{[]string{"**/*.md"}, "README.md", true},
		{[]string{"**/*.md"}, "docs/a/b.md", true},
		{[]string{"a/**/b"}, "a/b", true},
		{[]string{"a/**/b"}, "a/x/y/b", true},
		{[]string{"a/**/b"}, "ab", false},
		{[]string{"{a,c}/**/b"}, "c/b", true},
		{[]string{`a\*/**/b`}, "a*/b", true},
		{[]string{"docs/*"}, "docs/n\nl", true},       // newline in a file name
		{[]string{"docs/*"}, "docs/caf\xe9.md", true}, // not UTF-8
		{[]string{"docs/**"}, "docs/\xff/x", true},
		{[]string{"go.mod"}, "go.mod", true},
		{[]string{"go.mod"}, "sub/go.mod", false},
	}
	for _, tt := range tests {
		p, err := CompilePatterns(tt.pats)
		if err != nil {
			t.Fatalf("CompilePatterns(%q): %v", tt.pats, err)
		}
		if got := p.Match(tt.name); got != tt.want {
			t.Errorf("%q.Match(%q) = %v, want %v", tt.pats, tt.name, got, tt.want)
		}
	}
	for _, bad := range [][]string{{"[unclosed"}, {"!"}, {""}} {
		if _, err := CompilePatterns(bad); err == nil {
			t.Errorf("CompilePatterns(%q) accepted a bad glob", bad)
		}
	}
}

func TestSelector(t *testing.T) {
	br, _ := CompilePatterns([]string{"main"})
	tg, _ := CompilePatterns([]string{"v*"})
	any, _ := CompilePatterns([]string{"**"})
	certText := "certificate version 0.1\npusher Alice <a@x> 1700000000 +0000\nnonce N1\n\n" + a + " " + b + " refs/heads/main\n-----BEGIN PGP SIGNATURE-----\nx\n-----END PGP SIGNATURE-----\n"
	cert, err := ParseCertificate([]byte(certText))
	if err != nil {
		t.Fatal(err)
	}
	good := PushCert{Status: "G", Signer: "Alice <a@x>", Key: "KEY1", Nonce: "OK", Blob: "b10b", NonceValue: "N1", Cert: cert}
	spoofed := PushCert{Status: "G", Signer: "Alice <a@x>", Key: "KEY1", Nonce: "OK"}
	otherNonce, otherRef, otherUpdate := good, good, good
	otherNonce.NonceValue = "N2"
	unread := good
	unread.Cert, unread.CertErr = nil, errors.New("not in the repository")
	tests := []struct {
		name string
		s    Selector
		u    RefUpdate
		ev   Event
		cert PushCert
		want bool
	}{
		{"branch", Selector{Branches: br}, RefUpdate{a, b, "refs/heads/main"}, Update, PushCert{}, true},
		{"branch glob is not a tag glob", Selector{Branches: br}, RefUpdate{a, b, "refs/tags/main"}, Update, PushCert{}, false},
		{"tag", Selector{Tags: tg}, RefUpdate{zero, b, "refs/tags/v1"}, Create, PushCert{}, true},
		{"other namespace", Selector{Branches: br}, RefUpdate{a, b, "refs/notes/main"}, Update, PushCert{}, false},
		{"delete not default", Selector{Branches: br}, RefUpdate{a, zero, "refs/heads/main"}, Delete, PushCert{}, false},
		{"delete when asked", Selector{Branches: br, Events: []Event{Delete}}, RefUpdate{a, zero, "refs/heads/main"}, Delete, PushCert{}, true},
		{"force excluded", Selector{Branches: br, Events: []Event{Update}}, RefUpdate{a, b, "refs/heads/main"}, Force, PushCert{}, false},
		{"signed needs G", Selector{Branches: br, Signed: true}, RefUpdate{a, b, "refs/heads/main"}, Update, PushCert{Status: "B"}, false},
		{"signed ok", Selector{Branches: br, Signed: true}, RefUpdate{a, b, "refs/heads/main"}, Update, good, true},
		{"signer by name", Selector{Branches: br, Signed: true, Signers: []string{"Alice <a@x>"}}, RefUpdate{a, b, "refs/heads/main"}, Update, good, true},
		{"signer by key", Selector{Branches: br, Signed: true, Signers: []string{"KEY1"}}, RefUpdate{a, b, "refs/heads/main"}, Update, good, true},
		{"replayed certificate", Selector{Branches: br, Signed: true}, RefUpdate{a, b, "refs/heads/main"}, Update, PushCert{Status: "G", Signer: "Alice <a@x>", Nonce: "BAD"}, false},
		{"no nonce asked", Selector{Branches: br, Signed: true}, RefUpdate{a, b, "refs/heads/main"}, Update, PushCert{Status: "G", Signer: "Alice <a@x>"}, false},
		{"other signer", Selector{Branches: br, Signed: true, Signers: []string{"Bob"}}, RefUpdate{a, b, "refs/heads/main"}, Update, good, false},
		{"variables without a certificate", Selector{Branches: br, Signed: true}, RefUpdate{a, b, "refs/heads/main"}, Update, spoofed, false},
		{"certificate not readable", Selector{Branches: br, Signed: true}, RefUpdate{a, b, "refs/heads/main"}, Update, unread, false},
		{"certificate of another nonce", Selector{Branches: br, Signed: true}, RefUpdate{a, b, "refs/heads/main"}, Update, otherNonce, false},
		{"certificate of another ref", Selector{Branches: any, Signed: true}, RefUpdate{a, b, "refs/heads/mainx"}, Update, otherRef, false},
		{"certificate of another update", Selector{Branches: br, Signed: true}, RefUpdate{b, a, "refs/heads/main"}, Force, otherUpdate, false},
	}
	for _, tt := range tests {
		kind, short := tt.u.Short()
		got := Verdict{Reason: "ref not selected"}
		if tt.s.MatchName(kind, short) {
			got = tt.s.Decide(tt.u, tt.ev, tt.cert)
		}
		if got.Match != tt.want {
			t.Errorf("%s: Match = %+v, want %v", tt.name, got, tt.want)
		}
	}
	if (&Selector{}).NeedsAncestry() {
		t.Error("default events (update and force) need no ancestry")
	}
	if !(&Selector{Events: []Event{Update}}).NeedsAncestry() {
		t.Error("update without force needs ancestry")
	}
}

func FuzzParseRefLine(f *testing.F) {
	f.Add(a + " " + b + " refs/heads/main")
	f.Add(zero + " " + b256[:40] + " refs/tags/v1")
	f.Add(a256 + " " + b256 + " refs/heads/x/y")
	f.Add("garbage")
	f.Add(a + " " + b + " refs/heads/$(id)\x01")
	f.Fuzz(func(t *testing.T, line string) {
		u, err := ParseRefLine(line)
		if err != nil {
			return
		}
		// Anything accepted is a well-formed update git could have sent.
		if CheckRefName(u.Name) != nil || len(u.Old) != len(u.New) || u.Old+" "+u.New+" "+u.Name != line {
			t.Fatalf("accepted %q as %+v", line, u)
		}
		if strings.ContainsAny(u.Name, " \t\n\x00") {
			t.Fatalf("accepted a refname with whitespace or NUL: %q", u.Name)
		}
	})
}

func FuzzPatterns(f *testing.F) {
	f.Add("feature/**", "feature/a/b")
	f.Add("!v*", "v1")
	f.Add("[a-", "a")
	f.Add("{a,b", "b")
	f.Add("**/0", "0")
	f.Fuzz(func(t *testing.T, pat, name string) {
		p, err := CompilePatterns([]string{pat})
		if err != nil {
			return
		}
		// The shortcuts for common shapes agree with the glob library
		// (given the same "**/ also matches no directory" rewrite).
		g, _ := glob.Compile(zeroDirs(strings.TrimPrefix(pat, "!")), '/')
		want := g.Match(name) && !strings.HasPrefix(pat, "!")
		if got := p.Match(name); got != want {
			t.Fatalf("pattern %q, name %q: Match = %v, glob says %v", pat, name, got, want)
		}
	})
}

func BenchmarkMatch10kRefs100Rules(b *testing.B) {
	sels := make([]*Selector, 100)
	for i := range sels {
		br, _ := CompilePatterns([]string{"feature/team" + string(rune('a'+i%26)) + "/**", "!feature/*/wip-*", "release/v" + strings.Repeat("1", i%5+1) + ".*"})
		tg, _ := CompilePatterns([]string{"v*", "!v*-rc*"})
		sels[i] = &Selector{Branches: br, Tags: tg}
	}
	ups := make([]RefUpdate, 10_000)
	for i := range ups {
		name := "refs/heads/feature/team" + string(rune('a'+i%26)) + "/topic-" + strings.Repeat("x", i%17)
		if i%10 == 0 {
			name = "refs/tags/v1." + strings.Repeat("2", i%7)
		}
		ups[i] = RefUpdate{a, "2222222222222222222222222222222222222222", name}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for _, u := range ups {
			kind, short := u.Short() // once per ref, as resolve does
			for _, s := range sels {
				if s.MatchName(kind, short) && s.Decide(u, Update, PushCert{}).Match {
					n++
				}
			}
		}
		if n == 0 {
			b.Fatal("nothing matched")
		}
	}
}

func TestParseRefLinesTooMany(t *testing.T) {
	line := a + " " + b + " refs/heads/x\n"
	in := strings.NewReader(strings.Repeat(line, MaxRefs+5))
	ups, err := ParseRefLines(in)
	if err == nil || !strings.Contains(err.Error(), "more than 100000 ref updates") || len(ups) != MaxRefs {
		t.Fatalf("%d updates, err %v", len(ups), err)
	}
}

// BenchmarkParseRefLines1000 is a 1,000-ref push's input.
func BenchmarkParseRefLines1000(b *testing.B) {
	var sb strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&sb, "%s %s refs/heads/p%d\n", strings.Repeat("a", 40), strings.Repeat("b", 40), i)
	}
	in := sb.String()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRefLines(strings.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMatchFiles(t *testing.T) {
	src, _ := CompilePatterns([]string{"src/**", "!src/**/*_test.go"})
	tests := []struct {
		name  string
		paths *Patterns
		files []string
		want  string
		ok    bool
	}{
		{"no paths selects every update", nil, nil, "", true},
		{"no paths, files", nil, []string{"a"}, "", true},
		{"first match reported", src, []string{"README.md", "src/a_test.go", "src/a.go", "src/b.go"}, "src/a.go", true},
		{"only excluded files", src, []string{"src/a_test.go", "src/x/b_test.go"}, "", false},
		{"no changed file", src, nil, "", false},
	}
	for _, tt := range tests {
		s := Selector{Paths: tt.paths}
		if got, ok := s.MatchFiles(tt.files); got != tt.want || ok != tt.ok {
			t.Errorf("%s: MatchFiles(%q) = %q, %v; want %q, %v", tt.name, tt.files, got, ok, tt.want, tt.ok)
		}
	}
}
