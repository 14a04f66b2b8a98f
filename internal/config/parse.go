package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"github.com/hookrun/hookrun/internal/ntfyconf"
)

// MaxFileSize bounds a config file; real ones are a few KB.
const MaxFileSize = 1 << 20

// Bounds on what a file may hold, checked before the TOML parser sees it,
// so that decoding any file up to MaxFileSize stays within a bounded
// amount of memory (TestParseMemory states the bound and holds it):
// maxDepth bounds nesting of arrays, inline tables and dotted keys
// (hooks.toml never nests more than four levels), maxItems the keys,
// array elements, arrays and tables (a real file has a few hundred).
const (
	maxDepth = 32
	maxItems = 20_000
)

// Parse decodes one config file strictly and checks what can be checked
// within it. It is pure: no file access besides r, no globals, no logging.
// The returned File is usable when the diagnostics hold no errors.
func Parse(r io.Reader, name string) (*File, Diagnostics) {
	src, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, Diagnostics{{File: name, Severity: Error, Msg: "cannot read: " + err.Error()}}
	}
	if len(src) > MaxFileSize {
		return nil, Diagnostics{{File: name, Severity: Error, Msg: fmt.Sprintf("file is larger than %d bytes; a hooks.toml is a few KB", MaxFileSize)}}
	}
	if sh := measure(src); sh.depth > maxDepth {
		return nil, Diagnostics{{File: name, Severity: Error, Msg: fmt.Sprintf("arrays or tables nested %d deep; at most %d are allowed", sh.depth, maxDepth)}}
	} else if sh.items > maxItems {
		return nil, Diagnostics{{File: name, Severity: Error, Msg: fmt.Sprintf("more than %d keys, array elements and tables; a hooks.toml has a few hundred", maxItems)}}
	}
	var raw map[string]any
	if _, err := toml.Decode(string(src), &raw); err != nil {
		return nil, Diagnostics{syntaxDiag(name, src, err)}
	}
	d := &decoder{file: name, pos: newPositions(string(src))}
	f := &File{Name: name, pos: d.pos}
	d.decodeStruct("", raw, reflect.ValueOf(f).Elem())
	f.Name, f.pos = name, d.pos
	d.checkFile(f)
	d.diags.Sort()
	return f, d.diags
}

// shape is what the pre-scan measured of a file.
type shape struct {
	depth int // deepest nesting of arrays, inline tables and dotted keys
	items int // keys, array elements, arrays and tables
}

// measure scans src the way a TOML lexer does, for the two things that
// make a file expensive to decode however small it is: nesting (every
// level is a map or slice the parser allocates and recurses into) and the
// number of keys and array elements. It skips comments and all four kinds
// of strings ("...", '...', and their multi-line forms, with escapes and
// the up to two extra quotes a multi-line string may end with), so
// brackets and dots inside strings are never counted. It does not
// validate: the real parser reports syntax errors afterwards.
func measure(src []byte) shape {
	var sh shape
	depth, dots := 0, 0
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			dots = 0
		case '"', '\'':
			i = skipString(src, i) - 1
		case '[', '{':
			depth++
			dots = 0
			sh.depth = max(sh.depth, depth)
			sh.items++ // an array or table the parser allocates
		case ']', '}':
			depth--
			dots = 0
		case '.':
			// a.b.c = 1 nests tables as [a.b.c] does; a float's one dot
			// counts as one level at most.
			dots++
			sh.depth = max(sh.depth, max(depth, 0)+dots)
		case '=', ',':
			sh.items++
			dots = 0
		case '\n':
			dots = 0
		}
	}
	return sh
}

// skipString returns the index just past the string that starts at src[i]
// (a quote), or where an unterminated one stops.
func skipString(src []byte, i int) int {
	q := src[i]
	escapes := q == '"'
	if i+2 < len(src) && src[i+1] == q && src[i+2] == q {
		// Multi-line: ends at the first run of three or more quotes that
		// is not escaped; a run of four or five ends with content quotes.
		for j := i + 3; j < len(src); j++ {
			switch {
			case escapes && src[j] == '\\':
				j++
			case src[j] == q:
				k := j
				for k < len(src) && src[k] == q {
					k++
				}
				if k-j >= 3 {
					return k
				}
				j = k - 1
			}
		}
		return len(src)
	}
	for j := i + 1; j < len(src); j++ {
		switch {
		case escapes && src[j] == '\\':
			j++
		case src[j] == q:
			return j + 1
		case src[j] == '\n':
			return j // unterminated: the parser says so
		}
	}
	return len(src)
}

func syntaxDiag(name string, src []byte, err error) Diagnostic {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := "invalid TOML: " + pe.Message
		if pe.Usage != "" {
			msg += " (" + firstLine(pe.Usage) + ")"
		}
		line, col := pe.Position.Line, max(pe.Position.Col, 1)
		// The parser puts an error at a newline on the next line; count
		// from the byte offset so it points at the end of the bad line.
		if st := pe.Position.Start; st > 0 && st <= len(src) {
			before := src[:st]
			line = 1 + bytes.Count(before, []byte("\n"))
			col = 1 + utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:])
			// An array or inline table left open at the end of a line: the
			// parser only fails at the next line's first token. Point at
			// the end of the line that lacks its "]" or "}".
			if closer := unclosedAt(pe.Message); closer != "" && len(bytes.TrimSpace(before[bytes.LastIndexByte(before, '\n')+1:])) == 0 {
				if l, c, ok := endOfPreviousLine(before); ok {
					line, col = l, c
					msg += fmt.Sprintf("; is a %q missing at the end of this line?", closer)
				}
			}
		}
		return Diagnostic{File: name, Line: line, Col: col, Severity: Error, Msg: ntfyconf.RedactURLs(msg)}
	}
	return Diagnostic{File: name, Severity: Error, Msg: ntfyconf.RedactURLs("invalid TOML: " + err.Error())}
}

// unclosedAt is the closing bracket a parse error says was expected
// ("]" for an array, "}" for an inline table), or "".
func unclosedAt(msg string) string {
	switch {
	case strings.Contains(msg, "array terminator"):
		return "]"
	case strings.Contains(msg, "inline table terminator"):
		return "}"
	}
	return ""
}

// endOfPreviousLine is the line and column just past the last non-blank,
// non-comment line of before (which ends at the start of a line's first
// token), 1-based.
func endOfPreviousLine(before []byte) (line, col int, ok bool) {
	lines := bytes.Split(before, []byte("\n"))
	for i := len(lines) - 2; i >= 0; i-- {
		l := lines[i]
		if j := bytes.IndexByte(l, '#'); j >= 0 && !bytes.ContainsAny(l[:j], "\"'") {
			l = l[:j]
		}
		l = bytes.TrimRight(l, " \t\r")
		if len(bytes.TrimSpace(l)) > 0 {
			return i + 1, 1 + utf8.RuneCount(l), true
		}
	}
	return 0, 0, false
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}

// LoadFile reads and parses the file at path.
func LoadFile(path string) (*File, Diagnostics, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close()
	f, diags := Parse(fh, path)
	return f, diags, nil
}

// MayHavePolicies reports whether a config file's text holds, or may hold,
// [[policy]] tables, as the decoder sees it (so `[["p\u006flicy"]]` is a
// policy like `[[policy]]`). A file that does not parse as TOML, or is too
// large or too deeply nested to decode, may hold anything: true. So is a
// file whose top level has a key that is not one of the config's but close
// to "policy" or starting like it (a misspelt `[[polcy]]`, or a
// `[[policy_main]]`, is a policy its author believes in).
// Hooks use it to fail closed: a broken file that may hold policies
// refuses pushes.
func MayHavePolicies(src []byte) bool {
	if len(src) > MaxFileSize {
		return true
	}
	if sh := measure(src); sh.depth > maxDepth || sh.items > maxItems {
		return true
	}
	var raw map[string]any
	if _, err := toml.Decode(string(src), &raw); err != nil {
		return true
	}
	known := keysOf(reflect.TypeFor[File]())
	for k := range raw {
		if k == "policy" {
			return true
		}
		if !slices.Contains(known, k) && (strings.HasPrefix(k, "polic") || nearest(k, []string{"policy", "policies"}) != "") {
			return true
		}
	}
	return false
}
