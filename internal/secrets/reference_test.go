package secrets

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// referenceScan is gitleaks' way, without the scanner's shortcuts: every
// rule whose keyword appears anywhere runs its regexp over all of data.
// The scanner must find what it finds.
func referenceScan(c *Config, data []byte, path string) []string {
	c.prepare()
	s := &scan{c: c, path: path, commit: "c", state: make([]uint8, len(c.Rules))}
	var out []string
	if bytes.IndexByte(data[:min(len(data), sniffLen)], 0) >= 0 {
		return nil
	}
	low := bytes.ToLower(data)
	var found []Finding
	lines := lineCounter{data: data, line: 1}
	for i, r := range c.Rules {
		if r.Regex == "" || !s.ruleApplies(i) {
			continue
		}
		if len(r.Keywords) > 0 && !slices.ContainsFunc(r.Keywords, func(k string) bool { return bytes.Contains(low, []byte(k)) }) {
			continue
		}
		re := r.prog().re
		for _, m := range re.FindAllSubmatchIndex(data, -1) {
			if f, ok := s.match(r, re, data, 0, m, &lines); ok {
				found = append(found, f)
			}
		}
	}
	s.fn = func(f Finding) { out = append(out, f.Fingerprint()) }
	s.emitFiltered(found)
	slices.Sort(out)
	return out
}

func scanPrints(t testing.TB, c *Config, data []byte, path string) []string {
	var out []string
	if err := c.Scan(bytes.NewReader(data), path, "c", func(f Finding) {
		if f.Line > 0 {
			out = append(out, f.Fingerprint())
		}
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestAgainstReference: on the corpus, each case alone and all of them in
// one file, the scanner finds what the plain way finds.
func TestAgainstReference(t *testing.T) {
	var all strings.Builder
	for _, cc := range corpus() {
		all.WriteString(cc.content)
		if got, want := scanPrints(t, Default(), []byte(cc.content), cc.file), referenceScan(Default(), []byte(cc.content), cc.file); !slices.Equal(got, want) {
			t.Errorf("%s: scanner %q, reference %q", cc.name, got, want)
		}
	}
	data := []byte(all.String())
	if got, want := scanPrints(t, Default(), data, "all.txt"), referenceScan(Default(), data, "all.txt"); !slices.Equal(got, want) {
		t.Errorf("all: scanner %q\nreference %q", got, want)
	}
}

// FuzzAgainstReference: on any content, what the plain way finds, the
// scanner finds (it may find more only where a window's end stands in
// for the end of the content; the reference is run on lines whole).
func FuzzAgainstReference(f *testing.F) {
	for _, cc := range corpus() {
		f.Add([]byte(cc.content))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		got, want := scanPrints(t, Default(), data, "f.txt"), referenceScan(Default(), data, "f.txt")
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Fatalf("reference finds %s, scanner %q", w, got)
			}
		}
	})
}
