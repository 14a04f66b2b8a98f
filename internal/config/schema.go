package config

import (
	"encoding/json"
	"reflect"
	"slices"
)

// Schema returns the JSON Schema of a config file, derived from the same
// struct tags the decoder uses, so the two cannot drift apart unnoticed
// (schema/hooks.schema.json is this output; a test compares them).
func Schema() ([]byte, error) {
	root := structSchema(reflect.TypeFor[File]())
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = "https://github.com/hookrun/hookrun/schema/hooks.schema.json"
	root["title"] = "hookrun hooks.toml (schema version 1)"
	root["properties"].(map[string]any)["version"] = map[string]any{"const": SchemaVersion, "description": "schema version; must be 1"}
	b, err := json.MarshalIndent(root, "", "  ")
	return append(b, '\n'), err
}

var schemaTyperType = reflect.TypeFor[schemaTyper]()

func typeSchema(t reflect.Type) map[string]any {
	if vals, ok := modes[t]; ok {
		return enumSchema(vals)
	}
	if t.Kind() != reflect.Pointer && t.Implements(schemaTyperType) {
		return reflect.Zero(t).Interface().(schemaTyper).schema()
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeSchema(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int:
		return map[string]any{"type": "integer"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": typeSchema(t.Elem())}
	case reflect.Map:
		m := map[string]any{"type": "object", "additionalProperties": typeSchema(t.Elem())}
		switch t.Elem() {
		case reflect.TypeFor[*Job](), reflect.TypeFor[*Host]():
			m["propertyNames"] = map[string]any{"pattern": jobNamePattern}
		case reflect.TypeFor[Template]():
			m["propertyNames"] = map[string]any{"pattern": envNamePattern}
		}
		return m
	case reflect.Struct:
		return structSchema(t)
	}
	panic("config: no schema for " + t.String())
}

func structSchema(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	fields := fieldsOf(t)
	for _, f := range fields {
		s := typeSchema(t.FieldByIndex(f.index).Type)
		if doc := f.tag.Get("doc"); doc != "" {
			s = mergeDoc(s, doc)
		}
		props[f.key] = s
		if slices.Contains(f.required, "*") {
			required = append(required, f.key)
		}
	}
	s := map[string]any{"type": "object", "additionalProperties": false, "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	if t == reflect.TypeFor[Job]() {
		var all []any
		for _, jt := range jobTypes {
			var req []string
			deny := map[string]any{}
			for _, f := range fields {
				if slices.Contains(f.required, jt) {
					req = append(req, f.key)
				}
				if f.types != nil && !slices.Contains(f.types, jt) {
					deny[f.key] = false
				}
			}
			then := map[string]any{"properties": deny}
			if len(req) > 0 {
				then["required"] = req
			}
			all = append(all, map[string]any{
				"if":   map[string]any{"properties": map[string]any{"type": map[string]any{"const": jt}}, "required": []string{"type"}},
				"then": then,
			})
		}
		s["allOf"] = all
		// A repo file may override a global job without restating its type.
		s["required"] = nil
		delete(s, "required")
	}
	return s
}

func mergeDoc(s map[string]any, doc string) map[string]any {
	out := make(map[string]any, len(s)+1)
	for k, v := range s {
		out[k] = v
	}
	if _, ok := out["description"]; !ok {
		out["description"] = doc
	}
	return out
}
