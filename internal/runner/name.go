package runner

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// MaxUnitNameLen is systemd's limit on a unit name, in bytes.
const MaxUnitNameLen = 255

// unitNameFixed is the length of everything in a unit name but job and repo:
// "git-" "-" "-" YYYYMMDD-HHMMSS "-" 8 hex ".service".
const unitNameFixed = len("git-") + 1 + 1 + len("20060102-150405") + 1 + 8 + len(".service")

// UnitName returns a new unit name for job on repo, started at now:
//
//	git-<job>-<repo>-<YYYYMMDD-HHMMSS>-<unique>.service
//
// The timestamp is now in its own location. <unique> is 8 random hex digits,
// so names differ even for many units started in the same second. Job and
// repo keep only the characters systemd allows in unit names
// ([A-Za-z0-9:_.-]); every other character (each rune, or each byte of
// invalid UTF-8) becomes "_", and an empty value becomes "_". Replacing rather
// than escaping (systemd-escape's \xNN) keeps names readable and free of
// backslashes that shells and `systemctl` patterns would trip over; nothing
// parses a name back — job and repo are read from the unit's properties and
// environment. When the result would exceed MaxUnitNameLen bytes, job and
// repo are truncated, the longer one first.
func UnitName(job, repo string, now time.Time) string {
	job, repo = unitNamePart(job), unitNamePart(repo)
	job, repo = fitParts(job, repo, MaxUnitNameLen-unitNameFixed)
	var b strings.Builder
	b.Grow(unitNameFixed + len(job) + len(repo))
	b.WriteString("git-")
	b.WriteString(job)
	b.WriteByte('-')
	b.WriteString(repo)
	b.WriteByte('-')
	b.WriteString(now.Format("20060102-150405"))
	b.WriteByte('-')
	b.WriteString(uniqueSuffix())
	b.WriteString(".service")
	return b.String()
}

// unitNamePart maps s to the characters allowed in unit names.
func unitNamePart(s string) string {
	if s == "" {
		return "_"
	}
	var b strings.Builder
	b.Grow(len(s))
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		if r < utf8.RuneSelf && unitNameChar(byte(r)) {
			b.WriteByte(byte(r))
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func unitNameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == ':' || c == '_' || c == '.' || c == '-'
}

// fitParts truncates a and b (ASCII) so that len(a)+len(b) <= budget,
// shortening the longer one first and keeping at least half the budget for
// each when both are long.
func fitParts(a, b string, budget int) (string, string) {
	if len(a)+len(b) <= budget {
		return a, b
	}
	half := budget / 2
	switch {
	case len(a) <= half:
		b = b[:budget-len(a)]
	case len(b) <= budget-half:
		a = a[:budget-len(b)]
	default:
		a, b = a[:half], b[:budget-half]
	}
	return a, b
}

// uniqueSuffix is 8 hex digits: a number drawn from crypto/rand at the
// first call, then counted up. Names one process makes (one push's units)
// never repeat; drawn anew each call, 10,000 names in one second would
// repeat one about once in 90 runs (the birthday bound of 32 bits).
func uniqueSuffix() string {
	suffixOnce.Do(func() {
		var r [4]byte
		_, _ = rand.Read(r[:]) // never fails (since Go 1.24 it would crash instead)
		suffixNext.Store(binary.BigEndian.Uint32(r[:]))
	})
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], suffixNext.Add(1))
	return hex.EncodeToString(b[:])
}

var (
	suffixOnce sync.Once
	suffixNext atomic.Uint32
)
