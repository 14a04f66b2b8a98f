package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"github.com/hookrun/hookrun/internal/ntfyconf"
)

// MaxFileSize bounds a config file; real ones are a few KB.
const MaxFileSize = 1 << 20

// maxDepth bounds nesting; hooks.toml never nests more than four levels.
const maxDepth = 32

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
	if d := nesting(src); d > maxDepth {
		return nil, Diagnostics{{File: name, Severity: Error, Msg: fmt.Sprintf("arrays or tables nested %d deep; at most %d are allowed", d, maxDepth)}}
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

// nesting is the deepest bracket nesting outside strings and comments, a
// cheap guard against TOML bombs before the real parser recurses.
func nesting(src []byte) int {
	depth, deepest := 0, 0
	var quote byte
	comment := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case comment:
			comment = c != '\n'
		case quote != 0:
			if c == '\\' && quote == '"' {
				i++
			} else if c == quote || c == '\n' {
				quote = 0
			}
		case c == '#':
			comment = true
		case c == '"' || c == '\'':
			quote = c
		case c == '[' || c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	return deepest
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
		}
		return Diagnostic{File: name, Line: line, Col: col, Severity: Error, Msg: ntfyconf.RedactURLs(msg)}
	}
	return Diagnostic{File: name, Severity: Error, Msg: ntfyconf.RedactURLs("invalid TOML: " + err.Error())}
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
