package secrets

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// Credentials are assembled from parts so this file holds none verbatim.

func scanAll(t testing.TB, c *Config, content, path string) []Finding {
	t.Helper()
	var out []Finding
	if err := c.Scan(strings.NewReader(content), path, "c0ffee", func(f Finding) { out = append(out, f) }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGitLabTokenEndingInDash: a GitLab token may end in '-' or '_'; the
// hand-written pattern hookrun had before (glpat- then [A-Za-z0-9_-]{20}\b)
// could not match one.
func TestGitLabTokenEndingInDash(t *testing.T) {
	for _, tok := range []string{"glpat-" + "aB3dE5gH7jK9mN1pQ2r-", "glpat-" + "aB3dE5gH7jK9mN1pQ2r_"} {
		fs := scanAll(t, Default(), "GITLAB_TOKEN="+tok+"\n", "ci.env")
		if len(fs) != 1 || fs[0].RuleID != "gitlab-pat" || fs[0].Secret != tok || fs[0].Line != 1 {
			t.Errorf("%s: findings %+v, want one gitlab-pat on line 1", tok, fs)
		}
	}
}

var ghp = "ghp_" + "Zx9Kq2Lm4Nw6Pr8St0Uv1Wy3Ab5Cd7Ef9Gh1" // real format, not a live token

func TestScan(t *testing.T) {
	tests := []struct {
		name, path, content string
		want                []string // fingerprints without commit
	}{
		{"empty", "a", "", nil},
		{"plain", "a.txt", "hello\nworld\n", nil},
		{"token", "a.sh", "x\nexport T=" + ghp + "\n", []string{"a.sh:github-pat:2"}},
		{"no newline at end", "a.sh", "T=" + ghp, []string{"a.sh:github-pat:1"}},
		{"crlf", "a.bat", "rem\r\nset T=" + ghp + "\r\n", []string{"a.bat:github-pat:2"}},
		{"gitleaks:allow", "a.sh", "T=" + ghp + " # gitleaks" + ":allow\n", nil},
		{"allow on another line", "a.sh", "# gitleaks" + ":allow\nT=" + ghp + "\n", []string{"a.sh:github-pat:2"}},
		{"global allowlist path", "go.sum", "T=" + ghp + "\n", nil},
		{"binary", "a.bin", "\x00\x01T=" + ghp + "\n", nil},
		{"aws doc example", "a.md", "AKIA" + "IOSFODNN7EXAMPLE\n", nil},
		{"two on a line", "a.env", ghp + " " + ghp + "\n", []string{"a.env:github-pat:1", "a.env:github-pat:1"}},
		{"path-only rule", "certs/client.p12", "", []string{"certs/client.p12:pkcs12-file:0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			err := Default().Scan(strings.NewReader(tt.content), tt.path, "", func(f Finding) { got = append(got, f.Fingerprint()) })
			if err != nil || strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("Scan = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestScanChunks: secrets at and across the chunk boundaries of a large
// file are each found once, on the right line; memory stays bounded.
func TestScanChunks(t *testing.T) {
	filler := strings.Repeat("lorem ipsum dolor sit amet, consectetur adipiscing elit\n", 1000)
	var b strings.Builder
	var want []int
	line := 1
	for b.Len() < 5*chunkSize {
		b.WriteString(filler)
		line += 1000
		// a token right before, on and after where a chunk would end
		pad := strings.Repeat("x", (chunkSize-overlap-b.Len()%chunkSize+chunkSize)%chunkSize%997)
		b.WriteString(pad + " " + ghp + "\n")
		want = append(want, line)
		line++
	}
	var got []int
	err := Default().Scan(strings.NewReader(b.String()), "big.txt", "", func(f Finding) { got = append(got, f.Line) })
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lines %v, %v; want %v", got, err, want)
	}
	// A private key straddling a chunk boundary.
	key := "-----BEGIN " + "RSA PRIVATE KEY-----\n" + strings.Repeat(strings.Repeat("Ab3+", 16)+"\n", 20) + "-----END " + "RSA PRIVATE KEY-----\n"
	lines := (chunkSize - overlap - 600) / 57
	content := strings.Repeat("lorem ipsum dolor sit amet, consectetur adipiscing elit\n", lines) + key + filler
	got = nil
	err = Default().Scan(strings.NewReader(content), "k.pem", "", func(f Finding) { got = append(got, f.Line) })
	if err != nil || fmt.Sprint(got) != fmt.Sprint([]int{lines + 1}) {
		t.Errorf("key: lines %v, %v; want [%d]", got, err, lines+1)
	}
}

func TestScanMemoryBounded(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("reads 32 MB; the race detector multiplies memory use")
	}
	var before runtime.MemStats
	Default().Scan(strings.NewReader("key = value\n"), "warm.txt", "", func(Finding) {}) // rules loaded, pool filled
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := &peakReader{r: io.LimitReader(repeatReader("lorem ipsum dolor sit amet, key = value\n"), 32<<20)}
	if err := Default().Scan(r, "huge.txt", "", func(Finding) {}); err != nil {
		t.Fatal(err)
	}
	if grew := r.peak - min(r.peak, before.HeapInuse); grew > 12<<20 {
		t.Errorf("heap in use grew %d MB at its peak scanning 32 MB", grew>>20)
	}
}

// peakReader notes the heap in use every 4 MB read.
type peakReader struct {
	r         io.Reader
	n, peak   uint64
	lastCheck uint64
}

func (p *peakReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += uint64(n)
	if p.n-p.lastCheck >= 4<<20 {
		p.lastCheck = p.n
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		p.peak = max(p.peak, m.HeapInuse)
	}
	return n, err
}

type repeatReader string

func (r repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], r)
	}
	return n, nil
}

func TestFindingText(t *testing.T) {
	f := Finding{RuleID: "github-pat", File: "a/b.sh", Commit: "c0ffee", Line: 3, Secret: ghp}
	if got := f.Fingerprint(); got != "c0ffee:a/b.sh:github-pat:3" {
		t.Errorf("Fingerprint = %q", got)
	}
	if got := f.Redacted(); got != "ghp_...9Gh1" {
		t.Errorf("Redacted = %q", got)
	}
	if got := (Finding{Secret: "abcdefgh"}).Redacted(); got != "ab...gh" {
		t.Errorf("Redacted short = %q", got)
	}
}

func TestIgnore(t *testing.T) {
	ig, err := ReadIgnore(nil, strings.NewReader("# comment\n\nc0ffee:a/b.sh:github-pat:3\nwin\\path.txt:jwt:7\n"), "x")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		f    Finding
		want bool
	}{
		{Finding{RuleID: "github-pat", File: "a/b.sh", Commit: "c0ffee", Line: 3}, true},
		{Finding{RuleID: "github-pat", File: "a/b.sh", Commit: "beef", Line: 3}, false},
		{Finding{RuleID: "github-pat", File: "a/b.sh", Commit: "c0ffee", Line: 4}, false},
		{Finding{RuleID: "jwt", File: "win/path.txt", Commit: "any", Line: 7}, true},
	} {
		if got := ig.Has(tt.f); got != tt.want {
			t.Errorf("Has(%s) = %v", tt.f.Fingerprint(), got)
		}
	}
}

func TestMatcher(t *testing.T) {
	kws := []string{"key", "ey", "api", "-----begin", "s.", "hvs."}
	m := newMatcher(kws)
	for _, in := range []string{"", "KEY", "monkey api", "xx-----BEGIN RSA", "hvs.abc s.x", "kekey"} {
		var got, want []string
		m.scan([]byte(in), func(at, kw int) { got = append(got, fmt.Sprint(at, kws[kw])) })
		low := strings.ToLower(in)
		for end := 1; end <= len(low); end++ {
			for _, k := range kws {
				if strings.HasSuffix(low[:end], k) {
					want = append(want, fmt.Sprint(end-len(k), k))
				}
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}

// FuzzScan: any content and path, never a panic or error; every finding's
// line is within the content (0 only for a path-only rule).
func FuzzScan(f *testing.F) {
	f.Add([]byte("T="+ghp+"\n"), "a.sh")
	f.Add([]byte("-----BEGIN "+"EC PRIVATE KEY-----\n"+strings.Repeat("A", 70)+"\n-----END "+"EC PRIVATE KEY-----"), "k")
	f.Add([]byte("api_key = \"Zx9Kq2Lm4Nw6Pr8St0\"\n"), "c.py")
	f.Add([]byte("glpat-"+"aB3dE5gH7jK9mN1pQ2r-"), "x.p12")
	f.Fuzz(func(t *testing.T, data []byte, path string) {
		lines := bytes.Count(data, []byte{'\n'}) + 1
		err := Default().Scan(bytes.NewReader(data), path, "c", func(fd Finding) {
			if fd.Line < 0 || fd.Line > lines || (fd.Line == 0) != strings.HasPrefix(fd.Match, "file detected") {
				t.Fatalf("finding %+v: line out of range (%d lines)", fd, lines)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzParse: a gitleaks config of any text loads or fails with an error,
// never a panic, and what loads scans.
func FuzzParse(f *testing.F) {
	f.Add("[[rules]]\nid = \"x\"\nregex = '''a(b+)c'''\nkeywords = [\"ab\"]\n[[rules.allowlists]]\nstopwords = [\"abbc\"]\n")
	f.Add("[extend]\nuseDefault = true\n[[allowlists]]\ntargetRules = [\"x\"]\npaths = ['''a''']\n")
	f.Fuzz(func(t *testing.T, src string) {
		c, err := Parse(src, "fuzz", nil)
		if err != nil {
			return
		}
		_ = c.Scan(strings.NewReader("abbbc key = 0123456789abcdef\n"), "p", "c", func(Finding) {})
	})
}

// FuzzReadIgnore: any fingerprint file reads without a panic.
func FuzzReadIgnore(f *testing.F) {
	f.Add("c:f:r:1\nf:r:2\n# x\n")
	f.Fuzz(func(t *testing.T, src string) {
		ig, _ := ReadIgnore(nil, strings.NewReader(src), "fuzz")
		_ = ig.Has(Finding{RuleID: "r", File: "f", Commit: "c", Line: 1})
	})
}

// BenchmarkParseDefault is the cost of loading gitleaks' default rules,
// paid once by a push that a secrets = true policy applies to.
func BenchmarkParseDefault(b *testing.B) {
	for b.Loop() {
		if _, err := parse(defaultTOML, "default", nil, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanSmallFiles: 50,000 files of 64 bytes, the blobs of the
// policy benchmark's 10,000-commit push, scanned one by one.
func BenchmarkScanSmallFiles(b *testing.B) {
	data := []byte(strings.Repeat("lorem ipsum dolor sit amet, consectetur adipiscing elit\n", 2)[:64])
	c := Default()
	for b.Loop() {
		for range 50_000 {
			if err := c.Scan(bytes.NewReader(data), "dir/file.txt", "c0ffee", func(Finding) { b.Fatal("finding") }); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// TestScanLinear: content made of keywords (each a place a regexp could
// start) costs regexp work in proportion to its size (at most 8 bytes
// handed to regexps per byte), not to its size times the line length.
func TestScanLinear(t *testing.T) {
	for name, unit := range map[string]string{
		"eyey":        "ey",
		"s.s.":        "s.",
		"key=":        "key=",
		"ghp_":        "ghp_",
		"-----BEGIN ": "-----BEGIN ",
		"token":       "token: ",
		"sk-ant-":     "sk-ant-api03-",
	} {
		for _, nl := range []int{0, 200} {
			var b strings.Builder
			for b.Len() < 256<<10 {
				b.WriteString(unit)
				if nl > 0 && b.Len()%nl < len(unit) {
					b.WriteByte('\n')
				}
			}
			s := &scan{br: bufio.NewReaderSize(nil, sniffLen), buf: make([]byte, 0, chunkSize+overlap+keepBack)}
			if err := Default().scanWith(s, strings.NewReader(b.String()), "x.txt", "", func(Finding) {}); err != nil {
				t.Fatal(err)
			}
			if s.examined > 8*b.Len() {
				t.Errorf("%s (lines of %d): %d bytes examined for %d", name, nl, s.examined, b.Len())
			}
		}
	}
}

// BenchmarkKeywords is the keyword pass alone over 1 MB of Go source
// (this package's, repeated).
func BenchmarkKeywords(b *testing.B) {
	var src []byte
	for _, f := range []string{"scan.go", "config.go", "ahocorasick.go", "ignore.go"} {
		d, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		src = append(src, d...)
	}
	data := bytes.Repeat(src, 1<<20/len(src)+1)[:1<<20]
	c := Default()
	c.prepare()
	b.SetBytes(int64(len(data)))
	n := 0
	for b.Loop() {
		c.ac.scan(data, func(at, kw int) { n++ })
	}
}
