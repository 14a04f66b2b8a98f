package secrets

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Finding is one secret found.
type Finding struct {
	RuleID      string
	Description string
	Commit      string // as given to Scan
	File        string // path as given to Scan
	Line        int    // 1-based line where the match starts
	Match       string // what the rule's regexp matched
	Secret      string // the part of it that is the secret (the secret group)
	LineText    string // the line(s) holding the match, whole
}

// Fingerprint is gitleaks' fingerprint of the finding: COMMIT:FILE:RULE:LINE
// (FILE:RULE:LINE without a commit), what .gitleaksignore lists.
func (f Finding) Fingerprint() string {
	if f.Commit == "" {
		return fmt.Sprintf("%s:%s:%d", f.File, f.RuleID, f.Line)
	}
	return fmt.Sprintf("%s:%s:%s:%d", f.Commit, f.File, f.RuleID, f.Line)
}

// Redacted is the secret with only its first and last few characters
// shown (at most a quarter of it on each side, at most 4 each).
func (f Finding) Redacted() string {
	s := f.Secret
	if s == "" {
		s = f.Match
	}
	r := []rune(s)
	n := min(4, len(r)/4)
	return string(r[:n]) + "..." + string(r[len(r)-n:])
}

// AllowSignature on a line lets every finding on it through.
const AllowSignature = "gitleaks:allow"

const (
	chunkSize = 1 << 20  // content is scanned this much at a time
	keepBack  = 8 << 10  // bytes of the previous chunk kept for context
	overlap   = 64 << 10 // a chunk's last bytes are scanned again with the next
	sniffLen  = 8000     // as git: a NUL in the first 8000 bytes means binary
	// Windows around a keyword (see chunk): the regexp of an ordinary rule
	// runs on the keyword's line and the ctxLines lines after it; that of
	// a rule that crosses lines ([\s\S], (?s)) on up to multiBack bytes
	// before the keyword and multiFwd after.
	ctxLines   = 2
	multiBack  = 4 << 10
	multiFwd   = overlap - 1
	maxLineLen = 4 << 10 // an ordinary window reaches no further than this from its keyword
	// tailOp: a semi-generic tail has its operator within its 8 + 20 + 3
	// first characters (Rule.tail).
	tailOp = 8 + 20 + 3 + 1
)

func (c *Config) prepare() {
	c.once.Do(func() {
		c.kwIdx = map[string]int{}
		var kws []string
		for ri, r := range c.Rules {
			if r.Regex == "" {
				continue
			}
			if len(r.Keywords) == 0 {
				c.noKW = append(c.noKW, ri)
				continue
			}
			for _, k := range r.Keywords {
				ki, ok := c.kwIdx[k]
				if !ok {
					ki = len(kws)
					c.kwIdx[k] = ki
					kws = append(kws, k)
					c.byKW = append(c.byKW, nil)
				}
				if !slices.Contains(c.byKW[ki], ri) {
					c.byKW[ki] = append(c.byKW[ki], ri)
				}
			}
		}
		c.ac = newMatcher(kws)
	})
}

// Scan reads r (the content of the file at path in commit) to its end and
// calls fn for each finding, in order of line then rule. Memory stays
// bounded whatever the size of the content; binary content (a NUL byte in
// its first 8000 bytes) is not read past that point, and only path-only
// rules apply to it. A line carrying gitleaks:allow, and the config's
// allowlists, let findings through as gitleaks does; fingerprints
// (.gitleaksignore) are for the caller to check with an Ignore.
func (c *Config) Scan(r io.Reader, path, commit string, fn func(Finding)) error {
	s := scanPool.Get().(*scan)
	defer func() {
		s.c, s.fn = nil, nil // keep nothing of the caller's alive
		scanPool.Put(s)
	}()
	return c.scanWith(s, r, path, commit, fn)
}

func (c *Config) scanWith(s *scan, r io.Reader, path, commit string, fn func(Finding)) error {
	c.prepare()
	s.c, s.path, s.commit, s.fn, s.allowed, s.examined = c, path, commit, fn, 0, 0
	if cap(s.state) < len(c.Rules) {
		s.state = make([]uint8, len(c.Rules))
		s.wins = make([][]window, len(c.Rules))
	}
	s.state = s.state[:len(c.Rules)]
	clear(s.state)
	s.wins = s.wins[:len(c.Rules)]
	// Path-only rules first; the path checks of the others wait for a
	// keyword of theirs in the content (most files have none).
	for i, rule := range c.Rules {
		if rule.Regex == "" && s.ruleApplies(i) {
			s.emit([]Finding{{RuleID: rule.ID, Description: rule.Description, Commit: commit, File: path, Match: "file detected: " + path}})
		}
	}
	return s.run(r)
}

var scanPool = sync.Pool{New: func() any {
	return &scan{br: bufio.NewReaderSize(nil, sniffLen), buf: make([]byte, 0, chunkSize+overlap+keepBack)}
}}

type scan struct {
	c            *Config
	path, commit string
	fn           func(Finding)
	state        []uint8    // per rule: 0 not yet known, 1 applies to this file, 2 does not
	wins         [][]window // per rule
	allowed      uint8      // the global allowlists: 0 not yet known, 1 allow the file, 2 do not
	br           *bufio.Reader
	buf          []byte
	examined     int // bytes handed to regexps, for the tests' bound
}

// ruleApplies reports whether rule i applies to the file (its path, its
// allowlists' paths and commits), deciding once per file.
func (s *scan) ruleApplies(i int) bool {
	if s.state[i] == 0 {
		rule := s.c.Rules[i]
		s.state[i] = 2
		if (rule.Path == nil || rule.pathMatches(s.path)) && !fileAllowed(rule.Allowlists, s.path, s.commit) {
			s.state[i] = 1
		}
	}
	return s.state[i] == 1
}

// emit passes findings on unless the global allowlists allow the file.
func (s *scan) emit(fs []Finding) {
	if len(fs) == 0 {
		return
	}
	if s.allowed == 0 {
		s.allowed = 2
		if fileAllowed(s.c.Allowlists, s.path, s.commit) {
			s.allowed = 1
		}
	}
	if s.allowed == 1 {
		return
	}
	for _, f := range fs {
		s.fn(f)
	}
}

type window struct{ s, e int }

func (s *scan) run(r io.Reader) error {
	br := s.br
	br.Reset(r)
	defer br.Reset(nil)
	head, err := br.Peek(sniffLen)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return err
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return nil
	}
	buf := s.buf[:0]
	line := 1 // line number of buf[0]
	from := 0 // findings starting before buf[from] were reported with the previous chunk
	for {
		n, err := io.ReadFull(br, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			return err
		}
		// Report matches that start before upTo; those after it are
		// found again, whole, with the next chunk.
		upTo := len(buf)
		if !eof {
			upTo = len(buf) - overlap
			if i := bytes.LastIndexByte(buf[:upTo], '\n'); i >= from {
				upTo = i + 1
			}
		}
		s.chunk(buf, line, from, upTo)
		if eof {
			return nil
		}
		keep := max(0, upTo-keepBack)
		if i := bytes.IndexByte(buf[keep:upTo], '\n'); i >= 0 && keep > 0 {
			keep += i + 1
		}
		line += bytes.Count(buf[:keep], []byte{'\n'})
		from = upTo - keep
		buf = buf[:copy(buf, buf[keep:])]
	}
}

// chunk finds the secrets starting in data[from:upTo].
func (s *scan) chunk(data []byte, line0, from, upTo int) {
	c := s.c
	for i := range s.wins {
		s.wins[i] = s.wins[i][:0]
	}
	// Checks near keywords are bounded in all (budget): past it, content
	// made of keywords (a long line of "eyeyey...") gets plain windows,
	// merged, so the work stays linear in the content.
	budget := 2*len(data) + 1<<16
	checked := 0
	lc := lineCache{data: data, le: -1}
	add := func(ri, at, klen int) {
		rule := c.Rules[ri].prog()
		lc.move(at)
		lineEnd := min(lc.e2, at+klen+maxLineLen)
		lineStart := max(lc.ls, at-maxLineLen)
		if rule.tail != nil && budget > 0 {
			// An operator byte soon after: a cheap first test.
			in := data[at+klen : lineEnd]
			budget -= len(in)
			checked += len(in)
			if !bytes.ContainsAny(in[:min(len(in), tailOp)], "=:>|?,") || !rule.tail.Match(in) {
				return
			}
		}
		var w window
		switch {
		case rule.anchor != nil && budget > 0 && !(rule.wordStart && !isWordByte(data[at])):
			// Matches start at keywords: the regexp runs from this one
			// if it matches here. (If the keyword started with a non-word
			// byte, ^\b would fail where \b holds: the plain window.)
			if rule.wordStart && at > 0 && isWordByte(data[at-1]) {
				return // no \b here
			}
			end := lineEnd
			switch {
			case rule.width > 0:
				end = min(len(data), at+rule.width)
			case rule.multiline:
				end = min(len(data), at+klen+multiFwd)
			}
			budget -= end - at
			checked += end - at
			if !rule.anchor.Match(data[at:end]) {
				return
			}
			w = window{at, end}
		case rule.width > 0:
			// A match holding the keyword lies within width of it; it
			// starts on the keyword's line (no rule's regexp crosses a
			// line before its keyword, except the multiline ones).
			w = window{max(at+klen-rule.width, lineStart), min(len(data), at+rule.width)}
			if rule.multiline {
				w.s = max(0, at+klen-rule.width)
			}
		case rule.multiline:
			w = window{max(0, at-multiBack), min(len(data), at+klen+multiFwd)}
		default:
			w = window{lineStart, lineEnd}
		}
		ws := s.wins[ri]
		if k := len(ws) - 1; k >= 0 && w.s <= ws[k].e {
			ws[k].e = max(ws[k].e, w.e)
			ws[k].s = min(ws[k].s, w.s)
			return
		}
		s.wins[ri] = append(ws, w)
	}
	c.ac.scan(data, func(at, kw int) {
		for _, ri := range c.byKW[kw] {
			if s.ruleApplies(ri) {
				add(ri, at, c.ac.kwLen[kw])
			}
		}
	})
	for _, ri := range c.noKW {
		if s.ruleApplies(ri) {
			s.wins[ri] = append(s.wins[ri], window{0, len(data)})
		}
	}
	var found []Finding
	lines := lineCounter{data: data, line: line0}
	for ri, ws := range s.wins {
		if len(ws) == 0 {
			continue
		}
		rule := c.Rules[ri]
		prog := rule.prog()
		end := 0 // matches do not overlap, as in one run over the content
		for _, w := range ws {
			for _, m := range prog.re.FindAllSubmatchIndex(data[w.s:w.e], -1) {
				if w.s+m[0] < end {
					continue
				}
				end = w.s + m[1]
				if f, ok := s.match(rule, prog.re, data, w.s, m, &lines); ok {
					if at := w.s + m[0]; at >= from && at < upTo {
						found = append(found, f)
					}
				}
			}
		}
	}
	s.examined += checked
	for _, ws := range s.wins {
		for _, w := range ws {
			s.examined += w.e - w.s
		}
	}
	s.emitFiltered(found)
}

// emitFiltered applies gitleaks' filter (a generic finding is dropped when
// a specific rule found the same secret on the same line), orders the
// findings by line then rule, and emits them.
func (s *scan) emitFiltered(found []Finding) {
	generic := func(f Finding) bool { return strings.Contains(strings.ToLower(f.RuleID), "generic") }
	var keep []Finding
	for _, f := range found {
		if generic(f) && slices.ContainsFunc(found, func(g Finding) bool {
			return g.Line == f.Line && g.RuleID != f.RuleID && strings.Contains(g.Secret, f.Secret) && !generic(g)
		}) {
			continue
		}
		keep = append(keep, f)
	}
	slices.SortStableFunc(keep, func(a, b Finding) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return strings.Compare(a.RuleID, b.RuleID)
	})
	s.emit(keep)
}

// match turns one regexp match (m, relative to data[off:]) into a finding,
// unless gitleaks would let it through.
func (s *scan) match(rule *Rule, re *regexp.Regexp, data []byte, off int, m []int, lines *lineCounter) (Finding, bool) {
	start, end := off+m[0], off+m[1]
	for start < end && data[start] == '\n' {
		start++
	}
	for end > start && data[end-1] == '\n' {
		end--
	}
	if start == end {
		return Finding{}, false
	}
	ls := bytes.LastIndexByte(data[:start], '\n') + 1
	le := end
	if i := bytes.IndexAny(data[end:], "\r\n"); i >= 0 {
		le = end + i
	} else {
		le = len(data)
	}
	lineText := data[ls:le]
	if bytes.Contains(lineText, []byte(AllowSignature)) {
		return Finding{}, false
	}
	f := Finding{RuleID: rule.ID, Description: rule.Description, Commit: s.commit, File: s.path, Match: string(data[start:end])}
	f.Secret = f.Match
	// The secret group, as gitleaks takes it: from the regexp run again
	// on the (trimmed) match.
	if re.NumSubexp() > 0 {
		if g := re.FindStringSubmatch(f.Match); len(g) >= 2 {
			if rule.SecretGroup > 0 {
				if len(g) <= rule.SecretGroup {
					return Finding{}, false
				}
				f.Secret = g[rule.SecretGroup]
			} else {
				for _, x := range g[1:] {
					if x != "" {
						f.Secret = x
						break
					}
				}
			}
		}
	}
	if rule.Entropy != 0 && entropy(f.Secret) <= rule.Entropy {
		return Finding{}, false
	}
	lt := string(lineText)
	f.LineText = lt
	if findingAllowed(s.c.Allowlists, &f, lt) || findingAllowed(rule.Allowlists, &f, lt) {
		return Finding{}, false
	}
	f.Line = lines.at(start)
	return f, true
}

// entropy is the Shannon entropy of s's characters, as gitleaks computes it.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	counts := map[rune]int{}
	for _, r := range s {
		counts[r]++
	}
	var e float64
	inv := 1 / float64(len(s))
	for _, n := range counts {
		p := float64(n) * inv
		e -= p * math.Log2(p)
	}
	return e
}

// lineCache holds the bounds of the line of the last keyword looked at,
// so that keywords on one line cost one look for its ends.
type lineCache struct {
	data   []byte
	ls, le int // the line: data[ls:le], its newline included
	e2     int // the end of the ctxLines lines after it
}

// move makes the line holding at current.
func (c *lineCache) move(at int) {
	if at >= c.ls && at < c.le {
		return
	}
	d := c.data
	c.ls = bytes.LastIndexByte(d[:at], '\n') + 1
	c.le = len(d)
	if i := bytes.IndexByte(d[at:], '\n'); i >= 0 {
		c.le = at + i + 1
	}
	c.e2 = c.le
	for range ctxLines {
		i := bytes.IndexByte(d[c.e2:], '\n')
		if i < 0 {
			c.e2 = len(d)
			break
		}
		c.e2 += i + 1
	}
}

// lineCounter gives line numbers of increasing offsets cheaply, and of any
// offset correctly.
type lineCounter struct {
	data []byte
	off  int
	line int // line number at off
}

func (l *lineCounter) at(pos int) int {
	if pos < l.off {
		l.off, l.line = 0, l.line-bytes.Count(l.data[:l.off], []byte{'\n'})
	}
	l.line += bytes.Count(l.data[l.off:pos], []byte{'\n'})
	l.off = pos
	return l.line
}

func isWordByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}
