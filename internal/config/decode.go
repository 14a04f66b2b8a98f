package config

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hookrun/hookrun/internal/ntfyconf"
)

// field is one TOML key of a struct, found through struct tags.
type field struct {
	key      string
	index    []int
	types    []string // job types using it; nil: all
	required []string // job types requiring it; "*": all
	tag      reflect.StructTag
}

var fieldCache sync.Map // reflect.Type -> []field

// fieldsOf lists the TOML keys of struct type t, flattening embedded structs.
func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			for _, f := range fieldsOf(sf.Type) {
				f.index = append([]int{i}, f.index...)
				out = append(out, f)
			}
			continue
		}
		key := sf.Tag.Get("toml")
		if key == "" || key == "-" {
			continue
		}
		// Every hook run decodes its config cold, before the cache has
		// anything: tags are scanned for keys only they may hold (Lookup
		// walks the whole tag, doc string and all, for a key it lacks),
		// and the doc is left to the schema.
		f := field{key: key, index: []int{i}, tag: sf.Tag}
		list := func(name string) []string {
			if !strings.Contains(string(sf.Tag), name+`:"`) {
				return nil
			}
			if s := sf.Tag.Get(name); s != "" {
				return strings.Split(s, ",")
			}
			return nil
		}
		f.types, f.required = list("types"), list("required")
		out = append(out, f)
	}
	fieldCache.Store(t, out)
	return out
}

func keysOf(t reflect.Type) []string {
	var ks []string
	for _, f := range fieldsOf(t) {
		ks = append(ks, f.key)
	}
	return ks
}

// decoder turns the generic tree from the TOML parser into typed structs,
// collecting every problem instead of stopping at the first.
type decoder struct {
	file  string
	pos   *positions
	diags Diagnostics
}

func (d *decoder) report(sev Severity, path string, atValue bool, format string, args ...any) {
	p, _ := d.pos.lookup(path, atValue)
	d.diags = append(d.diags, Diagnostic{File: d.file, Line: p.Line, Col: p.Col, Severity: sev, Path: path, Msg: ntfyconf.RedactURLs(fmt.Sprintf(format, args...))})
}

func (d *decoder) errorf(path string, format string, args ...any) {
	d.report(Error, path, true, format, args...)
}

var valueDecoderType = reflect.TypeFor[valueDecoder]()

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i+1) + "]" }

func describe(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

func (d *decoder) decode(path string, v any, rv reflect.Value) {
	if vals, ok := modes[rv.Type()]; ok {
		if err := decodeEnum(v, vals, rv.SetString); err != nil {
			d.errorf(path, "%s: %v", path, err)
		}
		return
	}
	if rv.CanAddr() && rv.Addr().Type().Implements(valueDecoderType) {
		if err := rv.Addr().Interface().(valueDecoder).decodeTOML(v); err != nil {
			d.errorf(path, "%s: %v", path, err)
		} else if w, ok := rv.Addr().Interface().(valueWarner); ok {
			if msg := w.warnTOML(v); msg != "" {
				d.report(Warning, path, true, "%s: %s", path, msg)
			}
		}
		return
	}
	switch rv.Kind() {
	case reflect.Pointer:
		n := reflect.New(rv.Type().Elem())
		d.decode(path, v, n.Elem())
		rv.Set(n)
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			d.errorf(path, "%s: want a string, got %s", path, tomlType(v))
			return
		}
		rv.SetString(s)
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			d.errorf(path, "%s: want true or false, got %s", path, tomlType(v))
			return
		}
		rv.SetBool(b)
	case reflect.Int:
		n, ok := v.(int64)
		if !ok {
			d.errorf(path, "%s: want an integer, got %s", path, tomlType(v))
			return
		}
		rv.SetInt(n)
	case reflect.Slice:
		var items []any
		switch a := v.(type) {
		case []any:
			items = a
		case []map[string]any:
			for _, m := range a {
				items = append(items, m)
			}
		default:
			d.errorf(path, "%s: want an array, got %s", path, tomlType(v))
			return
		}
		s := reflect.MakeSlice(rv.Type(), len(items), len(items))
		for i, it := range items {
			d.decode(index(path, i), it, s.Index(i))
		}
		rv.Set(s)
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			d.errorf(path, "%s: want a table, got %s", path, tomlType(v))
			return
		}
		out := reflect.MakeMapWithSize(rv.Type(), len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			e := reflect.New(rv.Type().Elem()).Elem()
			d.decode(joinKey(path, k), m[k], e)
			out.SetMapIndex(reflect.ValueOf(k), e)
		}
		rv.Set(out)
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			d.errorf(path, "%s: want a table, got %s", path, tomlType(v))
			return
		}
		d.decodeStruct(path, m, rv)
	default:
		d.errorf(path, "%s: cannot decode into %s", path, rv.Type())
	}
}

func (d *decoder) decodeStruct(path string, m map[string]any, rv reflect.Value) {
	fields := fieldsOf(rv.Type())
	byKey := make(map[string]field, len(fields))
	for _, f := range fields {
		byKey[f.key] = f
	}
	defined := keySet{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		kp := joinKey(path, k)
		f, ok := byKey[k]
		if !ok {
			d.unknownKey(path, kp, k, rv.Type())
			continue
		}
		defined[k] = true
		d.decode(kp, m[k], rv.FieldByIndex(f.index))
	}
	setDefined(rv, defined)
}

// setDefined records which keys a struct (and its embedded structs) set, for
// the layering of global and repo files.
func setDefined(rv reflect.Value, defined keySet) {
	if f := rv.FieldByName("Defined"); f.IsValid() {
		f.Set(reflect.ValueOf(defined))
	}
	for i := 0; i < rv.NumField(); i++ {
		sf := rv.Type().Field(i)
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			sub := keySet{}
			for _, k := range keysOf(sf.Type) {
				if defined[k] {
					sub[k] = true
				}
			}
			rv.Field(i).FieldByName("Defined").Set(reflect.ValueOf(sub))
		}
	}
}

func (d *decoder) unknownKey(path, kp, key string, t reflect.Type) {
	if t == reflect.TypeFor[Notify]() && key == "token" {
		d.report(Error, kp, false, "%s: a token must not be written in the config; put it in a file readable only by the hook's user and set token_file (or set HOOKRUN_NTFY_TOKEN in the service manager's environment)", kp)
		return
	}
	if t == reflect.TypeFor[Rule]() && slices.Contains([]string{"paths_ignore", "paths-ignore", "ignore", "exclude", "paths_exclude"}, key) {
		d.report(Error, kp, false, "unknown key %q in %s: exclude files with \"!\" in paths, e.g. paths = [\"**\", \"!docs/**\"]", key, describe(path))
		return
	}
	msg := fmt.Sprintf("unknown key %q in %s", key, describe(path))
	if m := nearest(key, keysOf(t)); m != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", m)
	}
	d.report(Error, kp, false, "%s", msg)
}
