package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hookrun/hookrun/internal/outcome"
)

// valueDecoder is implemented by config value types that decode and check
// themselves from the raw TOML value (string, int64, bool, ...). Errors are
// phrased for the person editing the file.
type valueDecoder interface {
	decodeTOML(v any) error
}

// schemaTyper describes a value type for the JSON schema.
type schemaTyper interface {
	schema() map[string]any
}

func wantString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("want a string, got %s", tomlType(v))
	}
	return s, nil
}

func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date-time"
	}
	return fmt.Sprintf("%T", v)
}

// Duration is a systemd-style time span: "90s", "30m", "1h30m", "1h 30m",
// "2d", or a bare number of seconds.
type Duration time.Duration

func (d *Duration) decodeTOML(v any) error {
	if n, ok := v.(int64); ok {
		if n <= 0 {
			return fmt.Errorf("duration %d must be positive", n)
		}
		*d = Duration(time.Duration(n) * time.Second)
		return nil
	}
	s, err := wantString(v)
	if err != nil {
		return err
	}
	x, err := ParseDuration(s)
	*d = Duration(x)
	return err
}

func (Duration) schema() map[string]any {
	return map[string]any{
		"description": `systemd-style time span such as "90s", "30m", "1h30m"; a bare integer is seconds`,
		"oneOf": []any{
			map[string]any{"type": "string", "pattern": durationPattern},
			map[string]any{"type": "integer", "minimum": 1},
		},
	}
}

const durationPattern = `^\s*([0-9]+(\.[0-9]+)?\s*(us|ms|s|sec|second|seconds|m|min|minute|minutes|h|hr|hour|hours|d|day|days|w|week|weeks)?\s*)+$`

var durationUnits = []struct {
	name string
	d    time.Duration
}{
	{"us", time.Microsecond}, {"ms", time.Millisecond},
	{"seconds", time.Second}, {"second", time.Second}, {"sec", time.Second}, {"s", time.Second},
	{"minutes", time.Minute}, {"minute", time.Minute}, {"min", time.Minute}, {"m", time.Minute},
	{"hours", time.Hour}, {"hour", time.Hour}, {"hr", time.Hour}, {"h", time.Hour},
	{"days", 24 * time.Hour}, {"day", 24 * time.Hour}, {"d", 24 * time.Hour},
	{"weeks", 7 * 24 * time.Hour}, {"week", 7 * 24 * time.Hour}, {"w", 7 * 24 * time.Hour},
}

// ParseDuration parses a systemd time span (systemd.time(7)).
func ParseDuration(s string) (time.Duration, error) {
	bad := func(why string) error {
		return fmt.Errorf("invalid duration %q: %s (examples: \"90s\", \"30m\", \"1h30m\")", s, why)
	}
	rest := strings.TrimSpace(s)
	if rest == "" {
		return 0, bad("empty")
	}
	var total float64
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, bad("expected a number")
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, bad("bad number " + rest[:i])
		}
		rest = strings.TrimLeft(rest[i:], " ")
		unit := time.Second
		j := 0
		for j < len(rest) && unicode.IsLetter(rune(rest[j])) {
			j++
		}
		if j > 0 {
			found := false
			for _, u := range durationUnits {
				if rest[:j] == u.name {
					unit, found = u.d, true
					break
				}
			}
			if !found {
				return 0, bad(fmt.Sprintf("unknown unit %q", rest[:j]))
			}
		}
		total += n * float64(unit)
		rest = strings.TrimLeft(rest[j:], " ")
	}
	if total <= 0 {
		return 0, bad("must be positive")
	}
	if total > float64(math.MaxInt64) {
		return 0, bad("too long")
	}
	return time.Duration(total), nil
}

// Size is a byte count such as "512M", "1G", "1048576" or "infinity"
// (systemd's MemoryMax=, base 1024).
type Size uint64

// Infinity is systemd's "no limit" (CGROUP_LIMIT_MAX).
const Infinity = ^uint64(0)

func (z *Size) decodeTOML(v any) error {
	if n, ok := v.(int64); ok {
		if n <= 0 {
			return fmt.Errorf("size %d must be positive", n)
		}
		*z = Size(n)
		return nil
	}
	s, err := wantString(v)
	if err != nil {
		return err
	}
	n, err := ParseSize(s)
	*z = Size(n)
	return err
}

func (Size) schema() map[string]any {
	return map[string]any{
		"description": `bytes, with an optional K, M, G or T suffix (base 1024), or "infinity"`,
		"oneOf": []any{
			map[string]any{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?\s*[KMGT]?B?|infinity)$`},
			map[string]any{"type": "integer", "minimum": 1},
		},
	}
}

// ParseSize parses a systemd size (K, M, G, T are powers of 1024).
func ParseSize(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	if t == "infinity" {
		return Infinity, nil
	}
	bad := func(why string) error {
		return fmt.Errorf("invalid size %q: %s (examples: \"512M\", \"1G\", \"infinity\")", s, why)
	}
	t = strings.TrimSuffix(t, "B")
	mult := 1.0
	if t != "" {
		if i := strings.IndexByte("KMGT", t[len(t)-1]); i >= 0 {
			mult = math.Pow(1024, float64(i+1))
			t = strings.TrimSpace(t[:len(t)-1])
		}
	}
	if t == "" || strings.ContainsAny(t, "+-eE") {
		return 0, bad("expected a number with an optional K, M, G or T suffix")
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, bad("expected a number with an optional K, M, G or T suffix")
	}
	b := n * mult
	if b < 1 {
		return 0, bad("must be at least one byte")
	}
	if b >= float64(Infinity) {
		return 0, bad("too large; use \"infinity\" for no limit")
	}
	return uint64(b), nil
}

// CPUQuota is a percentage of one CPU: "50%", "200%" (two CPUs).
type CPUQuota uint64

func (q *CPUQuota) decodeTOML(v any) error {
	s, err := wantString(v)
	if err != nil {
		return fmt.Errorf("%v; write a percentage such as \"50%%\"", err)
	}
	n, err := ParseCPUQuota(s)
	*q = CPUQuota(n)
	return err
}

func (CPUQuota) schema() map[string]any {
	return map[string]any{"type": "string", "pattern": `^[1-9][0-9]{0,5}%$`,
		"description": `CPU time as a percentage of one CPU: "50%", "200%" for two CPUs`}
}

// ParseCPUQuota parses "50%" into 50.
func ParseCPUQuota(s string) (uint64, error) {
	num, ok := strings.CutSuffix(strings.TrimSpace(s), "%")
	n, err := strconv.ParseUint(num, 10, 64)
	if !ok || err != nil || n == 0 || n > 999999 {
		return 0, fmt.Errorf("invalid cpu_quota %q: want a whole percentage above 0 such as \"50%%\" or \"200%%\"", s)
	}
	return n, nil
}

// Count is a positive integer (tasks_max).
type Count uint64

func (c *Count) decodeTOML(v any) error {
	n, ok := v.(int64)
	if !ok {
		return fmt.Errorf("want a positive integer, got %s", tomlType(v))
	}
	if n <= 0 {
		return fmt.Errorf("want a positive integer, got %d", n)
	}
	*c = Count(n)
	return nil
}

func (Count) schema() map[string]any { return map[string]any{"type": "integer", "minimum": 1} }

// Nice is a scheduling priority from -20 to 19.
type Nice int

func (n *Nice) decodeTOML(v any) error {
	i, ok := v.(int64)
	if !ok {
		return fmt.Errorf("want an integer from -20 to 19, got %s", tomlType(v))
	}
	if i < -20 || i > 19 {
		return fmt.Errorf("nice %d is out of range: want -20 to 19", i)
	}
	*n = Nice(i)
	return nil
}

func (Nice) schema() map[string]any {
	return map[string]any{"type": "integer", "minimum": -20, "maximum": 19}
}

func decodeEnum(v any, allowed []string, set func(string)) error {
	s, err := wantString(v)
	if err != nil {
		return err
	}
	for _, a := range allowed {
		if s == a {
			set(s)
			return nil
		}
	}
	msg := fmt.Sprintf("%q is not one of %s", s, quoteList(allowed))
	if m := nearest(s, allowed); m != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", m)
	}
	return errors.New(msg)
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ", ")
}

func enumSchema(vals []string) map[string]any {
	return map[string]any{"type": "string", "enum": vals}
}

// Per says whether a job gets one unit per matched ref or per push.
type Per string

// Per values.
const (
	PerRef  Per = "ref"  // a unit for each matched ref
	PerPush Per = "push" // one unit for the push, with every matched ref
)

func (Per) values() []string { return names([]Per{PerRef, PerPush}) }
func (p *Per) decodeTOML(v any) error {
	return decodeEnum(v, p.values(), func(s string) { *p = Per(s) })
}
func (p Per) schema() map[string]any { return enumSchema(p.values()) }

// Outcome is a unit outcome that may notify: an outcome.Kind (Kind
// converts it, checked by the compiler), limited to those ntfy's `on`
// names (lost and not started units notify as failures).
type Outcome outcome.Kind

// Kind is o as every other package has it.
func (o Outcome) Kind() outcome.Kind { return outcome.Kind(o) }

// Kinds is the outcome.Kind of each of os.
func Kinds[O ~uint8](os []O) []outcome.Kind {
	out := make([]outcome.Kind, len(os))
	for i, o := range os {
		out[i] = outcome.Kind(o)
	}
	return out
}

func (Outcome) values() []string {
	return []string{outcome.Success.String(), outcome.Failure.String(), outcome.Cancelled.String()}
}
func (o *Outcome) decodeTOML(v any) error      { return decodeKind(v, o.values(), (*outcome.Kind)(o)) }
func (o Outcome) schema() map[string]any       { return enumSchema(o.values()) }
func (o Outcome) MarshalText() ([]byte, error) { return outcome.Kind(o).MarshalText() }

// decodeKind decodes one of the outcome names allowed into k.
func decodeKind(v any, allowed []string, k *outcome.Kind) error {
	var err error
	if derr := decodeEnum(v, allowed, func(s string) { *k, err = outcome.Parse(s) }); derr != nil {
		return derr
	}
	return err
}

// ProtectSystem is systemd's ProtectSystem= setting.
type ProtectSystem string

func (ProtectSystem) values() []string { return []string{"true", "full", "strict"} }
func (p *ProtectSystem) decodeTOML(v any) error {
	if b, ok := v.(bool); ok { // protect_system = true reads naturally in TOML
		if b {
			*p = "true"
		}
		return nil
	}
	return decodeEnum(v, p.values(), func(s string) { *p = ProtectSystem(s) })
}
func (p ProtectSystem) schema() map[string]any {
	return map[string]any{"oneOf": []any{map[string]any{"type": "boolean"}, enumSchema(p.values())}}
}

// Theme is a gitmal theme (a chroma style name).
type Theme string

func (t *Theme) decodeTOML(v any) error {
	s, err := wantString(v)
	if err != nil {
		return err
	}
	if !IsTheme(s) {
		msg := fmt.Sprintf("gitmal has no theme %q", s)
		if m := NearestTheme(s); m != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", m)
		}
		return errors.New(msg + `; run "hookrun help themes" for the list`)
	}
	*t = Theme(s)
	return nil
}

func (Theme) schema() map[string]any { return enumSchema(GitmalThemes) }
