package match

import (
	"fmt"
	"strings"

	"github.com/gobwas/glob"
)

// Patterns is a compiled list of globs on ref names or file paths: `*`
// stays within one path component, `**` crosses `/` (and `**/` also matches
// no directory at all, so "src/**/*_test.go" selects "src/a_test.go"), and a
// leading `!` excludes. A name matches when it matches some include and no
// exclude. Names are bytes: they need not be UTF-8.
type Patterns struct {
	include []pattern
	exclude []pattern
}

// pattern is one glob with its literal prefix: most ref globs start with
// one ("feature/", "v", "main"), and a prefix or equality test rejects most
// names far faster than the glob matcher.
type pattern struct {
	pat    string
	prefix string
	kind   patternKind
	g      *glob.Pattern
}

// The shapes most ref globs have get a direct test; the rest use the glob.
type patternKind uint8

const (
	general  patternKind = iota // anything else: prefix test, then the glob
	exact                       // "main": no wildcard at all
	starTail                    // "feature/*", "v*": prefix, then no '/'
	globTail                    // "feature/**", "**": prefix, then anything
	stars                       // only single '*' wildcards: "feature/*/wip-*", "v*-rc*"
)

func (p *pattern) match(name string) bool {
	switch p.kind {
	case exact:
		return name == p.prefix
	case starTail:
		return strings.HasPrefix(name, p.prefix) && strings.IndexByte(name[len(p.prefix):], '/') < 0
	case globTail:
		return strings.HasPrefix(name, p.prefix)
	case stars:
		return strings.HasPrefix(name, p.prefix) && starsMatch(p.pat, name)
	}
	return strings.HasPrefix(name, p.prefix) && p.g.Match(name)
}

// CompilePatterns compiles globs once, so matching never compiles.
func CompilePatterns(pats []string) (*Patterns, error) {
	p := &Patterns{}
	for _, raw := range pats {
		pat, neg := strings.CutPrefix(raw, "!")
		if pat == "" {
			return nil, fmt.Errorf("glob %q is empty", raw)
		}
		g, err := glob.Compile(zeroDirs(pat), '/')
		if err != nil {
			return nil, fmt.Errorf("glob %q: %v", raw, err)
		}
		c := pattern{g: g, pat: pat}
		if i := strings.IndexAny(pat, `*?[{\`); i >= 0 {
			c.prefix = pat[:i]
			switch {
			case pat[i:] == "*":
				c.kind = starTail
			case pat[i:] == "**":
				c.kind = globTail
			case !strings.ContainsAny(pat, `?[{\`) && !strings.Contains(pat, "**"):
				c.kind = stars
			}
		} else {
			c.prefix, c.kind = pat, exact
		}
		if neg {
			p.exclude = append(p.exclude, c)
		} else {
			p.include = append(p.include, c)
		}
	}
	return p, nil
}

// Empty reports whether the patterns can match nothing (no include glob).
func (p *Patterns) Empty() bool { return p == nil || len(p.include) == 0 }

// MaySlash reports whether a name these patterns select can contain "/":
// some include glob has a "/" or "**", or a class, alternation or escape
// that might stand for one. It errs on the side of yes.
func (p *Patterns) MaySlash() bool {
	if p == nil {
		return false
	}
	for _, c := range p.include {
		if strings.ContainsAny(c.pat, `/[{\`) || strings.Contains(c.pat, "**") {
			return true
		}
	}
	return false
}

// Match reports whether name is selected.
func (p *Patterns) Match(name string) bool {
	if p == nil {
		return false
	}
	hit := false
	for i := range p.include {
		if p.include[i].match(name) {
			hit = true
			break
		}
	}
	if !hit {
		return false
	}
	for i := range p.exclude {
		if p.exclude[i].match(name) {
			return false
		}
	}
	return true
}

// starsMatch matches a pattern whose only wildcard is '*' (never crossing
// '/'): component by component, each with the classic greedy wildcard walk,
// which is exact when no wildcard spans a separator.
func starsMatch(pat, name string) bool {
	for {
		pi := strings.IndexByte(pat, '/')
		ni := strings.IndexByte(name, '/')
		if (pi < 0) != (ni < 0) {
			return false
		}
		if pi < 0 {
			return wildcard(pat, name)
		}
		if !wildcard(pat[:pi], name[:ni]) {
			return false
		}
		pat, name = pat[pi+1:], name[ni+1:]
	}
}

// wildcard matches s against p where '*' matches any run of bytes.
func wildcard(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && p[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			pi, mark = star+1, mark+1
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// zeroDirs rewrites each "**/" that starts a component, outside braces, as
// "{**/,}": gobwas/glob's "**" matches any run of bytes, so "a/**/b" would
// otherwise need a directory between a and b, unlike git's own globs.
func zeroDirs(pat string) string {
	if !strings.Contains(pat, "**/") {
		return pat
	}
	var b strings.Builder
	depth := 0
	for i := 0; i < len(pat); i++ {
		switch c := pat[i]; {
		case c == '\\' && i+1 < len(pat):
			b.WriteString(pat[i : i+2])
			i++
			continue
		case c == '{':
			depth++
		case c == '}' && depth > 0:
			depth--
		case c == '*' && depth == 0 && strings.HasPrefix(pat[i:], "**/") && (i == 0 || pat[i-1] == '/'):
			b.WriteString("{**/,}")
			i += 2
			continue
		}
		b.WriteByte(pat[i])
	}
	return b.String()
}
