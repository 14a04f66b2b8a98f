package config

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Origin is one effective value of a layered config and where it was set,
// as `hookrun config` shows it (like git config --show-origin).
type Origin struct {
	Key   string `json:"key"`   // e.g. defaults.timeout, jobs.site.output, rules[2].branches
	Value string `json:"value"` // as written, in TOML syntax
	File  string `json:"file"`  // "" for a built-in default
	Line  int    `json:"line,omitempty"`
	// Overrides is where the values it replaced were set ("file:line").
	Overrides []string `json:"overrides,omitempty"`
}

// builtinDefaults are the settings a job gets when no file sets them
// (Effective).
var builtinDefaults = [][2]string{
	{"defaults.runner", `"systemd"`}, {"defaults.manager", `"user"`},
	{"defaults.concurrency", `"parallel"`}, {"defaults.per", `"ref"`},
}

// Origins lists the effective settings of global layered under repo (either
// may be nil), in the order the files give them, each with the file and line
// it came from and the values it overrides. Rules are numbered as the hook
// applies them: the global file's (unless the repository says inherit_rules
// = false), then the repository's.
func Origins(global, repo *File) []Origin {
	var out []Origin
	index := map[string]int{} // key -> position in out
	set := func(o Origin) {
		if i, ok := index[o.Key]; ok {
			prev := out[i]
			o.Overrides = append(prev.Overrides, prev.where())
			out[i] = o
			return
		}
		index[o.Key] = len(out)
		out = append(out, o)
	}
	for _, kv := range builtinDefaults {
		set(Origin{Key: kv[0], Value: kv[1]})
	}
	inherit := repo == nil || repo.InheritRules == nil || *repo.InheritRules
	rule := 0
	for _, f := range []*File{global, repo} {
		if f == nil {
			continue
		}
		raw := rawValues(f)
		for _, e := range raw {
			top, rest, _ := strings.Cut(e.path, ".")
			switch {
			case strings.HasPrefix(e.path, "rules["):
				continue // below, renumbered
			case top == "jobs":
				name, _, _ := strings.Cut(rest, ".")
				if f == repo && global != nil && replacesJob(global, repo, name) {
					// A job of another type replaces the global one whole.
					for k, i := range index {
						if strings.HasPrefix(k, "jobs."+name+".") && out[i].File == global.Name {
							out[i].Key = "" // dropped below
							delete(index, k)
						}
					}
				}
			}
			set(Origin{Key: e.path, Value: e.value, File: f.Name, Line: e.line})
		}
		if f == global && !inherit {
			continue
		}
		for i := range f.Rules {
			rule++
			prefix := fmt.Sprintf("rules[%d].", i+1)
			for _, e := range raw {
				if k, ok := strings.CutPrefix(e.path, prefix); ok {
					set(Origin{Key: fmt.Sprintf("rules[%d].%s", rule, k), Value: e.value, File: f.Name, Line: e.line})
				}
			}
		}
	}
	return slices.DeleteFunc(out, func(o Origin) bool { return o.Key == "" })
}

func replacesJob(global, repo *File, name string) bool {
	g, r := global.Jobs[name], repo.Jobs[name]
	return g != nil && r != nil && r.Type != "" && r.Type != g.Type
}

func (o Origin) where() string {
	if o.File == "" {
		return "default"
	}
	return fmt.Sprintf("%s:%d", o.File, o.Line)
}

type rawValue struct {
	path, value string
	line        int
}

// rawValues lists a file's settings as written: keys down to the level the
// layering works at (defaults.KEY, notify.KEY, jobs.NAME.KEY,
// rules[N].KEY, top-level keys), with TOML values.
func rawValues(f *File) []rawValue {
	if f.pos == nil {
		return nil
	}
	var raw map[string]any
	if _, err := toml.Decode(f.pos.src, &raw); err != nil {
		return nil
	}
	var out []rawValue
	add := func(path string, v any) {
		p, _ := f.pos.lookup(path, false)
		out = append(out, rawValue{path, tomlValue(v), p.Line})
	}
	table := func(prefix string, m map[string]any) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			add(prefix+k, m[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		switch v := raw[k].(type) {
		case map[string]any:
			if k == "jobs" {
				for _, name := range slices.Sorted(maps.Keys(v)) {
					if m, ok := v[name].(map[string]any); ok {
						table("jobs."+name+".", m)
					}
				}
				continue
			}
			table(k+".", v)
		case []map[string]any:
			for i, m := range v {
				table(fmt.Sprintf("%s[%d].", k, i+1), m)
			}
		default:
			add(k, v)
		}
	}
	slices.SortStableFunc(out, func(a, b rawValue) int { return a.line - b.line })
	return out
}

// tomlValue writes a decoded TOML value back in TOML syntax, inline.
func tomlValue(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = tomlValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []map[string]any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = tomlValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(x)) {
			parts = append(parts, k+" = "+tomlValue(x[k]))
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	return fmt.Sprint(v)
}
