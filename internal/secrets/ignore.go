package secrets

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Ignore is a set of fingerprints, as a .gitleaksignore lists them, one a
// line: COMMIT:FILE:RULE-ID:LINE for one finding in one commit, or
// FILE:RULE-ID:LINE for that finding in any commit. Blank lines and lines
// starting with # are skipped.
type Ignore map[string]bool

// MaxIgnoreSize bounds a fingerprint file.
const MaxIgnoreSize = 4 << 20

// ReadIgnore adds the fingerprints r lists to ig (made if nil) and returns
// it; a malformed line is an error naming its number.
func ReadIgnore(ig Ignore, r io.Reader, name string) (Ignore, error) {
	if ig == nil {
		ig = Ignore{}
	}
	sc := bufio.NewScanner(io.LimitReader(r, MaxIgnoreSize))
	sc.Buffer(nil, 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s := strings.Split(line, ":")
		switch len(s) {
		case 3:
			s[0] = strings.ReplaceAll(s[0], `\`, "/")
		case 4:
			s[1] = strings.ReplaceAll(s[1], `\`, "/")
		default:
			// gitleaks warns and goes on; a path with ':' in it can still
			// be listed whole.
		}
		ig[strings.Join(s, ":")] = true
	}
	if err := sc.Err(); err != nil {
		return ig, fmt.Errorf("%s: %w", name, err)
	}
	return ig, nil
}

// Has reports whether ig lists f, by its fingerprint or (as gitleaks) by
// the same without the commit.
func (ig Ignore) Has(f Finding) bool {
	if len(ig) == 0 {
		return false
	}
	g := f
	g.Commit = ""
	return ig[g.Fingerprint()] || (f.Commit != "" && ig[f.Fingerprint()])
}
