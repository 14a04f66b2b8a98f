// Package match parses the ref lines git hands a post-receive hook and decides
// which of them a rule selects: branch and tag globs, push events and signed
// pushes. It imports nothing else from hookrun.
package match

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits on hook input. A ref line is limited by what git can produce, not
// by a guess: receive-pack reads each update from one pkt-line, at most
// LARGE_PACKET_MAX (65520) bytes with its 4-byte header, so no line it hands
// a hook is longer than MaxLineBytes. (On the files ref backend the limit
// git enforces is the file system's: 255 bytes per component and PATH_MAX
// for the whole ref file path; reftable has none but the pkt-line.) Anything
// larger is not a ref update and is refused rather than buffered.
const (
	MaxLineBytes = 65520
	MaxRefs      = 100_000
)

// Event is what a ref update did to the ref.
type Event string

const (
	Create Event = "create" // the ref did not exist before (old is all zeros)
	Update Event = "update" // fast-forward
	Force  Event = "force"  // non-fast-forward
	Delete Event = "delete" // the ref no longer exists (new is all zeros)
)

// Events lists every event in a fixed order, for messages and schemas.
var Events = []Event{Create, Update, Force, Delete}

// RefUpdate is one line of post-receive input: "<old> <new> <refname>".
type RefUpdate struct {
	Old  string `json:"old"`
	New  string `json:"new"`
	Name string `json:"ref"`
}

// Kind is the namespace of a ref.
type Kind int

const (
	Other Kind = iota
	Branch
	Tag
)

// Short returns the ref's kind and its name inside its namespace
// ("main" for refs/heads/main).
func (u RefUpdate) Short() (Kind, string) {
	if s, ok := strings.CutPrefix(u.Name, "refs/heads/"); ok {
		return Branch, s
	}
	if s, ok := strings.CutPrefix(u.Name, "refs/tags/"); ok {
		return Tag, s
	}
	return Other, u.Name
}

// IsCreate reports whether the update created the ref.
func (u RefUpdate) IsCreate() bool { return isZero(u.Old) }

// IsDelete reports whether the update deleted the ref.
func (u RefUpdate) IsDelete() bool { return isZero(u.New) }

func isZero(sha string) bool { return strings.Trim(sha, "0") == "" }

// Ancestry answers whether old is an ancestor of new; git is the real one.
type Ancestry interface {
	IsAncestor(old, new string) (bool, error)
}

// Changes lists the files ref updates changed; gitx.Changes asks git.
type Changes interface {
	// Files returns, for each of ups in order, the paths of the files the
	// update changed, as git stores them (bytes, sorted), or nil when it
	// changed none. One call answers any number of updates, so a caller
	// asks once per push, not once per ref.
	Files(ups []RefUpdate) ([][]string, error)
}

// Event classifies the update. anc is consulted only to tell update from force,
// so callers that do not need that distinction may pass nil and get Update.
func (u RefUpdate) Event(anc Ancestry) (Event, error) {
	switch {
	case u.IsCreate():
		return Create, nil
	case u.IsDelete():
		return Delete, nil
	case anc == nil:
		return Update, nil
	}
	ff, err := anc.IsAncestor(u.Old, u.New)
	if err != nil {
		return "", err
	}
	if ff {
		return Update, nil
	}
	return Force, nil
}

// LineError is a malformed input line.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// ParseRefLine parses one "<old> <new> <refname>" line (without newline).
func ParseRefLine(line string) (RefUpdate, error) {
	old, rest, ok1 := strings.Cut(line, " ")
	new, name, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 {
		return RefUpdate{}, errors.New(`want "<old-sha> <new-sha> <refname>"`)
	}
	if err := checkSHA(old); err != nil {
		return RefUpdate{}, fmt.Errorf("old object name: %w", err)
	}
	if err := checkSHA(new); err != nil {
		return RefUpdate{}, fmt.Errorf("new object name: %w", err)
	}
	if len(old) != len(new) {
		return RefUpdate{}, errors.New("old and new object names differ in length (SHA-1 vs SHA-256)")
	}
	if isZero(old) && isZero(new) {
		return RefUpdate{}, errors.New("old and new object names are both zero")
	}
	if err := CheckRefName(name); err != nil {
		return RefUpdate{}, err
	}
	return RefUpdate{Old: old, New: new, Name: name}, nil
}

func checkSHA(s string) error {
	if len(s) != 40 && len(s) != 64 {
		return fmt.Errorf("%q is not a 40 (SHA-1) or 64 (SHA-256) digit hex name", clip(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return fmt.Errorf("%q is not lower-case hex", clip(s))
		}
	}
	return nil
}

// CheckRefName applies git-check-ref-format(1)'s rules to a full refname. git
// itself refuses such names, so a line carrying one is not from git.
func CheckRefName(name string) error {
	bad := func(why string) error { return fmt.Errorf("refname %q: %s", clip(name), why) }
	if !strings.HasPrefix(name, "refs/") {
		return bad(`does not start with "refs/"`)
	}
	if strings.HasSuffix(name, "/") || strings.HasSuffix(name, ".") {
		return bad(`ends with "/" or "."`)
	}
	if strings.Contains(name, "..") || strings.Contains(name, "@{") || strings.Contains(name, "//") {
		return bad(`contains "..", "@{" or "//"`)
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c < 0x20 || c == 0x7f:
			return bad("contains a control character")
		case forbiddenInRef[c]:
			return bad(fmt.Sprintf("contains %q", c))
		}
	}
	for rest := name; rest != ""; {
		var comp string
		comp, rest, _ = strings.Cut(rest, "/")
		if strings.HasPrefix(comp, ".") || strings.HasSuffix(comp, ".lock") {
			return bad(`has a component starting with "." or ending with ".lock"`)
		}
	}
	return nil
}

// forbiddenInRef marks the printable bytes git-check-ref-format(1) refuses.
var forbiddenInRef = func() (t [256]bool) {
	for _, c := range []byte(" ~^:?*[\\") {
		t[c] = true
	}
	return t
}()

// clip keeps messages about hostile input short and printable.
func clip(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

// ErrTooManyRefs is the error of a line past the MaxRefs-th update:
// ParseRefLines stops reading there.
var ErrTooManyRefs = fmt.Errorf("more than %d ref updates", MaxRefs)

// ParseRefLines reads all of a hook's standard input. Every malformed line is
// reported (errors.Join of *LineError); valid lines are returned either way so
// callers can say what they would have done.
func ParseRefLines(r io.Reader) ([]RefUpdate, error) {
	// Big reads from the pipe, small lines: the scanner keeps the line limit.
	sc := bufio.NewScanner(bufio.NewReaderSize(r, 64<<10))
	sc.Buffer(make([]byte, 0, MaxLineBytes), MaxLineBytes)
	var (
		ups  []RefUpdate
		errs []error
		n    int
	)
	for sc.Scan() {
		n++
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			continue
		}
		if len(ups) >= MaxRefs {
			return ups, errors.Join(append(errs, &LineError{n, ErrTooManyRefs})...)
		}
		u, err := ParseRefLine(line)
		if err != nil {
			errs = append(errs, &LineError{n, err})
			continue
		}
		ups = append(ups, u)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("line longer than %d bytes", MaxLineBytes)
		}
		errs = append(errs, &LineError{n + 1, err})
	}
	return ups, errors.Join(errs...)
}
