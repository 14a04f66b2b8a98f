package config

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Checks for configs that decode but would not do what was written: globs
// that never match, values read differently from what was meant, jobs that
// never run. They are pure, like the rest of Parse and Merge.

// valueWarner is implemented by value types that decode a value fine but
// may not mean what the writer meant ("1h30" is 1h30s): warnTOML returns a
// warning, or "".
type valueWarner interface {
	warnTOML(v any) string
}

// checkRefGlobs reports globs that can never match a ref: ones written with
// the refs/heads/ or refs/tags/ prefix (branches and tags match short names,
// unlike GitHub Actions' on.push.branches), and ones with leading or trailing
// white space (git refnames contain none).
func (d *decoder) checkRefGlobs(path, key string, pats []string) {
	for i, p := range pats {
		ip := index(joinKey(path, key), i)
		neg, body := "", p
		if rest, ok := strings.CutPrefix(p, "!"); ok {
			neg, body = "!", rest
		}
		if t := strings.TrimSpace(body); t != body {
			d.errorf(ip, "%s: %q has white space around it, which no ref name contains, so it never matches; write %q", ip, p, neg+t)
			continue
		}
		never := "never matches"
		if neg != "" {
			never = "never excludes anything"
		}
		for _, pre := range []struct{ prefix, key, kind string }{{"refs/heads/", "branches", "branch"}, {"refs/tags/", "tags", "tag"}} {
			short, ok := strings.CutPrefix(body, pre.prefix)
			if !ok {
				continue
			}
			if pre.key == key {
				d.errorf(ip, "%s: %q %s: %s match names without %q; write %q", ip, p, never, key, pre.prefix, neg+short)
			} else {
				d.errorf(ip, "%s: %q names a %s, not a %s: put %q in %s", ip, p, pre.kind, strings.TrimSuffix(strings.TrimSuffix(key, "es"), "s"), neg+short, pre.key)
			}
		}
		if key == "tags" && strings.HasPrefix(body, "refs/") && !strings.HasPrefix(body, "refs/tags/") && !strings.HasPrefix(body, "refs/heads/") ||
			key == "branches" && strings.HasPrefix(body, "refs/") && !strings.HasPrefix(body, "refs/heads/") && !strings.HasPrefix(body, "refs/tags/") {
			d.report(Warning, ip, true, "%s: %q looks like a full ref name; %s match names without the refs/... prefix", ip, p, key)
		}
	}
}

// warnTOML flags a span whose last number has no unit after numbers that
// have one: systemd reads "1h30" as 1h 30s, which is rarely what is meant.
func (Duration) warnTOML(v any) string {
	s, ok := v.(string)
	if !ok {
		return ""
	}
	parts := durationParts(s)
	if len(parts) < 2 || parts[len(parts)-1].unit != "" {
		return ""
	}
	prev := parts[len(parts)-2].unit
	next := map[string]string{"w": "d", "d": "h", "h": "m", "m": "s", "min": "s"}[strings.TrimRight(prev, "s")]
	if next == "" {
		next = "s"
	}
	num := parts[len(parts)-1].num
	base := strings.TrimSuffix(strings.TrimSpace(s), num)
	base = strings.TrimRight(base, " ")
	if next == "s" {
		return fmt.Sprintf("%q ends in a number without a unit, which means seconds (%s%ss); write %q to say so", s, base, num, base+num+"s")
	}
	return fmt.Sprintf("%q ends in a number without a unit, which means seconds (%s%ss); write %q for %s, or %q to say so", s, base, num, base+num+next, unitNames[next], base+num+"s")
}

var unitNames = map[string]string{"d": "days", "h": "hours", "m": "minutes"}

type durationPart struct{ num, unit string }

// durationParts splits a span the way ParseDuration reads it; it stops at
// anything ParseDuration would reject (which is reported there).
func durationParts(s string) []durationPart {
	var out []durationPart
	rest := strings.TrimSpace(s)
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 {
			return out
		}
		p := durationPart{num: rest[:i]}
		rest = strings.TrimLeft(rest[i:], " ")
		j := 0
		for j < len(rest) && ('a' <= rest[j] && rest[j] <= 'z' || 'A' <= rest[j] && rest[j] <= 'Z') {
			j++
		}
		p.unit = rest[:j]
		out = append(out, p)
		rest = strings.TrimLeft(rest[j:], " ")
	}
	return out
}

// warnTOML flags a size without a unit: memory_max = 512 is 512 bytes.
func (Size) warnTOML(v any) string {
	var n uint64
	switch x := v.(type) {
	case int64:
		if x <= 0 {
			return ""
		}
		n = uint64(x)
	case string:
		t := strings.TrimSpace(x)
		u, err := strconv.ParseUint(t, 10, 64)
		if err != nil {
			return "" // has a unit, is "infinity", or is reported as invalid
		}
		n = u
	default:
		return ""
	}
	for _, u := range []struct {
		suffix string
		mult   uint64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return fmt.Sprintf("%v has no unit: it is %d bytes; write \"%d%s\" to say so", v, n, n/u.mult, u.suffix)
		}
	}
	return fmt.Sprintf("%v has no unit: it is %d bytes, likely too little for any job; write \"%dB\" if bytes are meant, or \"%dM\" for %d MiB", v, n, n, n, n)
}

// unusedJobs warns about jobs of the repository file that no rule starts,
// directly or as a step of a sequence a rule starts. Jobs of the global file
// are left alone: repositories' rules may use them.
func (c *Config) unusedJobs(origin map[string]*File) Diagnostics {
	if c.Repo == nil {
		return nil
	}
	used := map[string]bool{}
	var use func(string)
	use = func(name string) {
		if used[name] {
			return
		}
		used[name] = true
		if j := c.Jobs[name]; j != nil {
			for _, s := range j.Steps {
				use(s)
			}
		}
	}
	for _, r := range c.Rules {
		for _, jn := range r.Jobs {
			use(jn)
		}
	}
	for _, p := range c.Policies {
		if p.Check != "" {
			use(p.Check)
		}
	}
	if len(c.Rules) == 0 && len(used) == 0 {
		if len(c.Repo.Jobs) == 0 {
			return nil
		}
		return Diagnostics{diagAt(c.Repo, Warning, "", "jobs are defined but no [[rules]] start them, so no push runs any; add a [[rules]] entry with jobs = [...]")}
	}
	var out Diagnostics
	for _, name := range slices.Sorted(maps.Keys(c.Jobs)) {
		if f := origin[name]; f == c.Repo && !used[name] {
			out = append(out, diagAt(f, Warning, "jobs."+name, fmt.Sprintf("jobs.%s: no rule starts it, so no push runs it; add it to a rule's jobs (or remove it)", name)))
		}
	}
	return out
}

// diagAt is a diagnostic placed at path in f (at its key), f may be nil.
func diagAt(f *File, sev Severity, path, msg string) Diagnostic {
	d := Diagnostic{Severity: sev, Path: path, Msg: msg}
	if f != nil {
		d.File = f.Name
		if p, ok := f.pos.lookup(path, true); ok {
			d.Line, d.Col = p.Line, p.Col
		}
	}
	return d
}
