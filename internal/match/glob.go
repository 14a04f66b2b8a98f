package match

import (
	"fmt"
	"strings"

	"github.com/gobwas/glob"
)

// Patterns is a compiled list of ref globs: `*` stays within one path
// component, `**` crosses `/`, and a leading `!` excludes. A name matches when
// it matches some include and no exclude.
type Patterns struct {
	include []pattern
	exclude []pattern
}

// pattern is one glob with its literal prefix: most ref globs start with
// one ("feature/", "v", "main"), and a prefix or equality test rejects most
// names far faster than the glob matcher.
type pattern struct {
	prefix string
	exact  bool // no wildcard at all: the prefix is the whole pattern
	g      *glob.Pattern
}

func (p *pattern) match(name string) bool {
	if p.exact {
		return name == p.prefix
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
		g, err := glob.Compile(pat, '/')
		if err != nil {
			return nil, fmt.Errorf("glob %q: %v", raw, err)
		}
		c := pattern{g: g}
		if i := strings.IndexAny(pat, `*?[{\`); i >= 0 {
			c.prefix = pat[:i]
		} else {
			c.prefix, c.exact = pat, true
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
