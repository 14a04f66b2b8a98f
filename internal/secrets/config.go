// Package secrets finds credentials in file contents with gitleaks' rules:
// its published default rule set (gitleaks.toml beside this file, from
// gitleaks v8.28.0, MIT licensed: LICENSE.gitleaks), or an operator's own
// file in gitleaks' format. It follows gitleaks' detection step for step
// (keywords, regex, secret group, entropy, global and per-rule allowlists,
// gitleaks:allow, .gitleaksignore fingerprints), so a repository that
// already uses gitleaks gets the same verdicts; it differs in how it gets
// there: one Aho-Corasick pass over the content finds the keywords, and a
// rule's regexp runs only on the lines around its keywords, so a clean file
// costs about one pass over its bytes. Content is read as a stream in
// bounded chunks; binary content is skipped.
package secrets

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
)

//go:embed gitleaks.toml
var defaultTOML string

// DefaultVersion is the gitleaks release whose default rules are embedded.
const DefaultVersion = "v8.28.0"

// Rule is one gitleaks rule.
type Rule struct {
	ID          string
	Description string
	Regex       string         // "": a path-only rule
	Path        *regexp.Regexp // nil: any path
	// pathNeeds are literals (lower case) Path cannot match without.
	pathNeeds   []string
	SecretGroup int
	Entropy     float64
	Keywords    []string // lower case; none: the rule runs on all content
	Allowlists  []*Allowlist
	// prog is Regex compiled, on first use for the default rules (a push
	// pays only for the rules its content has keywords of).
	prog func() *ruleProg
}

// ruleProg is a rule's regexp compiled, with what the scanner derives
// from it.
type ruleProg struct {
	re  *regexp.Regexp
	err error
	// multiline: the regexp spells out that it crosses lines ([\s\S] or
	// (?s)), so it runs on a wider window around its keywords.
	multiline bool
	// width bounds the bytes a match spans (0: no bound known), so a
	// match holding a keyword lies within width bytes of it.
	width int
	// tail, for a regexp of gitleaks' "semi-generic" shape (KEYWORDS, up
	// to 23 more characters, an assignment operator, the value), is the
	// part after the keywords, anchored: a keyword it does not match right
	// after is no match's keyword, and its line is not searched for it.
	tail *regexp.Regexp
	// anchor, for a regexp every match of which starts with one of the
	// rule's keywords (jwt: ey..., vault-service-token: hvs. or s.), is
	// the regexp anchored: a keyword where it does not match is no
	// match's start. wordStart: the regexp starts with \b.
	anchor    *regexp.Regexp
	wordStart bool
}

func compileRule(src string, keywords []string) *ruleProg {
	re, err := regexp.Compile(src)
	if err != nil {
		return &ruleProg{err: err}
	}
	p := &ruleProg{
		re:        re,
		multiline: strings.Contains(src, `[\s\S`) || strings.Contains(src, `(?s`),
		width:     maxWidth(src),
		tail:      tailOf(src),
	}
	if p.tail == nil {
		p.anchor, p.wordStart = anchorOf(src, keywords)
	}
	return p
}

// anchorOf is src anchored at its start when each of its matches starts
// with a literal that starts with one of keywords (see ruleProg.anchor),
// else nil; and whether src starts with \b.
func anchorOf(src string, keywords []string) (*regexp.Regexp, bool) {
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil || len(keywords) == 0 {
		return nil, false
	}
	re = re.Simplify()
	wordStart := false
	if re.Op == syntax.OpConcat && len(re.Sub) > 0 && re.Sub[0].Op == syntax.OpWordBoundary {
		wordStart = true
		re = &syntax.Regexp{Op: syntax.OpConcat, Sub: re.Sub[1:]}
	}
	leads := leadingLiterals(re)
	if len(leads) == 0 {
		return nil, false
	}
	for _, l := range leads {
		if !slices.ContainsFunc(keywords, func(k string) bool { return strings.HasPrefix(l, k) }) {
			return nil, false
		}
	}
	a, err := regexp.Compile(`^(?:` + src + `)`)
	if err != nil {
		return nil, false
	}
	return a, wordStart
}

// leadingLiterals lists, lower case, the literal each match of re starts
// with, one per alternative; nil if some match may start otherwise.
func leadingLiterals(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		return []string{strings.ToLower(string(re.Rune))}
	case syntax.OpCapture:
		return leadingLiterals(re.Sub[0])
	case syntax.OpConcat:
		if len(re.Sub) == 0 {
			return nil
		}
		return leadingLiterals(re.Sub[0])
	case syntax.OpAlternate:
		var out []string
		for _, sub := range re.Sub {
			l := leadingLiterals(sub)
			if l == nil {
				return nil
			}
			out = append(out, l...)
		}
		return out
	}
	return nil
}

// assignShape is what a semi-generic rule's regexp has right after its
// keyword group (gitleaks' utils.GenerateSemiGenericRegex).
const assignShape = `)(?:[ \t\w.-]{0,20})[\s'"]{0,3}(?:=|>|:{1,3}=|\|\||:|=>|\?=|,)`

// Allowlist is a gitleaks allowlist: a finding is allowed when any of its
// checks holds (or all of them, with condition = "AND").
type Allowlist struct {
	Description string
	And         bool
	Commits     []string // lower case
	Paths       []*regexp.Regexp
	RegexTarget string // "" (the secret), "match" or "line"
	Regexes     []*regexp.Regexp
	StopWords   []string // lower case
}

// Config is a rule set with its global allowlists.
type Config struct {
	Rules      []*Rule
	Allowlists []*Allowlist
	// Source names where the rules came from, for messages.
	Source string

	once  sync.Once
	ac    *matcher
	kwIdx map[string]int // keyword -> index in ac
	byKW  [][]int        // keyword index -> rules (indexes into Rules)
	noKW  []int          // rules without keywords
}

var defaultConfig = sync.OnceValue(func() *Config {
	c, err := parse(defaultTOML, "gitleaks "+DefaultVersion+" default rules", nil, false)
	if err != nil {
		panic("secrets: the embedded gitleaks.toml does not load: " + err.Error())
	}
	return c
})

// Default is gitleaks' default rule set, parsed once.
func Default() *Config { return defaultConfig() }

// tomlConfig is gitleaks' file format (config/config.go's ViperConfig).
type tomlConfig struct {
	Title       string
	Description string
	Extend      struct {
		Path          string
		URL           string
		UseDefault    bool
		DisabledRules []string
	}
	Rules []struct {
		ID          string
		Description string
		Path        string
		Regex       string
		SecretGroup int
		Entropy     float64
		Keywords    []string
		Tags        []string
		AllowList   *tomlAllowlist
		Allowlists  []*tomlAllowlist
		Required    []struct {
			ID            string
			WithinLines   *int
			WithinColumns *int
		}
		SkipReport bool
	}
	AllowList  *tomlAllowlist
	Allowlists []*tomlAllowlist
}

type tomlAllowlist struct {
	Description string
	Condition   string
	Commits     []string
	Paths       []string
	RegexTarget string
	Regexes     []string
	StopWords   []string
	TargetRules []string
}

// Load reads a gitleaks config file. Its [extend] section is honoured as
// gitleaks does: useDefault = true layers it over the default rules, path
// over another file (two levels at most); without it the file replaces the
// default rules.
func Load(path string) (*Config, error) {
	return load(path, 0)
}

const maxExtendDepth = 2

func load(path string, depth int) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading gitleaks config: %w", err)
	}
	base := func(tc *tomlConfig) (*Config, error) {
		switch {
		case depth >= maxExtendDepth:
			return nil, nil
		case tc.Extend.UseDefault && tc.Extend.Path != "":
			return nil, errors.New("[extend] sets both useDefault and path; choose one")
		case tc.Extend.UseDefault:
			return Default(), nil
		case tc.Extend.Path != "":
			return load(tc.Extend.Path, depth+1)
		case tc.Extend.URL != "":
			return nil, errors.New("[extend] url is not supported (gitleaks does not support it either); use path")
		}
		return nil, nil
	}
	c, err := parse(string(b), path, base, true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse reads a gitleaks config from src. base, when not nil, returns the
// config its [extend] section names (nil for none).
func Parse(src, source string, base func(*tomlConfig) (*Config, error)) (*Config, error) {
	return parse(src, source, base, true)
}

// parse is Parse; eager compiles every regexp now, to report errors.
func parse(src, source string, base func(*tomlConfig) (*Config, error), eager bool) (*Config, error) {
	var tc tomlConfig
	if _, err := toml.Decode(src, &tc); err != nil {
		return nil, err
	}
	c := &Config{Source: source}
	targeted := map[string][]*Allowlist{}
	for i, tr := range tc.Rules {
		if strings.TrimSpace(tr.ID) == "" {
			return nil, fmt.Errorf("rule %d: id is missing or empty", i+1)
		}
		r := &Rule{ID: tr.ID, Description: tr.Description, Regex: tr.Regex, SecretGroup: tr.SecretGroup, Entropy: tr.Entropy}
		var err error
		if tr.Regex != "" {
			src := tr.Regex
			r.prog = sync.OnceValue(func() *ruleProg { return compileRule(src, r.Keywords) })
			if eager {
				if p := r.prog(); p.err != nil {
					return nil, fmt.Errorf("rule %s: regex: %w", tr.ID, p.err)
				}
			}
		}
		if tr.Path != "" {
			if r.Path, err = regexp.Compile(tr.Path); err != nil {
				return nil, fmt.Errorf("rule %s: path: %w", tr.ID, err)
			}
			r.pathNeeds = needs(tr.Path)
		}
		for _, k := range tr.Keywords {
			r.Keywords = append(r.Keywords, strings.ToLower(k))
		}
		if len(tr.Required) > 0 {
			return nil, fmt.Errorf("rule %s: [[rules.required]] (composite rules) is not supported", tr.ID)
		}
		if tr.SkipReport {
			continue // only reported as part of a composite rule
		}
		if tr.AllowList != nil {
			if len(tr.Allowlists) > 0 {
				return nil, fmt.Errorf("rule %s: [rules.allowlist] is deprecated, it cannot be used alongside [[rules.allowlists]]", tr.ID)
			}
			tr.Allowlists = append(tr.Allowlists, tr.AllowList)
		}
		for _, ta := range tr.Allowlists {
			a, err := parseAllowlist(ta)
			if err != nil {
				return nil, fmt.Errorf("rule %s: [[rules.allowlists]]: %w", tr.ID, err)
			}
			r.Allowlists = append(r.Allowlists, a)
		}
		c.Rules = append(c.Rules, r)
	}
	if tc.AllowList != nil {
		if len(tc.Allowlists) > 0 {
			return nil, errors.New("[allowlist] is deprecated, it cannot be used alongside [[allowlists]]")
		}
		tc.Allowlists = append(tc.Allowlists, tc.AllowList)
	}
	for _, ta := range tc.Allowlists {
		a, err := parseAllowlist(ta)
		if err != nil {
			return nil, fmt.Errorf("[[allowlists]]: %w", err)
		}
		if len(ta.TargetRules) == 0 {
			c.Allowlists = append(c.Allowlists, a)
		}
		for _, id := range ta.TargetRules {
			targeted[id] = append(targeted[id], a)
		}
	}
	if base != nil {
		b, err := base(&tc)
		if err != nil {
			return nil, err
		}
		if b != nil {
			c.extend(b, tc.Extend.DisabledRules)
		}
	}
	for id, as := range targeted {
		i := slices.IndexFunc(c.Rules, func(r *Rule) bool { return r.ID == id })
		if i < 0 {
			return nil, fmt.Errorf("[[allowlists]] target rule ID '%s' does not exist", id)
		}
		r := *c.Rules[i]
		r.Allowlists = append(slices.Clip(r.Allowlists), as...)
		c.Rules[i] = &r
	}
	for _, r := range c.Rules {
		if r.Regex == "" && r.Path == nil {
			return nil, fmt.Errorf("rule %s: both regex and path are empty, the rule would have no effect", r.ID)
		}
		if r.Regex != "" && eager {
			if n := r.prog().re.NumSubexp(); r.SecretGroup > n {
				return nil, fmt.Errorf("rule %s: secretGroup %d, but the regex has %d groups", r.ID, r.SecretGroup, n)
			}
		}
	}
	return c, nil
}

// extend layers c over b as gitleaks does: b's rules not disabled and not
// in c are added; a rule in both is b's with c's non-empty fields over it.
func (c *Config) extend(b *Config, disabled []string) {
	mine := map[string]int{}
	for i, r := range c.Rules {
		mine[r.ID] = i
	}
	for _, br := range b.Rules {
		if slices.Contains(disabled, br.ID) {
			continue
		}
		i, ok := mine[br.ID]
		if !ok {
			c.Rules = append(c.Rules, br)
			continue
		}
		cur, merged := c.Rules[i], *br
		if cur.Description != "" {
			merged.Description = cur.Description
		}
		if cur.Entropy != 0 {
			merged.Entropy = cur.Entropy
		}
		if cur.SecretGroup != 0 {
			merged.SecretGroup = cur.SecretGroup
		}
		if cur.Regex != "" {
			merged.Regex, merged.prog = cur.Regex, cur.prog
		}
		if cur.Path != nil {
			merged.Path, merged.pathNeeds = cur.Path, cur.pathNeeds
		}
		merged.Keywords = append(slices.Clip(br.Keywords), cur.Keywords...)
		merged.Allowlists = append(slices.Clip(br.Allowlists), cur.Allowlists...)
		c.Rules[i] = &merged
	}
	c.Allowlists = append(c.Allowlists, b.Allowlists...)
	slices.SortStableFunc(c.Rules, func(x, y *Rule) int { return strings.Compare(x.ID, y.ID) })
	c.Source += " (extending " + b.Source + ")"
}

func parseAllowlist(ta *tomlAllowlist) (*Allowlist, error) {
	a := &Allowlist{Description: ta.Description}
	switch strings.ToUpper(ta.Condition) {
	case "AND", "&&":
		a.And = true
	case "", "OR", "||":
	default:
		return nil, fmt.Errorf("unknown condition '%s' (expected 'and', 'or')", ta.Condition)
	}
	switch ta.RegexTarget {
	case "", "secret":
	case "match", "line":
		a.RegexTarget = ta.RegexTarget
	default:
		return nil, fmt.Errorf("unknown regexTarget '%s' (expected 'match', 'line')", ta.RegexTarget)
	}
	for _, s := range ta.Commits {
		a.Commits = append(a.Commits, strings.TrimSpace(strings.ToLower(s)))
	}
	for _, s := range ta.StopWords {
		a.StopWords = append(a.StopWords, strings.ToLower(s))
	}
	for _, s := range ta.Regexes {
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("regexes: %w", err)
		}
		a.Regexes = append(a.Regexes, re)
	}
	for _, s := range ta.Paths {
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("paths: %w", err)
		}
		a.Paths = append(a.Paths, re)
	}
	if len(a.Commits)+len(a.Paths)+len(a.Regexes)+len(a.StopWords) == 0 {
		return nil, errors.New("must contain at least one check for: commits, paths, regexes, or stopwords")
	}
	return a, nil
}

func (a *Allowlist) commitAllowed(c string) bool {
	return c != "" && slices.Contains(a.Commits, strings.ToLower(c))
}

func (a *Allowlist) pathAllowed(p string) bool {
	return p != "" && slices.ContainsFunc(a.Paths, func(re *regexp.Regexp) bool { return re.MatchString(p) })
}

func (a *Allowlist) regexAllowed(s string) bool {
	return s != "" && slices.ContainsFunc(a.Regexes, func(re *regexp.Regexp) bool { return re.MatchString(s) })
}

func (a *Allowlist) stopWord(s string) bool {
	if s == "" || len(a.StopWords) == 0 {
		return false
	}
	s = strings.ToLower(s)
	return slices.ContainsFunc(a.StopWords, func(w string) bool { return strings.Contains(s, w) })
}

// fileAllowed: gitleaks' checkCommitOrPathAllowed, before any content is read.
func fileAllowed(as []*Allowlist, path, commit string) bool {
	if path == "" && commit == "" {
		return false
	}
	for _, a := range as {
		c, p := a.commitAllowed(commit), a.pathAllowed(path)
		if a.And {
			if len(a.Regexes) > 0 || len(a.StopWords) > 0 {
				continue
			}
			if (len(a.Commits) == 0 || c) && (len(a.Paths) == 0 || p) {
				return true
			}
		} else if c || p {
			return true
		}
	}
	return false
}

// findingAllowed: gitleaks' checkFindingAllowed.
func findingAllowed(as []*Allowlist, f *Finding, line string) bool {
	for _, a := range as {
		target := f.Secret
		switch a.RegexTarget {
		case "match":
			target = f.Match
		case "line":
			target = line
		}
		re, sw := a.regexAllowed(target), a.stopWord(f.Secret)
		if a.And {
			ok := (len(a.Commits) == 0 || a.commitAllowed(f.Commit)) &&
				(len(a.Paths) == 0 || a.pathAllowed(f.File)) &&
				(len(a.Regexes) == 0 || re) &&
				(len(a.StopWords) == 0 || sw)
			if ok {
				return true
			}
		} else if re || sw {
			return true
		}
	}
	return false
}

// maxWidthLimit: a regexp that may match more bytes than this is treated
// as unbounded.
const maxWidthLimit = 2048

// maxWidth is the most bytes a match of the regexp src can span, or 0 when
// that is unbounded or over maxWidthLimit.
func maxWidth(src string) int {
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return 0
	}
	n := width(re.Simplify())
	if n < 0 || n > maxWidthLimit {
		return 0
	}
	return n
}

// width is the most bytes re matches, -1 for no bound.
func width(re *syntax.Regexp) int {
	runeBytes := func(max rune) int {
		if max < 0x80 {
			return 1
		}
		return 4
	}
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpNoMatch:
		return 0
	case syntax.OpLiteral:
		n := 0
		for _, r := range re.Rune {
			n += runeBytes(r)
			if re.Flags&syntax.FoldCase != 0 {
				n += 3 // a fold may be a longer rune (k: the Kelvin sign)
			}
		}
		return n
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return 0
		}
		return runeBytes(re.Rune[len(re.Rune)-1])
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		return 4
	case syntax.OpCapture:
		return width(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus:
		return -1
	case syntax.OpQuest:
		return width(re.Sub[0])
	case syntax.OpRepeat:
		if re.Max < 0 {
			return -1
		}
		w := width(re.Sub[0])
		if w < 0 {
			return -1
		}
		return w * re.Max
	case syntax.OpConcat:
		n := 0
		for _, sub := range re.Sub {
			w := width(sub)
			if w < 0 {
				return -1
			}
			n += w
		}
		return n
	case syntax.OpAlternate:
		n := 0
		for _, sub := range re.Sub {
			w := width(sub)
			if w < 0 {
				return -1
			}
			n = max(n, w)
		}
		return n
	}
	return -1
}

// tailOf is the anchored tail of a semi-generic regexp src (see
// Rule.tail), or nil when src does not have that shape: the keyword group
// closes right before assignShape, at the top level, with no flags but a
// leading (?i). The tail allows up to 8 more word characters before it,
// for a keyword alternative that extends the keyword found.
func tailOf(src string) *regexp.Regexp {
	i := strings.Index(src, assignShape)
	if i < 0 {
		return nil
	}
	flags := ""
	body := src
	if strings.HasPrefix(src, "(?i)") {
		flags, body = "(?i)", src[len("(?i)"):]
		i -= len("(?i)")
	}
	if strings.Contains(body, "(?i") || strings.Contains(body, "(?s") || strings.Contains(body, "(?m") {
		return nil
	}
	// The keyword group must be at the top level: the text before the
	// tail is balanced.
	depth := 0
	for j := 0; j <= i; j++ {
		switch body[j] {
		case '\\':
			j++
		case '(':
			depth++
		case ')':
			depth--
		}
	}
	if depth != 0 {
		return nil
	}
	re, err := regexp.Compile(flags + `^[\w.-]{0,8}` + body[i+1:])
	if err != nil {
		return nil
	}
	return re
}

// needs lists literals, in lower case, that any match of the regexp src
// contains (the literal parts of its top-level sequence): a cheap test
// that rules most inputs out before the regexp runs.
func needs(src string) []string {
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	var out []string
	for _, sub := range subs {
		if sub.Op == syntax.OpLiteral {
			out = append(out, strings.ToLower(string(sub.Rune)))
		}
	}
	return out
}

// pathMatches is rule's Path test of p, with its cheap test first.
func (r *Rule) pathMatches(p string) bool {
	if len(r.pathNeeds) > 0 {
		lp := strings.ToLower(p)
		for _, n := range r.pathNeeds {
			if !strings.Contains(lp, n) {
				return false
			}
		}
	}
	return r.Path.MatchString(p)
}
