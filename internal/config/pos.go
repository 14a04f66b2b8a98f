package config

import (
	"strconv"
	"strings"
	"sync"
)

// Pos is a 1-based line and column in a config file.
type Pos struct{ Line, Col int }

// positions maps key paths ("jobs.site.theme", "rules[2].branches",
// "rules[2].branches[1]") to where their key and value start. BurntSushi/toml
// keeps key positions private, so this small scanner walks the (already
// syntax-checked) source once more. It is used only to place diagnostics; on
// input it does not understand it stops, and callers fall back to a parent
// path's position.
type positions struct {
	src  string
	once sync.Once
	key  map[string]Pos
	val  map[string]Pos
}

// newPositions defers the scan until a diagnostic needs a position: a valid
// config (the hook's hot path) never pays for it.
func newPositions(src string) *positions { return &positions{src: src} }

func (p *positions) lookup(path string, value bool) (Pos, bool) {
	if p == nil {
		return Pos{}, false
	}
	p.once.Do(func() {
		s := scanPositions(p.src)
		p.key, p.val = s.key, s.val
	})
	for path != "" {
		if value {
			if ps, ok := p.val[path]; ok {
				return ps, true
			}
		}
		if ps, ok := p.key[path]; ok {
			return ps, true
		}
		value = false
		path = parentPath(path)
	}
	return Pos{}, false
}

func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

type posScanner struct {
	src       string
	i         int
	line, col int
	pos       *positions
	arrays    map[string]int // count of [[x]] headers seen per path
}

func scanPositions(src string) *positions {
	s := &posScanner{src: src, line: 1, col: 1, pos: &positions{key: map[string]Pos{}, val: map[string]Pos{}}, arrays: map[string]int{}}
	defer func() { _ = recover() }() // positions are best effort; never fail a load over them
	s.document()
	return s.pos
}

func (s *posScanner) eof() bool { return s.i >= len(s.src) }
func (s *posScanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.i]
}
func (s *posScanner) next() byte {
	c := s.src[s.i]
	s.i++
	if c == '\n' {
		s.line++
		s.col = 1
	} else if c < 0x80 || c >= 0xC0 { // count runes, not bytes
		s.col++
	}
	return c
}
func (s *posScanner) here() Pos { return Pos{s.line, s.col} }

// skipSpace skips blanks, comments and (when nl) newlines.
func (s *posScanner) skipSpace(nl bool) {
	for !s.eof() {
		switch c := s.peek(); {
		case c == ' ' || c == '\t' || c == '\r':
			s.next()
		case c == '\n' && nl:
			s.next()
		case c == '#':
			for !s.eof() && s.peek() != '\n' {
				s.next()
			}
		default:
			return
		}
	}
}

func (s *posScanner) document() {
	table := ""
	for {
		s.skipSpace(true)
		if s.eof() {
			return
		}
		if s.peek() == '[' {
			start := s.here()
			s.next()
			arr := s.peek() == '['
			if arr {
				s.next()
			}
			s.skipSpace(false)
			keys := s.keyParts()
			s.skipSpace(false)
			for !s.eof() && s.peek() == ']' {
				s.next()
			}
			path := strings.Join(keys, ".")
			if arr {
				s.arrays[path]++
				path += "[" + strconv.Itoa(s.arrays[path]) + "]"
			} else {
				path = s.resolve(keys)
			}
			s.record(path, start)
			table = path
			continue
		}
		s.keyValue(table)
	}
}

// resolve maps a dotted header like jobs.x under an earlier [[rules]] to its
// indexed path when a prefix names an array of tables.
func (s *posScanner) resolve(keys []string) string {
	path := ""
	for _, k := range keys {
		if path != "" {
			path += "."
		}
		path += k
		if n := s.arrays[path]; n > 0 {
			path += "[" + strconv.Itoa(n) + "]"
		}
	}
	return path
}

func (s *posScanner) record(path string, p Pos) {
	if _, ok := s.pos.key[path]; !ok {
		s.pos.key[path] = p
	}
}

func join(table, key string) string {
	if table == "" {
		return key
	}
	return table + "." + key
}

func (s *posScanner) keyValue(table string) {
	start := s.here()
	keys := s.keyParts()
	if len(keys) == 0 {
		s.next() // not a key: skip a byte so we always progress
		return
	}
	path := table
	for _, k := range keys {
		path = join(path, k)
		s.record(path, start)
	}
	s.skipSpace(false)
	if s.peek() == '=' {
		s.next()
	}
	s.skipSpace(false)
	s.value(path)
}

func (s *posScanner) keyParts() []string {
	var keys []string
	for {
		s.skipSpace(false)
		var k string
		switch c := s.peek(); {
		case c == '"' || c == '\'':
			k = s.str()
		case isBare(c):
			b := s.i
			for !s.eof() && isBare(s.peek()) {
				s.next()
			}
			k = s.src[b:s.i]
		default:
			return keys
		}
		keys = append(keys, k)
		s.skipSpace(false)
		if s.peek() != '.' {
			return keys
		}
		s.next()
	}
}

func isBare(c byte) bool {
	return c == '_' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// str reads a basic or literal string (single or multi-line) and returns its
// contents, unescaped only as far as keys need.
func (s *posScanner) str() string {
	q := s.next()
	multi := strings.HasPrefix(s.src[s.i:], string([]byte{q, q}))
	if multi {
		s.next()
		s.next()
		end := strings.Repeat(string(q), 3)
		b := s.i
		for !s.eof() && !strings.HasPrefix(s.src[s.i:], end) {
			if q == '"' && s.peek() == '\\' {
				s.next()
			}
			s.next()
		}
		v := s.src[b:s.i]
		for i := 0; i < 3 && !s.eof(); i++ {
			s.next()
		}
		for !s.eof() && s.peek() == q { // up to two quotes may belong to the content
			s.next()
		}
		return v
	}
	var b strings.Builder
	for !s.eof() && s.peek() != q && s.peek() != '\n' {
		c := s.next()
		if q == '"' && c == '\\' && !s.eof() {
			c = s.next()
		}
		b.WriteByte(c)
	}
	if !s.eof() && s.peek() == q {
		s.next()
	}
	return b.String()
}

func (s *posScanner) value(path string) {
	s.pos.val[path] = s.here()
	switch c := s.peek(); c {
	case '"', '\'':
		s.str()
	case '[':
		s.next()
		for n := 1; ; n++ {
			s.skipSpace(true)
			if s.eof() || s.peek() == ']' {
				break
			}
			s.value(path + "[" + strconv.Itoa(n) + "]")
			s.skipSpace(true)
			if s.peek() == ',' {
				s.next()
			}
		}
		if !s.eof() {
			s.next()
		}
	case '{':
		s.next()
		for {
			s.skipSpace(false)
			if s.eof() || s.peek() == '}' {
				break
			}
			s.keyValue(path)
			s.skipSpace(false)
			if s.peek() == ',' {
				s.next()
			}
		}
		if !s.eof() {
			s.next()
		}
	default: // number, bool, date: up to a delimiter
		for !s.eof() && !strings.ContainsRune(",]}\n#", rune(s.peek())) {
			s.next()
		}
	}
}
