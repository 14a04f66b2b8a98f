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
	include []*glob.Pattern
	exclude []*glob.Pattern
}

// CompilePatterns compiles globs once; matching is then allocation-free.
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
		if neg {
			p.exclude = append(p.exclude, g)
		} else {
			p.include = append(p.include, g)
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
	for _, g := range p.include {
		if g.Match(name) {
			hit = true
			break
		}
	}
	if !hit {
		return false
	}
	for _, g := range p.exclude {
		if g.Match(name) {
			return false
		}
	}
	return true
}
